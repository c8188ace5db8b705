/**
 * The preprocessing ("prep"), fitted once on training videos only (no labels used) and stored in
 * the run:
 *   vector stream  v ← (v − mean) / std                         per channel
 *   map stream     x ← (x − μ) · R / s                          R [C, D] = top-D principal subspace of the
 *                                                                cells (pca.ts), s = rms after R
 *                  or x ← (x − μ) / s when no reduction (D = C)
 * Reducing a 1280-channel map to D = 128 once, at load time, is what makes the spatial focus cheap
 * (its scoring layer then costs B·T·N·D·h instead of B·T·N·1280·h per step) and what lets an
 * Ekman-6-sized set (1,637 × 16 × 49 cells) sit in ~0.7 GB instead of 6.6 GB.
 */

import { DfanError } from '../errors.js';
import type { VideoFeatures } from '../features/types.js';
import { rng } from '../util/random.js';
import type { InputDims } from './architecture.js';
import { type Tf, tidyValue } from './backend.js';
import { centredRows, principalSubspace, projectedRms } from './pca.js';

export interface StreamPrep {
  kind: 'map' | 'vector';
  /** input channels, and cell grid (vectors: H = W = 1) */
  C: number;
  H: number;
  W: number;
  /** channels after preprocessing */
  D: number;
  mean: Float32Array; // [C]
  std?: Float32Array; // vectors: [C]
  basis?: Float32Array; // maps with reduction: [C, D]
  scale: number; // maps: global rms divisor
}

export interface Prep {
  T: number;
  streams: Record<string, StreamPrep>;
}

export function dimsOf(prep: Prep): InputDims {
  const dims: InputDims = { maps: {}, vectors: {} };
  for (const [name, s] of Object.entries(prep.streams)) {
    if (s.kind === 'map') dims.maps[name] = { H: s.H, W: s.W, D: s.D, ordered: s.basis !== undefined };
    else dims.vectors[name] = { D: s.D };
  }
  return dims;
}

function streamOf(vf: VideoFeatures, name: string, file?: string) {
  const t = vf.streams[name];
  if (!t) {
    throw new DfanError('BAD_FEATURES', `the features of "${vf.meta.key}" have no "${name}" stream`, {
      file,
      hint: `streams present: ${Object.keys(vf.streams).join(', ') || 'none'}; choose --streams accordingly or re-extract`,
    });
  }
  return t;
}

function maskOf(vf: VideoFeatures, T: number): Float32Array {
  return vf.mask ?? new Float32Array(T).fill(1);
}

/** Memory the automatic map reduction allows the training maps, as float32 bytes. */
export const MAP_BYTES_BUDGET = 1e9;
/** Channel counts the automatic map reduction tries, most first. */
export const AUTO_MAP_DIMS = [384, 256, 128] as const;

/**
 * mapDim for `mapDim: -1` (auto): 0 (every channel) when the training maps fit the budget, else the
 * most channels of AUTO_MAP_DIMS whose reduced maps fit, else the fewest of them. `maps` gives each
 * map stream's channels and its bytes per channel over the training videos (videos × T·H·W × 4).
 * A 1280-channel 14×14 map of 96 videos of 16 snippets (1.5 GB) keeps 384 channels; an Ekman-6-sized
 * set (6.6 GB) keeps 128. On three research-pack demo sets 384 rather than 128 channels raised
 * dual from 52.1 to 63.2 % (docs/model.md, "Map reduction").
 */
export function autoMapDim(maps: Array<{ C: number; bytesPerChannel: number }>): number {
  const bytes = (D: number) => maps.reduce((a, m) => a + m.bytesPerChannel * Math.min(D, m.C), 0);
  if (bytes(Infinity) <= MAP_BYTES_BUDGET) return 0;
  return AUTO_MAP_DIMS.find((D) => bytes(D) <= MAP_BYTES_BUDGET) ?? AUTO_MAP_DIMS[AUTO_MAP_DIMS.length - 1];
}

/**
 * Fit the preprocessing on a sample of training videos. `mapDim` 0 = keep all channels.
 * Map cells are sampled (~6k in total) for the mean and the principal subspace.
 */
export async function fitPrep(
  tf: Tf,
  samples: VideoFeatures[],
  streams: string[],
  mapDim: number,
  seed: number,
): Promise<Prep> {
  if (!samples.length) throw new DfanError('BAD_ARGUMENT', 'no training videos to fit the preprocessing on');
  const random = rng((seed ^ 0x9e3779b9) >>> 0);
  const T = Math.max(...samples.map((s) => s.snippets.length));
  const prep: Prep = { T, streams: {} };
  for (const name of streams) {
    const first = streamOf(samples[0], name);
    if (first.shape.length === 4) prep.streams[name] = fitMapPrep(tf, samples, name, mapDim, random);
    else if (first.shape.length === 2) prep.streams[name] = fitVectorPrep(samples, name);
    else
      throw new DfanError(
        'BAD_FEATURES',
        `stream "${name}" has shape [${first.shape}]: expected [T,C] or [T,H,W,C]`,
      );
  }
  return prep;
}

/** A map stream: mean and rms over sampled cells, and the top-`mapDim` principal subspace when it reduces. */
function fitMapPrep(
  tf: Tf,
  samples: VideoFeatures[],
  name: string,
  mapDim: number,
  random: () => number,
): StreamPrep {
  const [, H, W, C] = streamOf(samples[0], name).shape;
  const N = H * W;
  const perVideo = Math.max(1, Math.ceil(6144 / samples.length));
  const rows: Float32Array[] = []; // sampled cells, [C] each
  for (const vf of samples) {
    const t = streamOf(vf, name);
    if (t.shape[1] !== H || t.shape[2] !== W || t.shape[3] !== C) {
      throw new DfanError(
        'BAD_FEATURES',
        `"${vf.meta.key}": ${name} map is [${t.shape}] but others are [T,${H},${W},${C}]`,
      );
    }
    const m = maskOf(vf, t.shape[0]);
    const real = [...Array(t.shape[0]).keys()].filter((i) => m[i] > 0);
    for (let k = 0; k < perVideo && real.length; k++) {
      const ti = real[Math.floor(random() * real.length)];
      const cell = Math.floor(random() * N);
      rows.push(t.data.subarray((ti * N + cell) * C, (ti * N + cell + 1) * C));
    }
  }
  const m = rows.length;
  const mean = new Float32Array(C);
  for (const r of rows) for (let c = 0; c < C; c++) mean[c] += r[c] / m;
  const D = mapDim > 0 && mapDim < C ? mapDim : C;
  const sp: StreamPrep = { kind: 'map', C, H, W, D, mean, scale: 1 };
  if (D < C) {
    const X = centredRows(rows, mean); // [m, C]
    sp.basis = principalSubspace(tf, X, C, D, random);
    sp.scale = projectedRms(tf, X, C, sp.basis, D);
  } else {
    let ss = 0;
    for (const r of rows) for (let c = 0; c < C; c++) ss += (r[c] - mean[c]) ** 2;
    sp.scale = Math.sqrt(ss / (m * C)) || 1;
  }
  return sp;
}

/** A vector stream: per-channel mean and std over the real snippets of every sample. */
function fitVectorPrep(samples: VideoFeatures[], name: string): StreamPrep {
  const C = streamOf(samples[0], name).shape[1];
  const mean = new Float64Array(C);
  const sq = new Float64Array(C);
  let n = 0;
  for (const vf of samples) {
    const t = streamOf(vf, name);
    if (t.shape[1] !== C)
      throw new DfanError('BAD_FEATURES', `"${vf.meta.key}": ${name} is [${t.shape}], expected [T,${C}]`);
    const mk = maskOf(vf, t.shape[0]);
    for (let i = 0; i < t.shape[0]; i++) {
      if (!(mk[i] > 0)) continue;
      n++;
      for (let c = 0; c < C; c++) {
        const v = t.data[i * C + c];
        mean[c] += v;
        sq[c] += v * v;
      }
    }
  }
  const std = new Float32Array(C);
  const mu = new Float32Array(C);
  for (let c = 0; c < C; c++) {
    mu[c] = mean[c] / Math.max(1, n);
    const v = sq[c] / Math.max(1, n) - mu[c] ** 2;
    std[c] = v > 1e-10 ? Math.sqrt(v) : 1;
  }
  return { kind: 'vector', C, H: 1, W: 1, D: C, mean: mu, std, scale: 1 };
}

/** One video through the preprocessing: maps [T·N·D], vectors [T·D], mask [T] (padded to prep.T when shorter). */
export function applyPrep(
  tf: Tf,
  prep: Prep,
  vf: VideoFeatures,
  opts: { T?: number; file?: string } = {},
): {
  T: number;
  maps: Record<string, Float32Array>;
  vectors: Record<string, Float32Array>;
  mask: Float32Array;
} {
  const Tv = vf.snippets.length;
  const T = opts.T ?? Tv;
  if (Tv > T) {
    throw new DfanError('BAD_FEATURES', `"${vf.meta.key}" has ${Tv} snippets but the model takes ${T}`, {
      file: opts.file,
      hint: 'extract with the same --snippets as the training features',
    });
  }
  const mask = new Float32Array(T);
  mask.set(maskOf(vf, Tv).subarray(0, Tv));
  const maps: Record<string, Float32Array> = {};
  const vectors: Record<string, Float32Array> = {};
  for (const [name, sp] of Object.entries(prep.streams)) {
    const t = streamOf(vf, name, opts.file);
    const expected = sp.kind === 'map' ? [sp.H, sp.W, sp.C] : [sp.C];
    if (t.shape.length !== expected.length + 1 || expected.some((n, i) => t.shape[i + 1] !== n)) {
      throw new DfanError(
        'BAD_FEATURES',
        `"${vf.meta.key}": ${name} is [${t.shape}], the model expects [T,${expected.join(',')}]`,
        { file: opts.file },
      );
    }
    if (sp.kind === 'map') maps[name] = prepMap(tf, sp, t.data, Tv, mask);
    else vectors[name] = prepVector(sp, t.data, Tv, mask);
  }
  return { T, maps, vectors, mask };
}

/** x ← (x − μ) R / s (or (x − μ) / s unreduced) for the Tv snippets of a map, padded snippets zero  [T·N·D] */
function prepMap(tf: Tf, sp: StreamPrep, data: Float32Array, Tv: number, mask: Float32Array): Float32Array {
  const T = mask.length;
  const N = sp.H * sp.W;
  const out = new Float32Array(T * N * sp.D);
  const basis = sp.basis;
  if (basis) {
    const y = tidyValue(tf, () => {
      const x = tf.tensor2d(data.subarray(0, Tv * N * sp.C), [Tv * N, sp.C]);
      const R = tf.tensor2d(basis, [sp.C, sp.D]);
      const muR = tf.matMul(tf.tensor2d(sp.mean, [1, sp.C]), R);
      return tf.div(tf.sub(tf.matMul(x, R), muR), sp.scale).dataSync() as Float32Array;
    });
    out.set(y.subarray(0, Tv * N * sp.D));
  } else {
    const inv = 1 / sp.scale;
    for (let i = 0; i < Tv * N; i++) {
      for (let c = 0; c < sp.C; c++) out[i * sp.C + c] = (data[i * sp.C + c] - sp.mean[c]) * inv;
    }
  }
  for (let i = 0; i < T; i++) if (!(mask[i] > 0)) out.fill(0, i * N * sp.D, (i + 1) * N * sp.D);
  return out;
}

/** v ← (v − μ) / σ for the real snippets of a vector stream, padded snippets zero  [T·C] */
function prepVector(sp: StreamPrep, data: Float32Array, Tv: number, mask: Float32Array): Float32Array {
  const out = new Float32Array(mask.length * sp.C);
  const std = sp.std ?? new Float32Array(sp.C).fill(1);
  for (let i = 0; i < Tv; i++) {
    if (!(mask[i] > 0)) continue;
    for (let c = 0; c < sp.C; c++) out[i * sp.C + c] = (data[i * sp.C + c] - sp.mean[c]) / std[c];
  }
  return out;
}
