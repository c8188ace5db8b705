/**
 * Which vector streams carry the label, on a training set too small for a validation set.
 *
 * On a few dozen videos every extra stream is something to memorise: a linear classifier on a
 * 400-channel context vector separates 96 training videos whatever their labels, the loss goes
 * to zero through that stream, and the spatial and temporal focus on the map stream stop
 * learning (on the real-imagery focus set, all four default-pack streams stayed at chance while
 * the object map alone reached 40–44 %, docs/model.md). Without a validation set, the check asks
 * each vector stream the question a validation set would: does its video-level mean predict the
 * label of a video it was not fitted on? Leave-one-out accuracy of a ridge classifier, exact in
 * closed form (one n×n solve per λ), against the same accuracy under 99 shuffles of the labels
 * (a permutation test at 5 %). Map streams are always kept: their cue can be too small for any mean to show it, and
 * finding it is what the spatial focus is for.
 */

export interface StreamCheck {
  stream: string;
  /** leave-one-out accuracy of a ridge classifier on the stream's video means (best λ) */
  looAccuracy: number;
  /** the rate to beat: the 95th percentile of the same accuracy under shuffled labels (≥ the majority rate) */
  threshold: number;
  kept: boolean;
}

/** Per-video mean over real snippets of a vector stream, standardised per channel: [n × D]. */
export function standardisedMeans(rows: Float64Array[]): Float64Array[] {
  const n = rows.length;
  const D = rows[0]?.length ?? 0;
  const mu = new Float64Array(D);
  const sd = new Float64Array(D);
  for (const r of rows) for (let c = 0; c < D; c++) mu[c] += r[c] / n;
  for (const r of rows) for (let c = 0; c < D; c++) sd[c] += (r[c] - mu[c]) ** 2 / n;
  return rows.map((r) =>
    Float64Array.from(r, (v, c) => (sd[c] > 1e-12 ? (v - mu[c]) / Math.sqrt(sd[c]) : 0)),
  );
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
  const K = new Float64Array(n * n);
  let trace = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      const a = X[i];
      const b = X[j];
      for (let c = 0; c < a.length; c++) s += a[c] * b[c];
      K[i * n + j] = s;
      K[j * n + i] = s;
    }
    trace += K[i * n + i];
  }
  const scale = Math.max(trace / n, 1e-9);
  const r = new Float64Array(classes);
  for (const l of lambdas) {
    const A = Float64Array.from(K);
    for (let i = 0; i < n; i++) A[i * n + i] += l * scale;
    const inv = spdInverse(A, n);
    labellings.forEach((labels, li) => {
      const prior = new Float64Array(classes);
      for (const y of labels) prior[y] += 1 / n;
      let ok = 0;
      for (let i = 0; i < n; i++) {
        // (A⁻¹ Y)_i with Y centred by the class rates
        r.fill(0);
        for (let j = 0; j < n; j++) r[labels[j]] += inv[i * n + j];
        let rowSum = 0;
        for (let j = 0; j < n; j++) rowSum += inv[i * n + j];
        let arg = 0;
        let top = -Infinity;
        for (let c = 0; c < classes; c++) {
          const resid = r[c] - prior[c] * rowSum;
          const y = (labels[i] === c ? 1 : 0) - prior[c];
          const held = y - resid / inv[i * n + i] + prior[c];
          if (held > top) {
            top = held;
            arg = c;
          }
        }
        if (arg === labels[i]) ok++;
      }
      best[li] = Math.max(best[li], ok / n);
    });
  }
  return best;
}

/** Seeded Fisher–Yates permutations of `labels`. */
export function permutations(labels: number[], count: number, seed: number): number[][] {
  let s = seed >>> 0 || 1;
  const random = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  return Array.from({ length: count }, () => {
    const p = [...labels];
    for (let i = p.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [p[i], p[j]] = [p[j], p[i]];
    }
    return p;
  });
}

/**
 * Check every vector stream: `means[stream]` holds each training video's mean vector (same order
 * as `labels`). A stream is kept when its leave-one-out accuracy beats that of all but 5 % of
 * `nullDraws` label permutations (a permutation test: it holds whatever the clustering of the
 * videos, e.g. many videos cut from the same footage) and the majority-class rate.
 */
export function checkVectorStreams(
  means: Record<string, Float64Array[]>,
  labels: number[],
  classes: number,
  opts: { nullDraws?: number; seed?: number } = {},
): StreamCheck[] {
  const draws = opts.nullDraws ?? 99;
  const perms = permutations(labels, draws, opts.seed ?? 1);
  const counts = new Array<number>(classes).fill(0);
  for (const y of labels) counts[y]++;
  const majority = Math.max(...counts) / Math.max(1, labels.length);
  return Object.entries(means).map(([stream, rows]) => {
    const [looAccuracy, ...nulls] = ridgeLooAccuracies(standardisedMeans(rows), [labels, ...perms], classes);
    nulls.sort((a, b) => a - b);
    const q = nulls[Math.min(nulls.length - 1, Math.ceil(0.95 * nulls.length) - 1)] ?? majority;
    const threshold = Math.max(q, majority);
    return { stream, looAccuracy, threshold, kept: looAccuracy > threshold };
  });
}

/** One log line for the verdicts. */
export function describeChecks(checks: StreamCheck[], n: number): string {
  const parts = checks.map(
    (c) =>
      `${c.stream} ${(100 * c.looAccuracy).toFixed(1)} % vs ${(100 * c.threshold).toFixed(1)} % → ${c.kept ? 'kept' : 'left out'}`,
  );
  return `stream check (no validation set): leave-one-out accuracy of each vector stream's video means on ${n} training videos vs the 95th percentile under shuffled labels; a stream no better than chance is left out, map streams are always kept (--no-stream-check keeps all): ${parts.join('; ')}`;
}
