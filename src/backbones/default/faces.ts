/**
 * The face stream's models (@vladmandic/human 3.3.6: BlazeFace detector, face mesh, 7-class
 * emotion; MIT) on onnxruntime, batched over frames.
 *
 * The three tfjs graphs are converted at first use (src/backbones/tfgraph2onnx.ts, cached like
 * MoveNet and MobileNetV2) up to their last convolutions; everything human does around them is
 * re-done here in JS with the same arithmetic, so that the result matches the tfjs-wasm path
 * (src/backbones/human.ts `detectFaces`, kept as the reference and fallback):
 *   1. detector: the frame resized to 256² (bilinear, tfjs `resizeBilinear` sampling), scaled to
 *      [-1,1]; 896 anchors (16² × 2 at stride 16, 8² × 6 at stride 32); box = anchor + offset,
 *      score = sigmoid(logit); non-max suppression (IoU ≥ 0.1 suppresses, score > 0.3, ≤ 5
 *      faces); the box is scaled to the frame and squared around its centre (`detector.scale` 1);
 *   2. face mesh on the 192² crop of that square (tfjs `cropAndResize` sampling, /255): its
 *      face-flag (rounded to 0.01) must exceed 0.3, else the detection is dropped (this is what
 *      removes "faces" in lettering); the reported box is the square re-centred on the mesh;
 *   3. emotion on the same crop resized to 64², grey (0.2989 R + 0.587 G + 0.114 B), ×2 − 1:
 *      softmax of the global average of the last convolution; probabilities truncated to 0.01
 *      and capped at 0.99 as human reports them, then renormalised to sum 1.
 */
import type { Frame } from '../../video/types.js';
import { type EngineOptions, type LoadedModel, ONNX_BATCH, onnxOrTfjs } from '../engine.js';
import { convertedHumanGraph, type FaceDetection } from './human.js';

const CONV_VERSION = 1;
const DET_SIZE = 256;
const MESH_SIZE = 192;
const EMO_SIZE = 64;
const MIN_CONFIDENCE = 0.3;
const IOU_THRESHOLD = 0.1;
const MAX_FACES = 5;
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

// ---------------------------------------------------------------- sampling (as tfjs does it)

/**
 * tfjs `image.resizeBilinear(x, [oh, ow])` (alignCorners = halfPixelCenters = false) of an HWC
 * image, written into `out` at `offset`, each value mapped by `scale`·v + `shift`.
 */
export function resizeBilinear(
  src: ArrayLike<number>,
  h: number,
  w: number,
  c: number,
  oh: number,
  ow: number,
  out: Float32Array,
  offset = 0,
  scale = 1,
  shift = 0,
): void {
  const sy = h / oh;
  const sx = w / ow;
  const x0 = new Int32Array(ow);
  const x1 = new Int32Array(ow);
  const xf = new Float32Array(ow);
  for (let x = 0; x < ow; x++) {
    const fx = sx * x;
    x0[x] = Math.max(0, Math.floor(fx));
    x1[x] = Math.min(w - 1, Math.ceil(fx));
    xf[x] = fx - x0[x];
  }
  let o = offset;
  for (let y = 0; y < oh; y++) {
    const fy = sy * y;
    const y0 = Math.max(0, Math.floor(fy));
    const y1 = Math.min(h - 1, Math.ceil(fy));
    const yf = fy - y0;
    const r0 = y0 * w * c;
    const r1 = y1 * w * c;
    for (let x = 0; x < ow; x++) {
      const a = x0[x] * c;
      const b = x1[x] * c;
      const f = xf[x];
      for (let k = 0; k < c; k++) {
        const tl = src[r0 + a + k];
        const tr = src[r0 + b + k];
        const bl = src[r1 + a + k];
        const br = src[r1 + b + k];
        const top = tl + (tr - tl) * f;
        const bot = bl + (br - bl) * f;
        out[o++] = (top + (bot - top) * yf) * scale + shift;
      }
    }
  }
}

/**
 * tfjs `image.cropAndResize` (bilinear, extrapolation 0) of one box [y1, x1, y2, x2] (fractions
 * of the frame) to size×size×3, values ×`scale`, written into `out` at `offset`.
 */
export function cropAndResize(
  frame: Frame,
  box: [number, number, number, number],
  size: number,
  out: Float32Array,
  offset = 0,
  scale = 1,
): void {
  const { width: w, height: h, data } = frame;
  const [y1, x1, y2, x2] = box;
  const hs = size > 1 ? ((y2 - y1) * (h - 1)) / (size - 1) : 0;
  const ws = size > 1 ? ((x2 - x1) * (w - 1)) / (size - 1) : 0;
  for (let y = 0; y < size; y++) {
    const yi = size > 1 ? y1 * (h - 1) + y * hs : 0.5 * (y1 + y2) * (h - 1);
    const row = offset + y * size * 3;
    if (yi < 0 || yi > h - 1) {
      out.fill(0, row, row + size * 3);
      continue;
    }
    const t = Math.floor(yi);
    const b = Math.ceil(yi);
    const yl = yi - t;
    for (let x = 0; x < size; x++) {
      const xi = size > 1 ? x1 * (w - 1) + x * ws : 0.5 * (x1 + x2) * (w - 1);
      const o = row + x * 3;
      if (xi < 0 || xi > w - 1) {
        out[o] = 0;
        out[o + 1] = 0;
        out[o + 2] = 0;
        continue;
      }
      const l = Math.floor(xi);
      const r = Math.ceil(xi);
      const xl = xi - l;
      for (let k = 0; k < 3; k++) {
        const tl = data[(t * w + l) * 3 + k];
        const tr = data[(t * w + r) * 3 + k];
        const bl = data[(b * w + l) * 3 + k];
        const br = data[(b * w + r) * 3 + k];
        const top = tl + (tr - tl) * xl;
        const bot = bl + (br - bl) * xl;
        out[o + k] = (top + (bot - top) * yl) * scale;
      }
    }
  }
}

// ---------------------------------------------------------------- detector decoding

/** Anchor centres (pixels of the 256² input), in the order of the concatenated heads. */
function anchors(): Float32Array {
  const a: number[] = [];
  for (const [stride, per] of [
    [16, 2],
    [32, 6],
  ]) {
    const n = Math.floor((DET_SIZE + stride - 1) / stride);
    for (let y = 0; y < n; y++)
      for (let x = 0; x < n; x++)
        for (let k = 0; k < per; k++) a.push(stride * (x + 0.5), stride * (y + 0.5));
  }
  return Float32Array.from(a);
}
const ANCHORS = anchors();

interface Candidate {
  score: number;
  /** x1, y1, x2, y2 in pixels of the 256² input */
  box: [number, number, number, number];
}

function iou(a: Candidate['box'], b: Candidate['box']): number {
  const ax0 = Math.min(a[0], a[2]);
  const ay0 = Math.min(a[1], a[3]);
  const ax1 = Math.max(a[0], a[2]);
  const ay1 = Math.max(a[1], a[3]);
  const bx0 = Math.min(b[0], b[2]);
  const by0 = Math.min(b[1], b[3]);
  const bx1 = Math.max(b[0], b[2]);
  const by1 = Math.max(b[1], b[3]);
  const aa = (ax1 - ax0) * (ay1 - ay0);
  const ab = (bx1 - bx0) * (by1 - by0);
  if (aa <= 0 || ab <= 0) return 0;
  const iw = Math.max(0, Math.min(ax1, bx1) - Math.max(ax0, bx0));
  const ih = Math.max(0, Math.min(ay1, by1) - Math.max(ay0, by0));
  const inter = iw * ih;
  return inter / (aa + ab - inter);
}

/**
 * Decode one image (batch item i) of the four NCHW detector heads into candidates after
 * non-max suppression (as tfjs `nonMaxSuppression`: by decreasing score, a box whose IoU with a
 * kept one is ≥ the threshold is dropped).
 */
export function decodeBlazeface(heads: Float32Array[], i: number): Candidate[] {
  const [l16, r16, l8, r8] = heads;
  const cands: Candidate[] = [];
  let a = 0;
  const take = (logits: Float32Array, reg: Float32Array, n: number, per: number) => {
    const hw = n * n;
    for (let p = 0; p < hw; p++) {
      for (let k = 0; k < per; k++, a++) {
        const logit = logits[(i * per + k) * hw + p];
        const score = 1 / (1 + Math.exp(-logit));
        if (!(score > MIN_CONFIDENCE)) continue;
        const at = (j: number) => reg[(i * per * 16 + k * 16 + j) * hw + p];
        // regressors: centre offset x, y, size w, h, then 6 landmarks (unused)
        const cx = at(0) + ANCHORS[2 * a];
        const cy = at(1) + ANCHORS[2 * a + 1];
        const bw = at(2);
        const bh = at(3);
        cands.push({ score, box: [cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2] });
      }
    }
  };
  take(l16, r16, 16, 2);
  take(l8, r8, 8, 6);
  cands.sort((x, y) => y.score - x.score);
  const kept: Candidate[] = [];
  for (const c of cands) {
    if (kept.length >= MAX_FACES) break;
    if (kept.every((k) => iou(k.box, c.box) < IOU_THRESHOLD)) kept.push(c);
  }
  return kept;
}

// ---------------------------------------------------------------- the runner

export interface FaceRunner {
  readonly engine: 'onnx' | 'tfjs';
  /** faces per frame, most prominent first (largest box × confidence) */
  run(frames: Frame[]): Promise<FaceDetection[][]>;
  dispose(): Promise<void>;
}

const EXPR_ORDER = 7;

function sortByProminence(faces: FaceDetection[]): FaceDetection[] {
  const prominence = (f: FaceDetection) => f.box[2] * f.box[3] * f.score;
  return faces.sort((a, b) => prominence(b) - prominence(a));
}

/** Square box around a detector candidate, in frame pixels (human's `mt(ft(…, 1))`). */
function squareBox(c: Candidate, frame: Frame): { start: [number, number]; end: [number, number] } {
  const sx = frame.width / DET_SIZE;
  const sy = frame.height / DET_SIZE;
  const x0 = c.box[0] * sx;
  const y0 = c.box[1] * sy;
  const x1 = c.box[2] * sx;
  const y1 = c.box[3] * sy;
  const cx = x0 + (x1 - x0) / 2;
  const cy = y0 + (y1 - y0) / 2;
  const half = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0)) / 2;
  return {
    start: [Math.round(cx - half), Math.round(cy - half)],
    end: [Math.round(cx + half), Math.round(cy + half)],
  };
}

export async function loadFacesOnnx(
  opts: EngineOptions & { cacheDir?: string; batchSize?: number } = {},
): Promise<FaceRunner> {
  const { loadOnnx } = await import('../onnx.js');
  const load = async (m: ModelName) => loadOnnx(await convertedFaceModel(m, opts.cacheDir), opts);
  const det: LoadedModel = await load('blazeface');
  const mesh: LoadedModel = await load('facemesh');
  const emo: LoadedModel = await load('emotion');
  const batch = opts.batchSize ?? ONNX_BATCH;

  async function runBatched(
    model: LoadedModel,
    items: number,
    size: number,
    fill: (i: number, out: Float32Array, offset: number) => void,
    channels: number,
    outputs: string[],
  ): Promise<Float32Array[][]> {
    // per output: one array per batch part, plus part offsets
    const parts: Float32Array[][] = outputs.map(() => []);
    for (let s = 0; s < items; s += batch) {
      const n = Math.min(batch, items - s);
      const per = size * size * channels;
      const x = new Float32Array(n * per);
      for (let i = 0; i < n; i++) fill(s + i, x, i * per);
      const r = await model.run({ input: { data: x, shape: [n, size, size, channels] } }, outputs);
      outputs.forEach((o, k) => {
        parts[k].push(r[o].data);
      });
    }
    return parts;
  }

  return {
    engine: 'onnx',
    async run(frames) {
      const result: FaceDetection[][] = frames.map(() => []);
      if (frames.length === 0) return result;
      // 1. detector
      const detOut = await runBatched(
        det,
        frames.length,
        DET_SIZE,
        (i, out, o) => {
          const f = frames[i];
          resizeBilinear(f.data, f.height, f.width, 3, DET_SIZE, DET_SIZE, out, o, 1 / 127.5, -1);
        },
        3,
        ['output_0', 'output_1', 'output_2', 'output_3'],
      );
      const boxes: Array<{ frame: number; score: number; start: [number, number]; end: [number, number] }> =
        [];
      frames.forEach((f, fi) => {
        const part = Math.floor(fi / batch);
        const heads = detOut.map((o) => o[part]);
        for (const c of decodeBlazeface(heads, fi - part * batch)) {
          // human keeps a box whose rounded width and height are > 0 (detector.minSize 0)
          const w = Math.round(Math.abs(c.box[2] - c.box[0]) * (f.width / DET_SIZE));
          const h = Math.round(Math.abs(c.box[3] - c.box[1]) * (f.height / DET_SIZE));
          if (w > 0 && h > 0) boxes.push({ frame: fi, score: c.score, ...squareBox(c, f) });
        }
      });
      if (boxes.length === 0) return result;
      // 2. face mesh on the crops: validation and box centre
      const cropLen = MESH_SIZE * MESH_SIZE * 3;
      const crops = new Float32Array(boxes.length * cropLen);
      boxes.forEach((b, i) => {
        const f = frames[b.frame];
        cropAndResize(
          f,
          [b.start[1] / f.height, b.start[0] / f.width, b.end[1] / f.height, b.end[0] / f.width],
          MESH_SIZE,
          crops,
          i * cropLen,
          1 / 255,
        );
      });
      const meshOut = await runBatched(
        mesh,
        boxes.length,
        MESH_SIZE,
        (i, out, o) => out.set(crops.subarray(i * cropLen, (i + 1) * cropLen), o),
        3,
        ['output_0', 'output_1'],
      );
      const kept: Array<{ i: number; box: FaceDetection['box'] }> = [];
      boxes.forEach((b, i) => {
        const part = Math.floor(i / batch);
        const j = i - part * batch;
        const flag = Math.round(100 * meshOut[0][part][j]) / 100;
        if (!(flag > MIN_CONFIDENCE)) return;
        const pts = meshOut[1][part].subarray(j * 1404, (j + 1) * 1404);
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
        const f = frames[b.frame];
        const mcx = mx0 + (mx1 - mx0) / 2;
        const mcy = my0 + (my1 - my0) / 2;
        const bx = (mcx - sw / 2) / f.width;
        const by = (mcy - sh / 2) / f.height;
        const bw = sw / f.width;
        const bh = sh / f.height;
        const x0 = Math.max(0, Math.min(1, bx));
        const y0 = Math.max(0, Math.min(1, by));
        const x1 = Math.max(0, Math.min(1, bx + bw));
        const y1 = Math.max(0, Math.min(1, by + bh));
        kept.push({ i, box: [x0, y0, x1 - x0, y1 - y0] });
      });
      if (kept.length === 0) return result;
      // 3. emotion on the kept crops
      const small = new Float32Array(EMO_SIZE * EMO_SIZE * 3);
      const emoOut = await runBatched(
        emo,
        kept.length,
        EMO_SIZE,
        (k, out, o) => {
          const src = crops.subarray(kept[k].i * cropLen, (kept[k].i + 1) * cropLen);
          resizeBilinear(src, MESH_SIZE, MESH_SIZE, 3, EMO_SIZE, EMO_SIZE, small, 0);
          for (let p = 0; p < EMO_SIZE * EMO_SIZE; p++) {
            const g = small[p * 3] * GREY[0] + small[p * 3 + 1] * GREY[1] + small[p * 3 + 2] * GREY[2];
            out[o + p] = (g - 0.5) * 2;
          }
        },
        1,
        ['output_0'],
      );
      kept.forEach((k, n) => {
        const part = Math.floor(n / batch);
        const j = n - part * batch;
        const conv = emoOut[0][part];
        const hw = conv.length / (Math.min(batch, kept.length - part * batch) * EXPR_ORDER);
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
        const b = boxes[k.i];
        result[b.frame].push({
          score: Math.round(100 * b.score) / 100,
          box: k.box,
          expressions: sq > 0 ? q.map((v) => v / sq) : q,
        });
      });
      return result.map(sortByProminence);
    },
    async dispose() {
      await det.dispose();
      await mesh.dispose();
      await emo.dispose();
    },
  };
}

/** The tfjs-wasm pipeline of @vladmandic/human behind the same interface (one frame per call). */
export async function loadFacesTfjs(): Promise<FaceRunner> {
  const { detectFaces } = await import('./human.js');
  return {
    engine: 'tfjs',
    async run(frames) {
      const out: FaceDetection[][] = [];
      for (const f of frames) out.push(await detectFaces(f));
      return out;
    },
    async dispose() {},
  };
}

/** ONNX when the conversion works (default), else tfjs-wasm. */
export async function loadFaceRunner(
  opts: EngineOptions & { engine?: 'auto' | 'onnx' | 'tfjs'; cacheDir?: string; batchSize?: number } = {},
): Promise<FaceRunner> {
  return onnxOrTfjs('the face models', opts.engine, () => loadFacesOnnx(opts), loadFacesTfjs);
}
