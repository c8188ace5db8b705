/**
 * Ridge regression onto one-hot labels, in closed form through the n×n kernel: standardisation,
 * an SPD inverse, exact leave-one-out accuracy and a fitted classifier. Small n (tens to hundreds of
 * videos) and any number of channels: the cost is one n×n Cholesky per λ. Used by the stream
 * check (src/model/stream-check.ts) and the demo's cue ceiling (src/demo/cue-ceiling.ts).
 */

/** Per-channel mean and standard deviation of training rows; `apply` standardises any row with them. */
export interface Standardiser {
  mean: Float64Array;
  sd: Float64Array;
  apply(row: ArrayLike<number>): Float64Array;
}

export function fitStandardiser(rows: ArrayLike<number>[]): Standardiser {
  const n = rows.length;
  const D = rows[0]?.length ?? 0;
  const mean = new Float64Array(D);
  const sd = new Float64Array(D);
  for (const r of rows) for (let c = 0; c < D; c++) mean[c] += r[c] / n;
  for (const r of rows) for (let c = 0; c < D; c++) sd[c] += (r[c] - mean[c]) ** 2 / n;
  for (let c = 0; c < D; c++) sd[c] = Math.sqrt(sd[c]);
  return {
    mean,
    sd,
    apply: (r) => Float64Array.from({ length: D }, (_, c) => (sd[c] > 1e-6 ? (r[c] - mean[c]) / sd[c] : 0)),
  };
}

/** Per-video mean over real snippets of a vector stream, standardised per channel: [n × D]. */
export function standardisedMeans(rows: Float64Array[]): Float64Array[] {
  const st = fitStandardiser(rows);
  return rows.map((r) => st.apply(r));
}

/** Inverse of a symmetric positive-definite matrix (row-major n×n) by Cholesky. */
export function spdInverse(A: Float64Array, n: number): Float64Array {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * n + j];
      for (let k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
      if (i === j) {
        if (s <= 0) throw new Error('matrix is not positive definite');
        L[i * n + i] = Math.sqrt(s);
      } else L[i * n + j] = s / L[j * n + j];
    }
  }
  // inverse of L (lower triangular), then A⁻¹ = L⁻ᵀ L⁻¹
  const Li = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    Li[i * n + i] = 1 / L[i * n + i];
    for (let j = 0; j < i; j++) {
      let s = 0;
      for (let k = j; k < i; k++) s += L[i * n + k] * Li[k * n + j];
      Li[i * n + j] = -s / L[i * n + i];
    }
  }
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = i; k < n; k++) s += Li[k * n + i] * Li[k * n + j];
      inv[i * n + j] = s;
      inv[j * n + i] = s;
    }
  }
  return inv;
}

/**
 * Leave-one-out accuracy of ridge regression onto one-hot labels (argmax = the class), exact:
 * with A = XXᵀ + λI, the held-out residual of video i is (A⁻¹Y)_i / (A⁻¹)_ii. X is centred (the
 * intercept). For each labelling in `labellings`: the best accuracy over `lambdas` (multiples of
 * the mean squared norm; not below 1: with more channels than videos a near-interpolating fit
 * scores above chance on shuffled labels, 34 % median for 4 classes, 96 videos, 400 channels). A⁻¹ depends on X only, so extra labellings (permutations) are cheap.
 */
export function ridgeLooAccuracies(
  X: Float64Array[],
  labellings: number[][],
  classes: number,
  lambdas = [1, 10, 100],
): number[] {
  const n = X.length;
  const best = labellings.map(() => 0);
  if (n < 3) return best;
  const { K, scale } = gram(X);
  const singles = Array.from({ length: n }, (_, i) => [i]);
  for (const l of lambdas) {
    const inv = ridgeInverse(K, n, l * scale);
    labellings.forEach((labels, li) => {
      best[li] = Math.max(best[li], heldOutAccuracy(inv, n, labels, classes, singles));
    });
  }
  return best;
}

/**
 * Rows grouped by a key (e.g. the photo a video shows): the indices of each group, in first-seen
 * order. Leaving a group out keeps a held-out score from leaning on a near copy of the row.
 */
export function groupIndices(keys: readonly string[]): number[][] {
  const at = new Map<string, number[]>();
  keys.forEach((k, i) => {
    const g = at.get(k);
    if (g) g.push(i);
    else at.set(k, [i]);
  });
  return [...at.values()];
}

/** (K + ridge·I)⁻¹ for a row-major n×n Gram matrix K (K is not changed). */
function ridgeInverse(K: Float64Array, n: number, ridge: number): Float64Array {
  const A = Float64Array.from(K);
  for (let i = 0; i < n; i++) A[i * n + i] += ridge;
  return spdInverse(A, n);
}

/**
 * Held-out accuracy, each group of rows left out in turn, exact for kernel ridge with
 * inv = (XXᵀ + λI)⁻¹ and targets Y centred by the class rates: the held-out residuals of group G
 * are (A⁻¹_GG)⁻¹ (A⁻¹Y)_G, which for a single row i is (A⁻¹Y)_i / (A⁻¹)_ii.
 */
function heldOutAccuracy(
  inv: Float64Array,
  n: number,
  labels: number[],
  classes: number,
  groups: number[][],
): number {
  const prior = new Float64Array(classes);
  for (const y of labels) prior[y] += 1 / n;
  // R = A⁻¹ (Y − prior), n × classes
  const R = new Float64Array(n * classes);
  for (let i = 0; i < n; i++) {
    let rowSum = 0;
    for (let j = 0; j < n; j++) {
      R[i * classes + labels[j]] += inv[i * n + j];
      rowSum += inv[i * n + j];
    }
    for (let c = 0; c < classes; c++) R[i * classes + c] -= prior[c] * rowSum;
  }
  let ok = 0;
  for (const g of groups) {
    const m = g.length;
    const B = new Float64Array(m * m);
    for (let p = 0; p < m; p++) for (let q = 0; q < m; q++) B[p * m + q] = inv[g[p] * n + g[q]];
    const Binv = m === 1 ? Float64Array.of(1 / B[0]) : spdInverse(B, m);
    for (let p = 0; p < m; p++) {
      const i = g[p];
      let arg = 0;
      let top = -Infinity;
      for (let c = 0; c < classes; c++) {
        let resid = 0;
        for (let q = 0; q < m; q++) resid += Binv[p * m + q] * R[g[q] * classes + c];
        const held = (labels[i] === c ? 1 : 0) - resid;
        if (held > top) {
          top = held;
          arg = c;
        }
      }
      if (arg === labels[i]) ok++;
    }
  }
  return ok / n;
}

/** Gram matrix XXᵀ (row-major n×n) and its mean diagonal (the scale of λ). */
function gram(X: Float64Array[]): { K: Float64Array; scale: number } {
  const n = X.length;
  const K = new Float64Array(n * n);
  let trace = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let c = 0; c < X[i].length; c++) s += X[i][c] * X[j][c];
      K[i * n + j] = s;
      K[j * n + i] = s;
    }
    trace += K[i * n + i];
  }
  return { K, scale: Math.max(trace / Math.max(1, n), 1e-9) };
}

export interface RidgeClassifier {
  /** λ as a multiple of the mean squared norm of the training rows */
  lambda: number;
  /** exact held-out accuracy on the training rows at that λ (leave one row, or one group, out) */
  looAccuracy: number;
  /** the class of a row (standardised like the training rows) */
  predict(row: ArrayLike<number>): number;
}

/**
 * Ridge classifier on centred rows X (one-hot targets centred by the class rates, kernel form),
 * λ chosen among `lambdas` by exact held-out accuracy (ties: the larger λ, the smoother fit): each
 * row left out in turn, or each group of `groups` (indices into X) when given.
 */
export function fitRidgeClassifier(
  X: Float64Array[],
  labels: number[],
  classes: number,
  lambdas = [0.3, 1, 3, 10],
  groups?: number[][],
): RidgeClassifier {
  const n = X.length;
  if (n < 3) throw new Error(`a ridge classifier needs at least 3 rows (got ${n})`);
  const held = groups ?? Array.from({ length: n }, (_, i) => [i]);
  const { K, scale } = gram(X);
  let lambda = lambdas[0];
  let looAccuracy = -1;
  let inv: Float64Array = new Float64Array(0);
  for (const l of lambdas) {
    const invL = ridgeInverse(K, n, l * scale);
    const acc = heldOutAccuracy(invL, n, labels, classes, held);
    if (acc >= looAccuracy) {
      looAccuracy = acc;
      lambda = l;
      inv = invL;
    }
  }
  const prior = new Float64Array(classes);
  for (const y of labels) prior[y] += 1 / n;
  // dual coefficients a = A⁻¹ (Y − prior), then the primal weights W = Xᵀ a  [D × classes]
  const D = X[0].length;
  const W = new Float64Array(D * classes);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < classes; c++) {
      let a = 0;
      for (let j = 0; j < n; j++) a += inv[i * n + j] * ((labels[j] === c ? 1 : 0) - prior[c]);
      for (let d = 0; d < D; d++) W[d * classes + c] += X[i][d] * a;
    }
  }
  return {
    lambda,
    looAccuracy,
    predict(row) {
      let arg = 0;
      let top = -Infinity;
      for (let c = 0; c < classes; c++) {
        let s = prior[c];
        for (let d = 0; d < D; d++) s += row[d] * W[d * classes + c];
        if (s > top) {
          top = s;
          arg = c;
        }
      }
      return arg;
    },
  };
}
