/**
 * MobileNetV2-1.0 int8 (ONNX Model Zoo, ImageNet-1k, top-1 68.3 %) on onnxruntime-node, with the
 * two float outputs added to the zoo file: `feat_map_1280x7x7` (object map) and `feat_pool_1280`
 * (its global average: the "context" descriptor — an ImageNet feature, not a scene model).
 * Input contract: short side 256, centre crop 224, RGB/255, ImageNet mean/std, NCHW.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import { DfanError } from '../../errors.js';

export const MOBILENET_FILE = 'mobilenetv2-12-int8-feat.onnx';
export const MOBILENET_LABELS = 'imagenet_labels_1000.txt';
/** decode size: a 256×256 centre crop (short side 256) — we cut the central 224 ourselves */
export const MOBILENET_DECODE = 256;
export const MOBILENET_SIZE = 224;
export const MOBILENET_C = 1280;
export const MOBILENET_HW = 7;
const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

export interface MobilenetOutput {
  /** [N, 7, 7, 1280] (HWC per frame, as the feature store wants) */
  map: Float32Array;
  /** [N, 1280] */
  pool: Float32Array;
  /** [N, 1000] ImageNet logits */
  logits: Float32Array;
  n: number;
}

/** RGB24 [s, s, 3] (s ≥ 224) → centre 224 crop, normalised, into `dst` at item `item` (NCHW). */
export function toMobilenetInput(rgb: Uint8Array, side: number, dst: Float32Array, item: number): void {
  const S = MOBILENET_SIZE;
  if (rgb.length !== side * side * 3 || side < S)
    throw new DfanError(
      'INTERNAL',
      `MobileNetV2 expects square RGB frames of side ≥ ${S}, got ${rgb.length} bytes for side ${side}`,
    );
  const off = Math.floor((side - S) / 2);
  const plane = S * S;
  const base = item * 3 * plane;
  for (let y = 0; y < S; y++) {
    const row = ((y + off) * side + off) * 3;
    for (let x = 0; x < S; x++) {
      const p = row + x * 3;
      const o = base + y * S + x;
      dst[o] = (rgb[p] / 255 - MEAN[0]) / STD[0];
      dst[o + plane] = (rgb[p + 1] / 255 - MEAN[1]) / STD[1];
      dst[o + 2 * plane] = (rgb[p + 2] / 255 - MEAN[2]) / STD[2];
    }
  }
}

export class Mobilenet {
  private constructor(
    private readonly session: InferenceSession,
    private readonly ort: typeof import('onnxruntime-node'),
    readonly labels: string[],
    readonly batchSize: number,
  ) {}

  static async load(dir: string, opts: { threads?: number; batchSize?: number } = {}): Promise<Mobilenet> {
    const ort = await import('onnxruntime-node');
    const file = join(dir, MOBILENET_FILE);
    let session: InferenceSession;
    try {
      session = await ort.InferenceSession.create(file, {
        intraOpNumThreads: opts.threads ?? 2,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
        // no busy-waiting: MoViNet's TFLite pool (same or another worker process) needs the cores
        extra: { session: { intra_op: { allow_spinning: '0' } } },
      });
    } catch (e) {
      throw new DfanError(
        'MODEL_MISSING',
        `cannot load MobileNetV2: ${(e as Error).message.split('\n')[0]}`,
        {
          file,
          hint: 'reinstall the research pack and run `dfan pack verify research`',
          cause: e,
        },
      );
    }
    for (const o of ['feat_map_1280x7x7', 'feat_pool_1280', 'output'])
      if (!session.outputNames.includes(o))
        throw new DfanError('BAD_MANIFEST', `MobileNetV2 file lacks output "${o}"`, { file });
    const labels = (await readFile(join(dir, MOBILENET_LABELS), 'utf8'))
      .split('\n')
      .filter((l) => l.trim() !== '');
    return new Mobilenet(session, ort, labels, Math.max(1, opts.batchSize ?? 16));
  }

  /** Run square RGB24 frames of side `side` (≥ 224; 256 per the contract) in batches. */
  async run(frames: Uint8Array[], side: number): Promise<MobilenetOutput & { inferMs: number }> {
    const N = frames.length;
    const C = MOBILENET_C;
    const HW = MOBILENET_HW * MOBILENET_HW;
    const map = new Float32Array(N * HW * C);
    const pool = new Float32Array(N * C);
    const logits = new Float32Array(N * 1000);
    const S = MOBILENET_SIZE;
    let inferMs = 0;
    for (let b0 = 0; b0 < N; b0 += this.batchSize) {
      const nb = Math.min(this.batchSize, N - b0);
      const x = new Float32Array(nb * 3 * S * S);
      for (let i = 0; i < nb; i++) toMobilenetInput(frames[b0 + i], side, x, i);
      const t0 = performance.now();
      const out = await this.session.run({ input: new this.ort.Tensor('float32', x, [nb, 3, S, S]) }, [
        'feat_map_1280x7x7',
        'feat_pool_1280',
        'output',
      ]);
      inferMs += performance.now() - t0;
      const m = out.feat_map_1280x7x7.data as Float32Array; // [nb, C, 7, 7]
      for (let i = 0; i < nb; i++) {
        const dst = (b0 + i) * HW * C;
        const src = i * C * HW;
        for (let c = 0; c < C; c++) for (let p = 0; p < HW; p++) map[dst + p * C + c] = m[src + c * HW + p];
      }
      pool.set(out.feat_pool_1280.data as Float32Array, b0 * C);
      logits.set(out.output.data as Float32Array, b0 * 1000);
      for (const t of Object.values(out)) t.dispose?.();
    }
    return { map, pool, logits, n: N, inferMs };
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
