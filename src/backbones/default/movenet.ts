/**
 * MoveNet SinglePose Lightning (shipped by @vladmandic/human) on onnxruntime, batched.
 *
 * The tfjs graph is converted at first use (src/backbones/convert/tfgraph2onnx.ts, cached like the
 * MobileNetV2) up to its four heads; the decoding the graph does after them (ArgMax / GatherNd)
 * is re-done here in JS exactly as the graph does it:
 *   1. centre = argmax(sigmoid(centre head) × the graph's centre-weight constant)
 *   2. regressed keypoint k = centre + regress head at the centre
 *   3. keypoint cell k = argmax(sigmoid(heatmap k) / (distance to the regressed keypoint + c))
 *   4. position = (cell + offset head at that cell) / 48; score = heatmap k at that cell
 * The tfjs path (human.ts `estimatePose`) stays as the reference and fallback.
 */
import type { ConstTensor } from '../convert/tfgraph2onnx.js';
import {
  type ConvertedModelOptions,
  type FrameRunner,
  ONNX_BATCH,
  onnxOrTfjs,
  perFrameRunner,
} from '../engine.js';
import { fitFrame, fitGeometry } from '../preprocess.js';
import { convertedHumanGraph } from './human.js';

const SIZE = 192;
const GRID = 48;
const K = 17;
const P = 'StatefulPartitionedCall/';
const HEADS = [
  `${P}Sigmoid`,
  `${P}Sigmoid_1`,
  `${P}kpt_regress_0/conv2d_6/BiasAdd`,
  `${P}kpt_offset_0/conv2d_7/BiasAdd`,
];
const CONV_VERSION = 1;

interface Decoder {
  centreWeight: Float32Array; // [48*48]
  gridY: Float32Array;
  gridX: Float32Array;
  distOffset: number;
  outScale: [number, number];
}

function decoderFrom(consts: Map<string, ConstTensor>): Decoder {
  const get = (n: string) => {
    const c = consts.get(n);
    if (!c) throw new Error(`movenet: constant ${n} missing`);
    return Float32Array.from(c.data);
  };
  const scale = get(`${P}Reshape_13`);
  return {
    centreWeight: get(`ConstantFolding/${P}truediv_2_recip`),
    gridY: get(`${P}strided_slice_3`),
    gridX: get(`${P}strided_slice_4`),
    distOffset: get(`${P}add_5/y`)[0],
    outScale: [scale[0], scale[1]],
  };
}

/**
 * Decode one image's heads (NCHW, batch item i) → [17,3] (y, x, score) in [0,1] of the 192² input.
 */
export function decodeMovenet(
  d: Decoder,
  heat: Float32Array, // [N,17,48,48]
  centre: Float32Array, // [N,1,48,48]
  regress: Float32Array, // [N,34,48,48]
  offset: Float32Array, // [N,34,48,48]
  i: number,
): Float32Array {
  const HW = GRID * GRID;
  let best = -1;
  let bi = 0;
  for (let p = 0; p < HW; p++) {
    const v = centre[i * HW + p] * d.centreWeight[p];
    if (v > best) {
      best = v;
      bi = p;
    }
  }
  const cy = Math.floor(bi / GRID);
  const cx = bi - cy * GRID;
  const out = new Float32Array(K * 3);
  for (let k = 0; k < K; k++) {
    const ry = cy + regress[(i * 34 + 2 * k) * HW + bi];
    const rx = cx + regress[(i * 34 + 2 * k + 1) * HW + bi];
    let kb = -1;
    let kp = 0;
    const hb = (i * K + k) * HW;
    for (let p = 0; p < HW; p++) {
      const dy = d.gridY[p] - ry;
      const dx = d.gridX[p] - rx;
      const v = heat[hb + p] / (Math.sqrt(dy * dy + dx * dx) + d.distOffset);
      if (v > kb) {
        kb = v;
        kp = p;
      }
    }
    const ky = Math.floor(kp / GRID);
    const kx = kp - ky * GRID;
    const oy = offset[(i * 34 + 2 * k) * HW + kp];
    const ox = offset[(i * 34 + 2 * k + 1) * HW + kp];
    out[k * 3] = (ky + oy) * d.outScale[0];
    out[k * 3 + 1] = (kx + ox) * d.outScale[1];
    out[k * 3 + 2] = heat[hb + kp];
  }
  return out;
}

/** keypoints per frame: [17,3] (x, y, score), x,y in [0,1] of the frame */
export type PoseRunner = FrameRunner<Float32Array[]>;

export async function loadMovenetOnnx(opts: ConvertedModelOptions = {}): Promise<PoseRunner> {
  const conversion = {
    version: CONV_VERSION,
    outputs: HEADS,
    file: 'human-movenet-lightning',
    graph: 'movenet_lightning',
    what: 'movenet-lightning (heads only)',
  };
  const { bytes, consts } = await convertedHumanGraph('movenet-lightning', conversion, opts.cacheDir);
  const dec = decoderFrom(consts);
  const { loadOnnx } = await import('../onnx.js');
  const model = await loadOnnx(bytes, opts);
  const batch = opts.batchSize ?? ONNX_BATCH;
  return {
    engine: 'onnx',
    async run(frames) {
      const res: Float32Array[] = [];
      for (let s = 0; s < frames.length; s += batch) {
        const part = frames.slice(s, s + batch);
        const x = new Float32Array(part.length * SIZE * SIZE * 3);
        const geo = part.map((f, i) => {
          x.set(fitFrame(f, SIZE, SIZE, 'letterbox').data, i * SIZE * SIZE * 3);
          return fitGeometry(f.width, f.height, SIZE, SIZE, 'letterbox');
        });
        const names = ['output_0', 'output_1', 'output_2', 'output_3'];
        const r = await model.run({ input: { data: x, shape: [part.length, SIZE, SIZE, 3] } }, names);
        for (let i = 0; i < part.length; i++) {
          const yx = decodeMovenet(
            dec,
            r.output_0.data,
            r.output_1.data,
            r.output_2.data,
            r.output_3.data,
            i,
          );
          const g2 = geo[i];
          const kp = new Float32Array(K * 3);
          for (let k = 0; k < K; k++) {
            kp[k * 3] = Math.max(0, Math.min(1, (yx[k * 3 + 1] * SIZE - g2.dx) / g2.dw));
            kp[k * 3 + 1] = Math.max(0, Math.min(1, (yx[k * 3] * SIZE - g2.dy) / g2.dh));
            kp[k * 3 + 2] = yx[k * 3 + 2];
          }
          res.push(kp);
        }
      }
      return res;
    },
    dispose: () => model.dispose(),
  };
}

/** The tfjs-wasm MoveNet behind the same interface (one frame per call). */
export async function loadMovenetTfjs(): Promise<PoseRunner> {
  const { estimatePose } = await import('./human.js');
  return perFrameRunner(async (f) => (await estimatePose(f)).keypoints);
}

/** ONNX when the conversion works (default), else tfjs-wasm. */
export async function loadPoseRunner(opts: ConvertedModelOptions = {}): Promise<PoseRunner> {
  return onnxOrTfjs('MoveNet', opts.engine, () => loadMovenetOnnx(opts), loadMovenetTfjs);
}
