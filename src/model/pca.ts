/**
 * The principal subspace of a map's cells, for the load-time reduction (prep.ts): subspace
 * iteration on the sample covariance, then a Rayleigh–Ritz rotation so that the basis columns are
 * the principal directions in decreasing variance (the spatial scorer reads only the leading ones).
 */

import { type Tf, tidyValue } from './backend.js';

/** The rows minus their mean, as one row-major matrix [m, C] (what both functions below read). */
export function centredRows(rows: Float32Array[], mean: Float32Array): Float32Array {
  const C = mean.length;
  const X = new Float32Array(rows.length * C);
  rows.forEach((r, i) => {
    for (let c = 0; c < C; c++) X[i * C + c] = r[c] - mean[c];
  });
  return X;
}

/** Orthonormal basis [C, D] of the top-D principal subspace of centred rows X [m, C]: subspace iteration. */
export function principalSubspace(tf: Tf, X: Float32Array, C: number, D: number, random: () => number) {
  const m = X.length / C;
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

/** Root mean square of centred rows X [m, C] after projection on the basis [C, D]. */
export function projectedRms(tf: Tf, X: Float32Array, C: number, basis: Float32Array, D: number): number {
  const m = X.length / C;
  const ms = tidyValue(
    tf,
    () => tf.mean(tf.square(tf.matMul(tf.tensor2d(X, [m, C]), tf.tensor2d(basis, [C, D])))).dataSync()[0],
  );
  return Math.sqrt(ms) || 1;
}
