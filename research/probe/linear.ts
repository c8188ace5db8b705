/**
 * Linear probes of object maps (pure maths; photos and backbones live in probe-photos.ts and
 * bench/probe.ts).
 *
 * A feature set is n labelled rows of d features with a group per row (the photo it shows): a
 * photo's composites are either all in training or all in test, so the probe measures whether
 * the map knows the class of photos it never saw. Probe = multinomial logistic regression on
 * standardised features, L2-penalised, trained by full-batch Adam from zero (deterministic).
 * Evaluation = k-fold over groups, stratified by class, repeated for several seeds:
 * accuracy per seed (every row tested once), then mean ± std over seeds.
 */
import { meanStd } from '../../src/protocol/report.js';
import { rng } from '../../src/util/random.js';

export interface FeatureSet {
  /** row-major [n, d] */
  x: Float32Array;
  n: number;
  d: number;
  /** class index per row */
  y: Int32Array;
  /** group (photo) per row: never split between training and test */
  groups: Int32Array;
  classes: string[];
}

/** A cue rectangle as fractions of the frame (x, y = top-left). */
export interface CueBox {
  x: number;
  y: number;
  w: number;
  h: number;
}

export function featureSet(
  rows: Float32Array[],
  y: number[],
  groups: number[],
  classes: string[],
): FeatureSet {
  const n = rows.length;
  const d = n ? rows[0].length : 0;
  const x = new Float32Array(n * d);
  rows.forEach((r, i) => {
    if (r.length !== d) throw new Error(`featureSet: row ${i} has ${r.length} features, expected ${d}`);
    x.set(r, i * d);
  });
  return { x, n, d, y: Int32Array.from(y), groups: Int32Array.from(groups), classes };
}

/** Mean over cells of a map [H, W, C] → [C]. */
export function meanPool(map: Float32Array, h: number, w: number, c: number): Float32Array {
  const out = new Float32Array(c);
  for (let p = 0; p < h * w; p++) for (let k = 0; k < c; k++) out[k] += map[p * c + k];
  for (let k = 0; k < c; k++) out[k] /= h * w;
  return out;
}

/**
 * Weight of each cell of an h×w grid under a cue: the fraction of the cell the cue covers
 * (the grid spans the whole frame, as when the frame is stretched to the backbone's input).
 */
export function cueWeights(cue: CueBox, h: number, w: number): Float32Array {
  const out = new Float32Array(h * w);
  for (let i = 0; i < h; i++) {
    const oy = Math.max(0, Math.min((i + 1) / h, cue.y + cue.h) - Math.max(i / h, cue.y)) * h;
    for (let j = 0; j < w; j++) {
      const ox = Math.max(0, Math.min((j + 1) / w, cue.x + cue.w) - Math.max(j / w, cue.x)) * w;
      out[i * w + j] = ox * oy;
    }
  }
  return out;
}

/** Cue-weighted mean of the cells of a map [H, W, C] → [C]: what the cells under the cue say. */
export function cuePool(map: Float32Array, h: number, w: number, c: number, cue: CueBox): Float32Array {
  const wts = cueWeights(cue, h, w);
  const out = new Float32Array(c);
  let s = 0;
  for (let p = 0; p < h * w; p++) {
    const a = wts[p];
    if (a <= 0) continue;
    s += a;
    for (let k = 0; k < c; k++) out[k] += a * map[p * c + k];
  }
  if (s > 0) for (let k = 0; k < c; k++) out[k] /= s;
  return out;
}

/** Per-feature mean and std over the given rows (std floored so constant features stay finite). */
export function standardizer(
  x: Float32Array,
  d: number,
  rows: number[],
): { mean: Float32Array; std: Float32Array } {
  const mean = new Float32Array(d);
  const sq = new Float64Array(d);
  for (const r of rows) for (let k = 0; k < d; k++) mean[k] += x[r * d + k];
  for (let k = 0; k < d; k++) mean[k] /= Math.max(1, rows.length);
  for (const r of rows)
    for (let k = 0; k < d; k++) {
      const v = x[r * d + k] - mean[k];
      sq[k] += v * v;
    }
  const std = new Float32Array(d);
  for (let k = 0; k < d; k++) std[k] = Math.sqrt(sq[k] / Math.max(1, rows.length)) + 1e-6;
  return { mean, std };
}

export interface LogRegOptions {
  /** L2 penalty on the weights (mean cross-entropy + l2/2·‖W‖²); default 1e-2 */
  l2?: number;
  /** full-batch Adam steps; default 200 */
  steps?: number;
  /** Adam learning rate; default 0.05 */
  lr?: number;
}

export interface LogReg {
  W: Float32Array; // [d, k]
  b: Float32Array; // [k]
  d: number;
  k: number;
}

/** Multinomial logistic regression on rows X [n, d] (already standardised), labels in 0..k-1. */
export function trainLogReg(
  X: Float32Array,
  y: Int32Array,
  d: number,
  k: number,
  opts: LogRegOptions = {},
): LogReg {
  const n = y.length;
  const l2 = opts.l2 ?? 1e-2;
  const steps = opts.steps ?? 200;
  const lr = opts.lr ?? 0.05;
  const W = new Float32Array(d * k);
  const b = new Float32Array(k);
  const gW = new Float32Array(d * k);
  const gb = new Float32Array(k);
  const mW = new Float32Array(d * k);
  const vW = new Float32Array(d * k);
  const mb = new Float32Array(k);
  const vb = new Float32Array(k);
  const z = new Float64Array(k);
  const b1 = 0.9;
  const b2 = 0.999;
  for (let t = 1; t <= steps; t++) {
    gW.fill(0);
    gb.fill(0);
    for (let i = 0; i < n; i++) {
      const xo = i * d;
      for (let c = 0; c < k; c++) z[c] = b[c];
      for (let j = 0; j < d; j++) {
        const v = X[xo + j];
        if (v === 0) continue;
        const wo = j * k;
        for (let c = 0; c < k; c++) z[c] += v * W[wo + c];
      }
      let m = -Infinity;
      for (let c = 0; c < k; c++) if (z[c] > m) m = z[c];
      let s = 0;
      for (let c = 0; c < k; c++) {
        z[c] = Math.exp(z[c] - m);
        s += z[c];
      }
      for (let c = 0; c < k; c++) z[c] = (z[c] / s - (c === y[i] ? 1 : 0)) / n;
      for (let c = 0; c < k; c++) gb[c] += z[c];
      for (let j = 0; j < d; j++) {
        const v = X[xo + j];
        if (v === 0) continue;
        const wo = j * k;
        for (let c = 0; c < k; c++) gW[wo + c] += v * z[c];
      }
    }
    const c1 = 1 - b1 ** t;
    const c2 = 1 - b2 ** t;
    for (let q = 0; q < d * k; q++) {
      const g = gW[q] + l2 * W[q];
      mW[q] = b1 * mW[q] + (1 - b1) * g;
      vW[q] = b2 * vW[q] + (1 - b2) * g * g;
      W[q] -= (lr * (mW[q] / c1)) / (Math.sqrt(vW[q] / c2) + 1e-8);
    }
    for (let c = 0; c < k; c++) {
      const g = gb[c];
      mb[c] = b1 * mb[c] + (1 - b1) * g;
      vb[c] = b2 * vb[c] + (1 - b2) * g * g;
      b[c] -= (lr * (mb[c] / c1)) / (Math.sqrt(vb[c] / c2) + 1e-8);
    }
  }
  return { W, b, d, k };
}

export function predictLogReg(m: LogReg, X: Float32Array): Int32Array {
  const n = X.length / m.d;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bestZ = -Infinity;
    for (let c = 0; c < m.k; c++) {
      let z = m.b[c];
      for (let j = 0; j < m.d; j++) z += X[i * m.d + j] * m.W[j * m.k + c];
      if (z > bestZ) {
        bestZ = z;
        best = c;
      }
    }
    out[i] = best;
  }
  return out;
}

/**
 * k folds over groups, stratified by class (each group's class = its first row's), seeded.
 * Returns the fold index of every row.
 */
export function groupFolds(fs: FeatureSet, k: number, seed: number): Int32Array {
  const rand = rng(seed * 7919 + 17);
  const groupClass = new Map<number, number>();
  for (let i = 0; i < fs.n; i++) if (!groupClass.has(fs.groups[i])) groupClass.set(fs.groups[i], fs.y[i]);
  const foldOf = new Map<number, number>();
  let offset = 0;
  for (let c = 0; c < fs.classes.length; c++) {
    const gs = [...groupClass].filter(([, cc]) => cc === c).map(([g]) => g);
    gs.sort((a, b) => a - b);
    for (let i = gs.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [gs[i], gs[j]] = [gs[j], gs[i]];
    }
    // continue the round-robin across classes so fold sizes stay balanced
    gs.forEach((g, i) => {
      foldOf.set(g, (i + offset) % k);
    });
    offset += gs.length;
  }
  return Int32Array.from(fs.groups, (g) => foldOf.get(g) as number);
}

/** Rows of a feature set, standardised with the statistics of `fit` rows. */
export function takeRows(
  fs: FeatureSet,
  rows: number[],
  st: { mean: Float32Array; std: Float32Array },
): { X: Float32Array; y: Int32Array } {
  const { d } = fs;
  const X = new Float32Array(rows.length * d);
  rows.forEach((r, i) => {
    for (let k = 0; k < d; k++) X[i * d + k] = (fs.x[r * d + k] - st.mean[k]) / st.std[k];
  });
  return { X, y: Int32Array.from(rows, (r) => fs.y[r]) };
}

export interface ProbeOptions extends LogRegOptions {
  /** seeds of the repeated k-fold (default [0, 1, 2]) */
  seeds?: number[];
  /** folds (default 3) */
  folds?: number;
}

export interface ProbeResult {
  /** accuracy per seed (every row predicted once, by the fold that held it out) */
  perSeed: number[];
  mean: number;
  std: number;
  /** the most frequent class's share of rows: what always answering it scores */
  chance: number;
}

export function majorityShare(y: Int32Array, k: number): number {
  const counts = new Array(k).fill(0);
  for (const c of y) counts[c]++;
  return Math.max(...counts) / Math.max(1, y.length);
}

/**
 * Any trainer over the same folds: `fit(trainRows, testRows)` returns predictions for testRows.
 * Used by the linear probe and by the attention head (bench/probe.ts).
 */
export async function crossValidate(
  fs: FeatureSet,
  fit: (train: number[], test: number[], seed: number) => Promise<Int32Array> | Int32Array,
  opts: { seeds?: number[]; folds?: number } = {},
): Promise<ProbeResult> {
  const seeds = opts.seeds ?? [0, 1, 2];
  const k = opts.folds ?? 3;
  const perSeed: number[] = [];
  for (const seed of seeds) {
    const fold = groupFolds(fs, k, seed);
    let correct = 0;
    for (let f = 0; f < k; f++) {
      const train: number[] = [];
      const test: number[] = [];
      for (let i = 0; i < fs.n; i++) {
        if (fold[i] === f) test.push(i);
        else train.push(i);
      }
      if (!test.length) continue;
      const pred = await fit(train, test, seed);
      test.forEach((r, i) => {
        if (pred[i] === fs.y[r]) correct++;
      });
    }
    perSeed.push(correct / fs.n);
  }
  return { perSeed, ...meanStd(perSeed), chance: majorityShare(fs.y, fs.classes.length) };
}

/** The linear probe: standardise on the training rows, fit, predict the held-out photos. */
export function linearProbe(fs: FeatureSet, opts: ProbeOptions = {}): Promise<ProbeResult> {
  return crossValidate(
    fs,
    (train, test) => {
      const st = standardizer(fs.x, fs.d, train);
      const tr = takeRows(fs, train, st);
      const te = takeRows(fs, test, st);
      const m = trainLogReg(tr.X, tr.y, fs.d, fs.classes.length, opts);
      return predictLogReg(m, te.X);
    },
    opts,
  );
}

/** The same rows with labels permuted among groups (a control: the probe must fall to chance). */
export function shuffledLabels(fs: FeatureSet, seed: number): FeatureSet {
  const rand = rng(seed * 104729 + 3);
  const gs = [...new Set(fs.groups)].sort((a, b) => a - b);
  const labelOf = new Map<number, number>();
  for (let i = 0; i < fs.n; i++) labelOf.set(fs.groups[i], fs.y[i]);
  const labels = gs.map((g) => labelOf.get(g) as number);
  for (let i = labels.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [labels[i], labels[j]] = [labels[j], labels[i]];
  }
  const newLabel = new Map(gs.map((g, i) => [g, labels[i]]));
  return { ...fs, y: Int32Array.from(fs.groups, (g) => newLabel.get(g) as number) };
}
