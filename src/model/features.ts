/**
 * Preprocessed videos in memory (FeatureSet: one contiguous array per stream, the trainer batches
 * from it) and where features come from (FeatureSource).
 */

import type * as TF from '@tensorflow/tfjs';
import type { SnippetTimes, VideoFeatures } from '../features/types.js';
import type { Tf } from './backend.js';
import { Scratch } from './engine/linalg.js';
import { dropInPlace } from './map-dropout.js';
import { applyPrep, type Prep } from './prep.js';

/** A batch as tensors. Maps are only needed by the spatial variants; the others use `pooled`. */
export interface BatchTensors {
  B: number;
  T: number;
  maps: Record<string, TF.Tensor>; // [B, T, N, D]
  /** the leading k channels of a map, for its spatial scorer, when k < D (see Dfan.scoreDims) */
  scored?: Record<string, TF.Tensor>; // [B, T, N, k]
  pooled: Record<string, TF.Tensor>; // [B, T, D]  mean over cells
  /** each cell's mean over the video's real snippets, x̄_i (computed from maps + mask when absent) */
  cellMeans?: Record<string, TF.Tensor>; // [B, N, D]
  vectors: Record<string, TF.Tensor>; // [B, T, C]
  mask: TF.Tensor; // [B, T]  1 = real snippet
  /** training only (masks.ts): inverted-dropout keep mask for z, [B, K·D_u] */
  dropMask?: TF.Tensor;
  /** training only: mixup matrix [B,B] (row b: λ_b at b, 1 − λ_b at its partner) */
  mix?: TF.Tensor;
  /** training only: whole-stream keep mask for u_t, [B, D_u] (0 = the stream is dropped for that video) */
  streamMask?: TF.Tensor;
}

/** Where features come from: a feature store folder, or (bench, tests) a generator. */
export interface FeatureSource {
  load(key: string, streams?: string[]): Promise<VideoFeatures>;
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
  private readonly staging = new Scratch();

  add(tf: Tf, vf: VideoFeatures, label: number): void {
    const i = this.keys.length;
    if (i >= this.capacity) throw new Error('FeatureSet is full');
    const p = applyPrep(tf, this.prep, vf, { T: this.T });
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
    const { maps: withMaps = false, scoreDims = {}, mapDrop } = opts;
    const B = idx.length;
    const T = this.T;
    // the rows of the videos at idx, in that order, in a reused scratch array
    const gather = (key: string, src: Float32Array, per: number) => {
      const out = this.staging.get(key, B * per);
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
            const out = this.staging.get(`${name}:scored`, B * T * N * k);
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
  /** per map stream: the leading k channels its spatial scorer reads (Dfan.scoreDims) */
  scoreDims?: Record<string, number>;
  /** training: map dropout on this batch's copy of the maps (its seed: masks.ts) */
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
    ...(b.mix ? [b.mix] : []),
  ])
    t.dispose();
}
