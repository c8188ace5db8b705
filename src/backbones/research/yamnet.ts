/**
 * YAMNet (AudioSet, 521 event classes, TFLite): input `waveform_binary` = 15600 samples
 * (0.975 s of mono 16 kHz audio in [-1, 1]) → [1, 521] scores. Windows tile the audio (hop
 * 0.975 s by default, half the cost of YAMNet's own 0.48-s hop); a snippet's audio vector is the mean score over the windows whose centre lies inside
 * the snippet. Silent windows (peak below ~-80 dBFS) are left out; a snippet with no audible
 * window gets a zero vector, and so does every snippet of a video without audio — flagged in the
 * pack's warnings, never an error.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DfanError } from '../../errors.js';
import { loadTflite, type TfliteModel } from '../tflite.js';

export const YAMNET_FILE = 'yamnet.tflite';
export const YAMNET_LABELS = 'yamnet_label_list.txt';
export const YAMNET_RATE = 16000;
export const YAMNET_WINDOW = 15600;
export const YAMNET_DIM = 521;
const SILENCE_PEAK = 1e-4;

export interface AudioPoolOptions {
  /** seconds between window starts (default 0.975: the windows tile the audio; YAMNet's own hop is 0.48) */
  hop?: number;
  /** at most this many windows per snippet, evenly spread (default 8): bounds cost on long snippets */
  maxWindowsPerSnippet?: number;
}

export interface AudioPoolResult {
  /** [T, 521] */
  scores: Float32Array;
  /** [T] true when the snippet had no audible window (its vector is zero) */
  silent: boolean[];
  windows: number;
  inferMs: number;
  /** [521] mean score over every audible window computed (null when none) */
  clipMean: Float32Array | null;
}

export class Yamnet {
  private constructor(
    private readonly model: TfliteModel,
    readonly labels: string[],
  ) {}

  static async load(dir: string, opts: { threads?: number } = {}): Promise<Yamnet> {
    const model = await loadTflite(join(dir, YAMNET_FILE), opts);
    const inShape = model.inputs[0]?.shape.join(',');
    const outShape = model.outputs[0]?.shape.join(',');
    if (model.inputs.length !== 1 || inShape !== String(YAMNET_WINDOW) || outShape !== `1,${YAMNET_DIM}`)
      throw new DfanError(
        'BAD_MANIFEST',
        `unexpected YAMNet signature: input [${inShape}], output [${outShape}]`,
        {
          file: join(dir, YAMNET_FILE),
        },
      );
    const labels = (await readFile(join(dir, YAMNET_LABELS), 'utf8'))
      .split('\n')
      .filter((l) => l.trim() !== '');
    return new Yamnet(model, labels);
  }

  /** Scores [521] of one window starting at sample `start` (zero-padded past the end). */
  window(samples: Float32Array, start: number): Float32Array {
    const x = this.model.input(0) as Float32Array;
    const end = Math.min(samples.length, start + YAMNET_WINDOW);
    x.fill(0);
    if (end > start) x.set(samples.subarray(start, end));
    this.model.run();
    return Float32Array.from(this.model.output(0) as Float32Array);
  }

  /** Pool scores per snippet. `samples` null = no audio track. */
  poolSnippets(
    samples: Float32Array | null,
    snippets: Array<{ start: number; end: number; keyTime: number }>,
    opts: AudioPoolOptions = {},
  ): AudioPoolResult {
    const T = snippets.length;
    const scores = new Float32Array(T * YAMNET_DIM);
    const silent = new Array<boolean>(T).fill(true);
    if (!samples || samples.length === 0) return { scores, silent, windows: 0, inferMs: 0, clipMean: null };
    const hop = Math.max(1, Math.round((opts.hop ?? 0.975) * YAMNET_RATE));
    const maxPer = Math.max(1, opts.maxWindowsPerSnippet ?? 8);
    const half = YAMNET_WINDOW / 2;
    const nWin = Math.max(1, Math.floor(Math.max(0, samples.length - YAMNET_WINDOW) / hop) + 1);
    const centre = (j: number) => (j * hop + half) / YAMNET_RATE;
    const cache = new Map<number, Float32Array | null>();
    let inferMs = 0;
    const scoresOf = (j: number): Float32Array | null => {
      if (cache.has(j)) return cache.get(j) ?? null;
      const s = j * hop;
      let peak = 0;
      const e = Math.min(samples.length, s + YAMNET_WINDOW);
      for (let k = s; k < e; k++) {
        const a = Math.abs(samples[k]);
        if (a > peak) peak = a;
      }
      let r: Float32Array | null = null;
      if (peak >= SILENCE_PEAK) {
        const t0 = performance.now();
        r = this.window(samples, s);
        inferMs += performance.now() - t0;
      }
      cache.set(j, r);
      return r;
    };
    snippets.forEach((sn, t) => {
      const last = t === T - 1;
      let inside: number[] = [];
      for (let j = 0; j < nWin; j++) {
        const c = centre(j);
        if (c >= sn.start && (c < sn.end || (last && c <= sn.end + 1e-6))) inside.push(j);
      }
      if (inside.length === 0) {
        let best = 0;
        for (let j = 1; j < nWin; j++)
          if (Math.abs(centre(j) - sn.keyTime) < Math.abs(centre(best) - sn.keyTime)) best = j;
        inside = [best];
      }
      if (inside.length > maxPer) {
        const picked: number[] = [];
        for (let q = 0; q < maxPer; q++)
          picked.push(inside[Math.floor(((q + 0.5) * inside.length) / maxPer)]);
        inside = picked;
      }
      let n = 0;
      const row = scores.subarray(t * YAMNET_DIM, (t + 1) * YAMNET_DIM);
      for (const j of inside) {
        const s = scoresOf(j);
        if (!s) continue;
        for (let d = 0; d < YAMNET_DIM; d++) row[d] += s[d];
        n++;
      }
      if (n > 0) {
        for (let d = 0; d < YAMNET_DIM; d++) row[d] /= n;
        silent[t] = false;
      }
    });
    const audible = [...cache.values()].filter((v): v is Float32Array => v !== null);
    let clipMean: Float32Array | null = null;
    if (audible.length > 0) {
      clipMean = new Float32Array(YAMNET_DIM);
      for (const v of audible) for (let d = 0; d < YAMNET_DIM; d++) clipMean[d] += v[d] / audible.length;
    }
    return { scores, silent, windows: audible.length, inferMs, clipMean };
  }

  /** The k highest mean scores (YAMNet scores are independent sigmoids, not a distribution). */
  topK(mean: Float32Array, k = 3): Array<{ label: string; score: number }> {
    return [...mean.keys()]
      .sort((a, b) => mean[b] - mean[a])
      .slice(0, k)
      .map((i) => ({ label: this.labels[i] ?? `#${i}`, score: mean[i] }));
  }

  dispose(): void {
    this.model.dispose();
  }
}
