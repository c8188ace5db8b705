/**
 * From feature files to model inputs: the preprocessing fitted on the training split (stored in the
 * run) and an in-memory FeatureSet the trainer batches from.
 *
 * Preprocessing ("prep"), fitted once on training videos only, no labels used:
 *   vector stream  v ← (v − mean) / std                         per channel
 *   map stream     x ← (x − μ) · R / s                          R [C, D] = top-D principal subspace of the
 *                                                                cells (subspace iteration), s = rms after R
 *                  or x ← (x − μ) / s when no reduction (D = C)
 * Reducing a 1280-channel map to D = 128 once, at load time, is what makes the spatial focus cheap
 * (its scoring layer then costs B·T·N·D·h instead of B·T·N·1280·h per step) and what lets an
 * Ekman-6-sized set (1,637 × 16 × 49 cells) sit in ~0.7 GB instead of 6.6 GB.
 */

import { DfanError } from '../errors.js';
import type { SnippetTimes, VideoFeatures } from '../features/types.js';
import { rng } from '../util/random.js';
import { type Tf, tidyValue } from './backend.js';
import type { BatchTensors, InputDims } from './dfan.js';
import { dropInPlace } from './map-dropout.js';

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

/** Where features come from: a feature store folder, or (bench, tests) a generator. */
export interface FeatureSource {
  load(key: string, streams?: string[]): Promise<VideoFeatures>;
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
    if (first.shape.length === 4) {
      const [, H, W, C] = first.shape;
      const N = H * W;
      const perVideo = Math.max(1, Math.ceil(6144 / samples.length));
      const rows: Float32Array[] = [];
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
        sp.basis = principalSubspace(tf, rows, mean, D, random);
        sp.scale = projectedRms(tf, rows, mean, sp.basis, D);
      } else {
        let ss = 0;
        for (const r of rows) for (let c = 0; c < C; c++) ss += (r[c] - mean[c]) ** 2;
        sp.scale = Math.sqrt(ss / (m * C)) || 1;
      }
      prep.streams[name] = sp;
    } else if (first.shape.length === 2) {
      const C = first.shape[1];
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
      prep.streams[name] = { kind: 'vector', C, H: 1, W: 1, D: C, mean: mu, std, scale: 1 };
    } else {
      throw new DfanError(
        'BAD_FEATURES',
        `stream "${name}" has shape [${first.shape}]: expected [T,C] or [T,H,W,C]`,
      );
    }
  }
  return prep;
}

/** Orthonormal basis [C, D] of the top-D principal subspace of the (centred) rows: subspace iteration. */
function principalSubspace(
  tf: Tf,
  rows: Float32Array[],
  mean: Float32Array,
  D: number,
  random: () => number,
) {
  const C = mean.length;
  const m = rows.length;
  const X = new Float32Array(m * C);
  rows.forEach((r, i) => {
    for (let c = 0; c < C; c++) X[i * C + c] = r[c] - mean[c];
  });
  const cov = tf.tidy(() => {
    const x = tf.tensor2d(X, [m, C]);
    return tf.div(tf.matMul(x, x, true, false), m);
  });
  let Q = new Float32Array(C * D);
  for (let i = 0; i < Q.length; i++) Q[i] = random() - 0.5;
  orthonormalise(Q, C, D);
  for (let it = 0; it < 8; it++) {
    const Z = tidyValue(tf, () => tf.matMul(cov, tf.tensor2d(Q, [C, D])).dataSync() as Float32Array);
    Q = new Float32Array(Z);
    orthonormalise(Q, C, D);
  }
  // Rayleigh–Ritz: rotate the basis inside its subspace so that its columns are the principal
  // directions in decreasing variance (the spatial scorer reads only the leading ones)
  const S = tidyValue(tf, () => {
    const q = tf.tensor2d(Q, [C, D]);
    return tf.matMul(q, tf.matMul(cov, q), true, false).dataSync() as Float32Array;
  });
  cov.dispose();
  const V = eigenvectorsByVariance(S, D);
  const R = new Float32Array(C * D);
  for (let c = 0; c < C; c++) {
    for (let j = 0; j < D; j++) {
      let acc = 0;
      for (let k = 0; k < D; k++) acc += Q[c * D + k] * V[k * D + j];
      R[c * D + j] = acc;
    }
  }
  return R;
}

/**
 * Eigenvectors of a symmetric [D, D] matrix (cyclic Jacobi), as the columns of a row-major
 * [D, D] matrix sorted by decreasing eigenvalue.
 */
export function eigenvectorsByVariance(S32: Float32Array, D: number): Float64Array {
  const A = Float64Array.from(S32);
  const V = new Float64Array(D * D);
  for (let i = 0; i < D; i++) V[i * D + i] = 1;
  for (let sweep = 0; sweep < 50; sweep++) {
    let off = 0;
    let diag = 0;
    for (let p = 0; p < D; p++) {
      diag += A[p * D + p] ** 2;
      for (let q = p + 1; q < D; q++) off += A[p * D + q] ** 2;
    }
    if (off <= 1e-22 * diag) break;
    for (let p = 0; p < D - 1; p++) {
      for (let q = p + 1; q < D; q++) {
        const apq = A[p * D + q];
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (A[q * D + q] - A[p * D + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < D; k++) {
          const akp = A[k * D + p];
          const akq = A[k * D + q];
          A[k * D + p] = c * akp - s * akq;
          A[k * D + q] = s * akp + c * akq;
        }
        for (let k = 0; k < D; k++) {
          const apk = A[p * D + k];
          const aqk = A[q * D + k];
          A[p * D + k] = c * apk - s * aqk;
          A[q * D + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < D; k++) {
          const vkp = V[k * D + p];
          const vkq = V[k * D + q];
          V[k * D + p] = c * vkp - s * vkq;
          V[k * D + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = [...Array(D).keys()].sort((i, j) => A[j * D + j] - A[i * D + i]);
  const out = new Float64Array(D * D);
  for (let k = 0; k < D; k++) for (let j = 0; j < D; j++) out[k * D + j] = V[k * D + order[j]];
  return out;
}

/** Modified Gram–Schmidt on the columns of a row-major [C, D] matrix, in place. */
function orthonormalise(Q: Float32Array, C: number, D: number): void {
  const col = new Float64Array(C);
  for (let j = 0; j < D; j++) {
    for (let c = 0; c < C; c++) col[c] = Q[c * D + j];
    for (let k = 0; k < j; k++) {
      let dot = 0;
      for (let c = 0; c < C; c++) dot += col[c] * Q[c * D + k];
      for (let c = 0; c < C; c++) col[c] -= dot * Q[c * D + k];
    }
    let norm = 0;
    for (let c = 0; c < C; c++) norm += col[c] * col[c];
    norm = Math.sqrt(norm) || 1;
    for (let c = 0; c < C; c++) Q[c * D + j] = col[c] / norm;
  }
}

function projectedRms(
  tf: Tf,
  rows: Float32Array[],
  mean: Float32Array,
  basis: Float32Array,
  D: number,
): number {
  const C = mean.length;
  const m = rows.length;
  const X = new Float32Array(m * C);
  rows.forEach((r, i) => {
    for (let c = 0; c < C; c++) X[i * C + c] = r[c] - mean[c];
  });
  const ms = tidyValue(
    tf,
    () => tf.mean(tf.square(tf.matMul(tf.tensor2d(X, [m, C]), tf.tensor2d(basis, [C, D])))).dataSync()[0],
  );
  return Math.sqrt(ms) || 1;
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
    if (sp.kind === 'map') {
      const N = sp.H * sp.W;
      if (t.shape.length !== 4 || t.shape[1] !== sp.H || t.shape[2] !== sp.W || t.shape[3] !== sp.C) {
        throw new DfanError(
          'BAD_FEATURES',
          `"${vf.meta.key}": ${name} is [${t.shape}], the model expects [T,${sp.H},${sp.W},${sp.C}]`,
          {
            file: opts.file,
          },
        );
      }
      const out = new Float32Array(T * N * sp.D);
      if (sp.basis) {
        const basis = sp.basis;
        const y = tidyValue(tf, () => {
          const x = tf.tensor2d(t.data.subarray(0, Tv * N * sp.C), [Tv * N, sp.C]);
          const R = tf.tensor2d(basis, [sp.C, sp.D]);
          const muR = tf.matMul(tf.tensor2d(sp.mean, [1, sp.C]), R);
          return tf.div(tf.sub(tf.matMul(x, R), muR), sp.scale).dataSync() as Float32Array;
        });
        out.set(y.subarray(0, Tv * N * sp.D));
      } else {
        const inv = 1 / sp.scale;
        for (let i = 0; i < Tv * N; i++) {
          for (let c = 0; c < sp.C; c++) out[i * sp.C + c] = (t.data[i * sp.C + c] - sp.mean[c]) * inv;
        }
      }
      for (let i = 0; i < T; i++) if (!(mask[i] > 0)) out.fill(0, i * N * sp.D, (i + 1) * N * sp.D);
      maps[name] = out;
    } else {
      if (t.shape.length !== 2 || t.shape[1] !== sp.C) {
        throw new DfanError(
          'BAD_FEATURES',
          `"${vf.meta.key}": ${name} is [${t.shape}], the model expects [T,${sp.C}]`,
          {
            file: opts.file,
          },
        );
      }
      const out = new Float32Array(T * sp.C);
      for (let i = 0; i < Tv; i++) {
        if (!(mask[i] > 0)) continue;
        for (let c = 0; c < sp.C; c++) out[i * sp.C + c] = (t.data[i * sp.C + c] - sp.mean[c]) / sp.std![c];
      }
      vectors[name] = out;
    }
  }
  return { T, maps, vectors, mask };
}

/** Preprocessed videos in memory, one contiguous array per stream. */
export class FeatureSet {
  readonly keys: string[] = [];
  readonly labels: number[] = [];
  readonly snippets: SnippetTimes[][] = [];
  readonly maps: Record<string, Float32Array> = {}; // [n, T, N, D]
  readonly pooled: Record<string, Float32Array> = {}; // [n, T, D]
  /** each cell's mean over the video's real snippets (kept with the maps: the focus contrast reads it) */
  readonly cellMeans: Record<string, Float32Array> = {}; // [n, N, D]
  readonly vectors: Record<string, Float32Array> = {}; // [n, T, D]
  readonly mask: Float32Array; // [n, T]
  readonly T: number;

  constructor(
    readonly prep: Prep,
    readonly capacity: number,
    /** keep the full maps (spatial variants); otherwise only their cell means */
    readonly keepMaps: boolean,
  ) {
    this.T = prep.T;
    this.mask = new Float32Array(capacity * this.T);
    for (const [name, sp] of Object.entries(prep.streams)) {
      if (sp.kind === 'map') {
        if (keepMaps) {
          this.maps[name] = new Float32Array(capacity * this.T * sp.H * sp.W * sp.D);
          this.cellMeans[name] = new Float32Array(capacity * sp.H * sp.W * sp.D);
        }
        this.pooled[name] = new Float32Array(capacity * this.T * sp.D);
      } else {
        this.vectors[name] = new Float32Array(capacity * this.T * sp.D);
      }
    }
  }

  get size(): number {
    return this.keys.length;
  }

  /**
   * A reusable staging array per source (a batch of maps is ~13 MB: allocating one per step
   * costs a garbage collection every few steps). Valid until the next call with the same key.
   */
  private scratch(key: string, n: number): Float32Array {
    let a = this.staging.get(key);
    if (!a || a.length < n) {
      a = new Float32Array(n);
      this.staging.set(key, a);
    }
    return a.length === n ? a : a.subarray(0, n);
  }
  private readonly staging = new Map<string, Float32Array>();

  add(tf: Tf, vf: VideoFeatures, label: number, file?: string): void {
    const i = this.keys.length;
    if (i >= this.capacity) throw new Error('FeatureSet is full');
    const p = applyPrep(tf, this.prep, vf, { T: this.T, file });
    this.mask.set(p.mask, i * this.T);
    for (const [name, sp] of Object.entries(this.prep.streams)) {
      if (sp.kind === 'map') {
        const N = sp.H * sp.W;
        const x = p.maps[name];
        if (this.keepMaps) {
          this.maps[name].set(x, i * this.T * N * sp.D);
          cellMeanInto(this.cellMeans[name].subarray(i * N * sp.D, (i + 1) * N * sp.D), x, p.mask);
        }
        const pooled = this.pooled[name];
        const base = i * this.T * sp.D;
        for (let t = 0; t < this.T; t++) {
          for (let n = 0; n < N; n++) {
            const off = (t * N + n) * sp.D;
            for (let c = 0; c < sp.D; c++) pooled[base + t * sp.D + c] += x[off + c] / N;
          }
        }
      } else {
        this.vectors[name].set(p.vectors[name], i * this.T * sp.D);
      }
    }
    this.keys.push(vf.meta.key);
    this.labels.push(label);
    this.snippets.push(vf.snippets);
  }

  /** Tensors for the videos at `idx` (in that order). */
  batch(tf: Tf, idx: number[], opts: BatchOptions = {}): BatchTensors {
    const { maps: withMaps = false, dropout, scoreDims = {}, mapDrop } = opts;
    const B = idx.length;
    const T = this.T;
    // the rows of the videos at idx, in that order, in a reused scratch array
    const gather = (key: string, src: Float32Array, per: number) => {
      const out = this.scratch(key, B * per);
      idx.forEach((v, j) => {
        out.set(src.subarray(v * per, (v + 1) * per), j * per);
      });
      return out;
    };
    // copies into the backend: the scratch array is free again
    const take = (key: string, src: Float32Array, per: number, shape: number[]) =>
      tf.tensor(gather(key, src, per), shape);
    const bt: BatchTensors = {
      B,
      T,
      maps: {},
      pooled: {},
      vectors: {},
      mask: take('mask', this.mask, T, [B, T]),
    };
    let stream = 0;
    for (const [name, sp] of Object.entries(this.prep.streams)) {
      if (sp.kind === 'map') {
        const N = sp.H * sp.W;
        bt.pooled[name] = take(`${name}:pooled`, this.pooled[name], T * sp.D, [B, T, sp.D]);
        if (withMaps) {
          if (!this.keepMaps) throw new Error('FeatureSet was loaded without maps');
          const per = T * N * sp.D;
          const maps = gather(`${name}:maps`, this.maps[name], per);
          // training: map dropout on this batch's copy (the cell means x̄ stay whole)
          if (mapDrop) dropInPlace(maps, B * per, mapDrop.p, (mapDrop.seed + stream++) >>> 0);
          bt.cellMeans ??= {};
          bt.cellMeans[name] = take(`${name}:cellMeans`, this.cellMeans[name], N * sp.D, [B, N, sp.D]);
          const k = scoreDims[name];
          if (k !== undefined && k < sp.D) {
            // the leading k channels of every cell, contiguous (cheaper here than a Slice kernel)
            const out = this.scratch(`${name}:scored`, B * T * N * k);
            for (let cell = 0, o = 0; cell < B * T * N; cell++, o += k)
              out.set(maps.subarray(cell * sp.D, cell * sp.D + k), o);
            bt.scored ??= {};
            bt.scored[name] = tf.tensor(out, [B, T, N, k]);
          }
          bt.maps[name] = tf.tensor(maps, [B, T, N, sp.D]); // copies: the scratch is free again
        }
      } else {
        bt.vectors[name] = take(`${name}:vectors`, this.vectors[name], T * sp.D, [B, T, sp.D]);
      }
    }
    if (dropout) bt.dropMask = tf.tensor(dropout.mask, [B, dropout.width]);
    return bt;
  }
}

/** out[i] = Σ_t m_t x[t, i] / Σ_t m_t: x [T, N·D] flattened, mask [T] (all zero: out stays 0). */
function cellMeanInto(out: Float32Array, x: Float32Array, mask: Float32Array): void {
  const per = out.length;
  const acc = new Float64Array(per);
  let real = 0;
  for (let t = 0; t < mask.length; t++) {
    if (mask[t] === 0) continue;
    real += mask[t];
    const row = x.subarray(t * per, (t + 1) * per);
    for (let j = 0; j < per; j++) acc[j] += mask[t] * row[j];
  }
  for (let j = 0; j < per; j++) out[j] = real > 0 ? acc[j] / real : 0;
}

/** What `FeatureSet.batch` puts beside the pooled maps, vectors and mask. */
export interface BatchOptions {
  /** the full maps (and cell means) for the spatial scorer; needs a set loaded with maps */
  maps?: boolean;
  /** training: inverted-dropout keep mask for z, [B × width] */
  dropout?: { mask: Float32Array; width: number };
  /** per map stream: the leading k channels its spatial scorer reads (Dfan.scoreDims) */
  scoreDims?: Record<string, number>;
  /** training: map dropout on this batch's copy of the maps */
  mapDrop?: { p: number; seed: number };
}

export function disposeBatch(b: BatchTensors): void {
  for (const t of [
    ...Object.values(b.maps),
    ...Object.values(b.scored ?? {}),
    ...Object.values(b.cellMeans ?? {}),
    ...Object.values(b.pooled),
    ...Object.values(b.vectors),
    b.mask,
    ...(b.dropMask ? [b.dropMask] : []),
    ...(b.streamMask ? [b.streamMask] : []),
  ])
    t.dispose();
}
