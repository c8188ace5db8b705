/**
 * The face stream's models (@vladmandic/human 3.3.6: BlazeFace detector, face mesh, 7-class
 * emotion; MIT) on onnxruntime, batched over frames.
 *
 * The three tfjs graphs are converted at first use (src/backbones/convert/tfgraph2onnx.ts, cached
 * like MoveNet and MobileNetV2) up to their last convolutions; everything human does around them
 * is re-done in JS with the same arithmetic, so that the result matches the tfjs-wasm path
 * (human.ts `detectFaces`, kept as the reference and fallback):
 *   1. detector: the frame resized to 256² (bilinear, tfjs `resizeBilinear` sampling), scaled to
 *      [-1,1], decoded as blazeface.ts says (IoU ≥ 0.1 suppresses, score > 0.3, ≤ 5 faces), the
 *      box scaled to the frame and squared around its centre;
 *   2. face mesh on the 192² crop of that square (tfjs `cropAndResize` sampling, /255): its
 *      face-flag (rounded to 0.01) must exceed 0.3, else the detection is dropped (this is what
 *      removes "faces" in lettering); the reported box is the square re-centred on the mesh;
 *   3. emotion on the same crop resized to 64², grey (0.2989 R + 0.587 G + 0.114 B), ×2 − 1:
 *      softmax of the global average of the last convolution; probabilities truncated to 0.01
 *      and capped at 0.99 as human reports them, then renormalised to sum 1.
 */
import type { Frame } from '../../video/types.js';
import {
  type ConvertedModelOptions,
  type FrameRunner,
  type LoadedModel,
  ONNX_BATCH,
  onnxOrTfjs,
  perFrameRunner,
} from '../engine.js';
import { FACE_LAYOUT } from '../streams.js';
import { DETECTOR, decodeBlazeface, squareBox } from './blazeface.js';
import { convertedHumanGraph, type FaceDetection } from './human.js';
import { cropAndResize, resizeBilinear } from './tf-sampling.js';

/** converter version of the face graphs (names their cache files) */
const CONV_VERSION = 1;
/** input sides of the face mesh and of the emotion model; the emotion model's grey weights */
const MESH_SIZE = 192;
const EMO_SIZE = 64;
const GREY = [0.2989, 0.587, 0.114];

const F = 'StatefulPartitionedCall/functional_1/';
const M = 'StatefulPartitionedCall/model_1/';
/** the graphs' cut points (node names): heads before their Reshape / pooling */
const MODELS = {
  blazeface: [
    `${F}conv2d_33/BiasAdd`, // logits, 16×16 × 2 anchors
    `${F}conv2d_35/BiasAdd`, // box + 6 landmarks, 16×16 × 2 × 16
    `${F}conv2d_34/BiasAdd`, // logits, 8×8 × 6 anchors
    `${F}conv2d_36/BiasAdd`, // 8×8 × 6 × 16
  ],
  facemesh: [`${M}activation_1/Sigmoid`, `${M}conv2d_21/BiasAdd`], // face flag, 468 × (x,y,z)
  emotion: [`${M}conv2d_5/BiasAdd`], // 7 channels before global average + softmax
} as const;
type ModelName = keyof typeof MODELS;

/** The converted ONNX bytes of one of human's face models (cached in `<cache>/converted/`). */
export async function convertedFaceModel(model: ModelName, cacheDir?: string): Promise<Uint8Array> {
  const conversion = {
    version: CONV_VERSION,
    outputs: [...MODELS[model]],
    file: `human-${model}`,
    graph: `human_${model}`,
    what: model,
  };
  return (await convertedHumanGraph(model, conversion, cacheDir)).bytes;
}

/** faces per frame, most prominent first (largest box × confidence) */
export type FaceRunner = FrameRunner<FaceDetection[][]>;

const EXPR_ORDER = 7;

function sortByProminence(faces: FaceDetection[]): FaceDetection[] {
  const prominence = (f: FaceDetection) => f.box[2] * f.box[3] * f.score;
  return faces.sort((a, b) => prominence(b) - prominence(a));
}

/** A detection awaiting the face mesh: its frame, detector score and square box in frame pixels. */
interface FaceBox {
  frame: number;
  score: number;
  start: [number, number];
  end: [number, number];
}

/** A detection the face mesh kept: its FaceBox (by index) and its box re-centred on the mesh. */
interface MeshedFace {
  i: number;
  box: FaceDetection['box'];
}

/**
 * A model's outputs over a batched run: per output, one array per batch part (item j is item
 * j mod batch of part ⌊j / batch⌋).
 */
type Parts = Float32Array[][];

/** The square re-centred on the face mesh's 468 points, as x, y, w, h in [0,1] of the frame. */
function meshBox(pts: Float32Array, b: FaceBox, f: Frame): FaceDetection['box'] {
  const sw = Math.abs(b.end[0] - b.start[0]);
  const sh = Math.abs(b.end[1] - b.start[1]);
  const cx = b.start[0] + (b.end[0] - b.start[0]) / 2;
  const cy = b.start[1] + (b.end[1] - b.start[1]) / 2;
  let mx0 = Number.POSITIVE_INFINITY;
  let my0 = Number.POSITIVE_INFINITY;
  let mx1 = Number.NEGATIVE_INFINITY;
  let my1 = Number.NEGATIVE_INFINITY;
  for (let k = 0; k < 468; k++) {
    const x = Math.trunc((sw / MESH_SIZE) * (pts[k * 3] - MESH_SIZE / 2) + cx);
    const y = Math.trunc((sh / MESH_SIZE) * (pts[k * 3 + 1] - MESH_SIZE / 2) + cy);
    mx0 = Math.min(mx0, x);
    mx1 = Math.max(mx1, x);
    my0 = Math.min(my0, y);
    my1 = Math.max(my1, y);
  }
  const mcx = mx0 + (mx1 - mx0) / 2;
  const mcy = my0 + (my1 - my0) / 2;
  const bx = (mcx - sw / 2) / f.width;
  const by = (mcy - sh / 2) / f.height;
  const x0 = Math.max(0, Math.min(1, bx));
  const y0 = Math.max(0, Math.min(1, by));
  const x1 = Math.max(0, Math.min(1, bx + sw / f.width));
  const y1 = Math.max(0, Math.min(1, by + sh / f.height));
  return [x0, y0, x1 - x0, y1 - y0];
}

/**
 * Expression probabilities from the emotion model's last convolution (item j of a part, `hw`
 * cells per channel): softmax of the global average, truncated to 0.01 and capped at 0.99 as
 * human reports them, renormalised to sum 1.
 */
function expressionProbs(conv: Float32Array, j: number, hw: number): number[] {
  const logits = new Float64Array(EXPR_ORDER);
  for (let e = 0; e < EXPR_ORDER; e++) {
    let s = 0;
    const base = (j * EXPR_ORDER + e) * hw;
    for (let p = 0; p < hw; p++) s += conv[base + p];
    logits[e] = s / hw;
  }
  const mx = Math.max(...logits);
  const ex = Array.from(logits, (v) => Math.exp(v - mx));
  const se = ex.reduce((x, y) => x + y, 0);
  const q = ex.map((v) => {
    const p = v / se;
    return p > 0 ? Math.min(0.99, Math.trunc(100 * p) / 100) : 0;
  });
  const sq = q.reduce((x, y) => x + y, 0);
  return sq > 0 ? q.map((v) => v / sq) : q;
}

/** human's three face models on onnxruntime: detector → face mesh (validation, box) → emotion. */
class OnnxFaces implements FaceRunner {
  readonly engine = 'onnx' as const;

  constructor(
    private det: LoadedModel,
    private mesh: LoadedModel,
    private emo: LoadedModel,
    private batch: number,
  ) {}

  /** `items` inputs of size²×channels, filled by `fill`, through `model` in batches. */
  private async runBatched(
    model: LoadedModel,
    items: number,
    size: number,
    channels: number,
    outputs: string[],
    fill: (i: number, out: Float32Array, offset: number) => void,
  ): Promise<Parts> {
    const parts: Parts = outputs.map(() => []);
    const per = size * size * channels;
    for (let s = 0; s < items; s += this.batch) {
      const n = Math.min(this.batch, items - s);
      const x = new Float32Array(n * per);
      for (let i = 0; i < n; i++) fill(s + i, x, i * per);
      const r = await model.run({ input: { data: x, shape: [n, size, size, channels] } }, outputs);
      outputs.forEach((o, k) => {
        parts[k].push(r[o].data);
      });
    }
    return parts;
  }

  /** 1. the detector on each frame at 256², [-1,1]: square boxes of the faces it finds */
  private async detect(frames: Frame[]): Promise<FaceBox[]> {
    const heads = ['output_0', 'output_1', 'output_2', 'output_3'];
    const out = await this.runBatched(this.det, frames.length, DETECTOR.size, 3, heads, (i, x, o) => {
      const f = frames[i];
      resizeBilinear(f.data, f.height, f.width, 3, DETECTOR.size, DETECTOR.size, x, o, 1 / 127.5, -1);
    });
    const boxes: FaceBox[] = [];
    frames.forEach((f, fi) => {
      const part = Math.floor(fi / this.batch);
      for (const c of decodeBlazeface(
        out.map((o) => o[part]),
        fi - part * this.batch,
      )) {
        // human keeps a box whose rounded width and height are > 0 (detector.minSize 0)
        const w = Math.round(Math.abs(c.box[2] - c.box[0]) * (f.width / DETECTOR.size));
        const h = Math.round(Math.abs(c.box[3] - c.box[1]) * (f.height / DETECTOR.size));
        if (w > 0 && h > 0) boxes.push({ frame: fi, score: c.score, ...squareBox(c, f) });
      }
    });
    return boxes;
  }

  /** 2. the face mesh on each box's 192² crop (/255): drops what is not a face, re-centres the rest */
  private async refine(frames: Frame[], boxes: FaceBox[], crops: Float32Array): Promise<MeshedFace[]> {
    const cropLen = MESH_SIZE * MESH_SIZE * 3;
    boxes.forEach((b, i) => {
      const f = frames[b.frame];
      const box: [number, number, number, number] = [
        b.start[1] / f.height,
        b.start[0] / f.width,
        b.end[1] / f.height,
        b.end[0] / f.width,
      ];
      cropAndResize(f, box, MESH_SIZE, crops, i * cropLen, 1 / 255);
    });
    const out = await this.runBatched(
      this.mesh,
      boxes.length,
      MESH_SIZE,
      3,
      ['output_0', 'output_1'],
      (i, x, o) => x.set(crops.subarray(i * cropLen, (i + 1) * cropLen), o),
    );
    const kept: MeshedFace[] = [];
    boxes.forEach((b, i) => {
      const part = Math.floor(i / this.batch);
      const j = i - part * this.batch;
      const flag = Math.round(100 * out[0][part][j]) / 100;
      if (!(flag > DETECTOR.minConfidence)) return;
      kept.push({ i, box: meshBox(out[1][part].subarray(j * 1404, (j + 1) * 1404), b, frames[b.frame]) });
    });
    return kept;
  }

  /** 3. the emotion model on each kept crop at 64², grey, ×2 − 1 */
  private async emotions(kept: MeshedFace[], crops: Float32Array): Promise<number[][]> {
    const cropLen = MESH_SIZE * MESH_SIZE * 3;
    const small = new Float32Array(EMO_SIZE * EMO_SIZE * 3);
    const [out] = await this.runBatched(this.emo, kept.length, EMO_SIZE, 1, ['output_0'], (k, x, o) => {
      const src = crops.subarray(kept[k].i * cropLen, (kept[k].i + 1) * cropLen);
      resizeBilinear(src, MESH_SIZE, MESH_SIZE, 3, EMO_SIZE, EMO_SIZE, small, 0);
      for (let p = 0; p < EMO_SIZE * EMO_SIZE; p++) {
        const g = small[p * 3] * GREY[0] + small[p * 3 + 1] * GREY[1] + small[p * 3 + 2] * GREY[2];
        x[o + p] = (g - 0.5) * 2;
      }
    });
    return kept.map((_, n) => {
      const part = Math.floor(n / this.batch);
      const conv = out[part];
      const hw = conv.length / (Math.min(this.batch, kept.length - part * this.batch) * EXPR_ORDER);
      return expressionProbs(conv, n - part * this.batch, hw);
    });
  }

  async run(frames: Frame[]): Promise<FaceDetection[][]> {
    const result: FaceDetection[][] = frames.map(() => []);
    if (frames.length === 0) return result;
    const boxes = await this.detect(frames);
    if (boxes.length === 0) return result;
    const crops = new Float32Array(boxes.length * MESH_SIZE * MESH_SIZE * 3);
    const kept = await this.refine(frames, boxes, crops);
    if (kept.length === 0) return result;
    const expressions = await this.emotions(kept, crops);
    kept.forEach((k, n) => {
      const b = boxes[k.i];
      result[b.frame].push({
        score: Math.round(100 * b.score) / 100,
        box: k.box,
        expressions: expressions[n],
      });
    });
    return result.map(sortByProminence);
  }

  async dispose(): Promise<void> {
    await this.det.dispose();
    await this.mesh.dispose();
    await this.emo.dispose();
  }
}

export async function loadFacesOnnx(opts: ConvertedModelOptions = {}): Promise<FaceRunner> {
  const { loadOnnx } = await import('../onnx.js');
  const load = async (m: ModelName) => loadOnnx(await convertedFaceModel(m, opts.cacheDir), opts);
  const det = await load('blazeface');
  const mesh = await load('facemesh');
  const emo = await load('emotion');
  return new OnnxFaces(det, mesh, emo, opts.batchSize ?? ONNX_BATCH);
}

/** The face vector (FACE_LAYOUT) of a frame's detections (most prominent first), zeros when none. */
export function faceVectorOf(faces: FaceDetection[]): Float32Array {
  const v = new Float32Array(FACE_LAYOUT.size);
  const f = faces[0];
  if (!f) return v;
  v[FACE_LAYOUT.presence] = f.score;
  FACE_LAYOUT.box.forEach((k, i) => {
    v[k] = f.box[i];
  });
  FACE_LAYOUT.expressions.forEach((k, i) => {
    v[k] = f.expressions[i];
  });
  return v;
}

/** The tfjs-wasm pipeline of @vladmandic/human behind the same interface (one frame per call). */
export async function loadFacesTfjs(): Promise<FaceRunner> {
  const { detectFaces } = await import('./human.js');
  return perFrameRunner(detectFaces);
}

/** ONNX when the conversion works (default), else tfjs-wasm. */
export async function loadFaceRunner(opts: ConvertedModelOptions = {}): Promise<FaceRunner> {
  return onnxOrTfjs('the face models', opts.engine, () => loadFacesOnnx(opts), loadFacesTfjs);
}
