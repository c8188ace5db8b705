/**
 * MoViNet-A0-Stream (Kinetics-600, int8 TFLite): a causal video network fed one frame per call.
 * Its 43 state tensors start at zero for each clip; after each call every state output is copied
 * back to its input BY POSITION, as listed in movinet_a0_stream_int8.signature.json (the tensor
 * names in the file do not match between inputs and outputs).
 *
 * `state_head_pool_buffer` [1,1,1,1,480] is a running SUM of the 480-d head feature and
 * `state_head_pool_frame_count` the number of frames in it, so sum/count is the clip's running
 * mean. A snippet's action vector is the change of that pool between the snippet's bounds:
 * (sum_end − sum_start) / (count_end − count_start), i.e. the mean head feature of the frames
 * inside the snippet, each computed with the whole history before it.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DfanError } from '../../errors.js';
import { loadTflite, type TfliteModel } from '../tflite.js';
import type { StreamedFrame } from './media.js';

export const MOVINET_FILE = 'movinet_a0_stream_int8_kinetics600.tflite';
export const MOVINET_SIGNATURE = 'movinet_a0_stream_int8.signature.json';
export const MOVINET_LABELS = 'kinetics600_label_map.txt';
export const MOVINET_SIZE = 172;
export const MOVINET_DIM = 480;

interface Signature {
  inputs: Record<string, number>;
  outputs: Record<string, number>;
}

/** Per-frame trace of one video: enough to pool any snippet afterwards. */
export interface MovinetTrace {
  /** [N] frame times (s) */
  times: number[];
  /** [N, 480] head pool sum AFTER each frame */
  sums: Float32Array;
  /** [N] frame count after each frame */
  counts: Int32Array;
  /** [600] logits after the last frame (the whole clip) */
  logits: Float32Array;
  /** total inference time (ms) */
  inferMs: number;
}

export interface ClassProb {
  label: string;
  prob: number;
}

export class MovinetStream {
  private constructor(
    private readonly model: TfliteModel,
    private readonly imageIn: number,
    private readonly logitsOut: number,
    private readonly poolOut: number,
    private readonly countOut: number,
    /** [outputIndex, inputIndex] for every state */
    private readonly stateMap: Array<[number, number]>,
    readonly labels: string[],
  ) {}

  static async load(dir: string, opts: { threads?: number } = {}): Promise<MovinetStream> {
    const sigFile = join(dir, MOVINET_SIGNATURE);
    let sig: Signature;
    try {
      sig = JSON.parse(await readFile(sigFile, 'utf8')) as Signature;
    } catch (e) {
      throw new DfanError('MODEL_MISSING', 'cannot read the MoViNet signature', { file: sigFile, cause: e });
    }
    const labels = (await readFile(join(dir, MOVINET_LABELS), 'utf8'))
      .split('\n')
      .filter((l) => l.trim() !== '');
    const model = await loadTflite(join(dir, MOVINET_FILE), opts);
    const need = (side: 'inputs' | 'outputs', name: string): number => {
      const i = sig[side]?.[name];
      const n = side === 'inputs' ? model.inputs.length : model.outputs.length;
      if (typeof i !== 'number' || i < 0 || i >= n)
        throw new DfanError('BAD_MANIFEST', `signature has no valid ${side}.${name}`, { file: sigFile });
      return i;
    };
    const stateMap: Array<[number, number]> = [];
    for (const name of Object.keys(sig.outputs)) {
      if (name === 'logits') continue;
      const o = need('outputs', name);
      const i = need('inputs', name);
      if (model.outputs[o].shape.join(',') !== model.inputs[i].shape.join(','))
        throw new DfanError('BAD_MANIFEST', `state ${name}: output and input shapes differ`, {
          file: sigFile,
        });
      stateMap.push([o, i]);
    }
    if (stateMap.length !== model.inputs.length - 1)
      throw new DfanError(
        'BAD_MANIFEST',
        `signature maps ${stateMap.length} states, model has ${model.inputs.length - 1}`,
        {
          file: sigFile,
        },
      );
    const imageIn = need('inputs', 'image');
    const shape = model.inputs[imageIn].shape.join(',');
    if (shape !== `1,1,${MOVINET_SIZE},${MOVINET_SIZE},3`)
      throw new DfanError('BAD_MANIFEST', `unexpected MoViNet image shape [${shape}]`, { file: sigFile });
    if (labels.length !== 600)
      throw new DfanError('BAD_MANIFEST', `expected 600 Kinetics labels, got ${labels.length}`, {
        file: join(dir, MOVINET_LABELS),
      });
    return new MovinetStream(
      model,
      imageIn,
      need('outputs', 'logits'),
      need('outputs', 'state_head_pool_buffer'),
      need('outputs', 'state_head_pool_frame_count'),
      stateMap,
      labels,
    );
  }

  /** Zero every input: a new clip starts. */
  reset(): void {
    for (let i = 0; i < this.model.inputs.length; i++) this.model.input(i).fill(0);
  }

  /** Feed one RGB24 frame (172×172); states are carried to the next call. */
  step(rgb: Uint8Array): void {
    const img = this.model.input(this.imageIn) as Float32Array;
    if (rgb.length !== img.length)
      throw new DfanError('INTERNAL', `MoViNet expects ${img.length} values per frame, got ${rgb.length}`);
    for (let k = 0; k < rgb.length; k++) img[k] = rgb[k] / 255;
    this.model.run();
    for (const [o, i] of this.stateMap)
      (this.model.input(i) as Float32Array | Int32Array).set(this.model.output(o) as never);
  }

  headSum(): Float32Array {
    return this.model.output(this.poolOut) as Float32Array;
  }
  headCount(): number {
    return Number(this.model.output(this.countOut)[0]);
  }
  logits(): Float32Array {
    return this.model.output(this.logitsOut) as Float32Array;
  }

  /** Run a whole clip (states reset first). Yields to the event loop between frames so ffmpeg's pipe keeps flowing. */
  async runClip(frames: AsyncIterable<StreamedFrame>): Promise<MovinetTrace> {
    this.reset();
    const times: number[] = [];
    const sums: number[] = [];
    const counts: number[] = [];
    let inferMs = 0;
    for await (const f of frames) {
      const t0 = performance.now();
      this.step(f.data);
      inferMs += performance.now() - t0;
      times.push(f.time);
      for (const v of this.headSum()) sums.push(v);
      counts.push(this.headCount());
    }
    if (times.length === 0) throw new DfanError('ZERO_LENGTH', 'MoViNet got no frame');
    return {
      times,
      sums: Float32Array.from(sums),
      counts: Int32Array.from(counts),
      logits: Float32Array.from(this.logits()),
      inferMs,
    };
  }

  topK(logits: Float32Array, k = 5): ClassProb[] {
    return softmaxTopK(logits, this.labels, k);
  }

  dispose(): void {
    this.model.dispose();
  }
}

export function softmaxTopK(logits: Float32Array, labels: string[], k: number): ClassProb[] {
  let m = Number.NEGATIVE_INFINITY;
  for (const v of logits) m = Math.max(m, v);
  let z = 0;
  for (const v of logits) z += Math.exp(v - m);
  return [...logits.keys()]
    .sort((a, b) => logits[b] - logits[a])
    .slice(0, k)
    .map((i) => ({ label: labels[i] ?? `#${i}`, prob: Math.exp(logits[i] - m) / z }));
}

/**
 * Snippet action vectors from a trace: [T, 480]. A snippet takes the frames with
 * start ≤ t < end (the last snippet also takes t = end); a snippet too short to hold a frame takes
 * the single frame nearest to its key time.
 */
export function poolSnippets(
  trace: MovinetTrace,
  snippets: Array<{ start: number; end: number; keyTime: number }>,
): Float32Array {
  const D = MOVINET_DIM;
  const n = trace.times.length;
  const out = new Float32Array(snippets.length * D);
  // sum/count "before frame i" = after frame i-1 (zero before the first frame)
  const sumBefore = (i: number, d: number) => (i === 0 ? 0 : trace.sums[(i - 1) * D + d]);
  const countBefore = (i: number) => (i === 0 ? 0 : trace.counts[i - 1]);
  snippets.forEach((s, t) => {
    const last = t === snippets.length - 1;
    let a = -1;
    let b = -1;
    for (let i = 0; i < n; i++) {
      const ti = trace.times[i];
      if (ti >= s.start && (ti < s.end || (last && ti <= s.end + 1e-6))) {
        if (a < 0) a = i;
        b = i;
      }
    }
    if (a < 0) {
      let best = 0;
      for (let i = 1; i < n; i++)
        if (Math.abs(trace.times[i] - s.keyTime) < Math.abs(trace.times[best] - s.keyTime)) best = i;
      a = best;
      b = best;
    }
    const dc = trace.counts[b] - countBefore(a);
    if (dc <= 0) return;
    for (let d = 0; d < D; d++) out[t * D + d] = (trace.sums[b * D + d] - sumBefore(a, d)) / dc;
  });
  return out;
}
