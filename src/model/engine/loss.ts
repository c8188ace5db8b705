/**
 * The training loss of Dfan.loss (src/model/dfan.ts) and its gradient with respect to the
 * logits, on plain arrays: mean cross-entropy against the (mixed) one-hot targets, plus
 * λ · a polarity binary cross-entropy when configured. Weight decay is added by the optimiser
 * (native adam folds it into each gradient and returns Σ θ²).
 */

export interface LossOptions {
  /** mixup matrix [B, B]: targets are M · onehot */
  mix?: Float32Array;
  /** [classes] 1 for positive classes, with the weight of the polarity loss */
  positive?: Float32Array;
  polarityWeight?: number;
}

/** Targets [B, C]: one-hot labels, mixed by M when given. */
function targets(labels: Int32Array, B: number, C: number, mix?: Float32Array): Float64Array {
  const Y = new Float64Array(B * C);
  for (let b = 0; b < B; b++) {
    if (!mix) {
      Y[b * C + labels[b]] = 1;
      continue;
    }
    for (let j = 0; j < B; j++) Y[b * C + labels[j]] += mix[b * B + j];
  }
  return Y;
}

/** Mean loss over the B rows of logits [B, C]; `dlogits` [B, C] receives its gradient. */
export function lossAndGradient(
  logits: Float32Array,
  labels: Int32Array,
  B: number,
  C: number,
  dlogits: Float32Array,
  o: LossOptions = {},
): number {
  const Y = targets(labels, B, C, o.mix);
  const w = o.polarityWeight ?? 0;
  const pos = w > 0 ? o.positive : undefined;
  const p = new Float64Array(C);
  let ce = 0;
  let bce = 0;
  for (let b = 0; b < B; b++) {
    const row = b * C;
    let mx = -Infinity;
    for (let c = 0; c < C; c++) mx = Math.max(mx, logits[row + c]);
    let sum = 0;
    for (let c = 0; c < C; c++) sum += Math.exp(logits[row + c] - mx);
    const lse = mx + Math.log(sum);
    let ySum = 0;
    for (let c = 0; c < C; c++) {
      p[c] = Math.exp(logits[row + c] - lse);
      ce -= Y[row + c] * (logits[row + c] - lse);
      ySum += Y[row + c];
    }
    for (let c = 0; c < C; c++) dlogits[row + c] = (p[c] * ySum - Y[row + c]) / B;
    if (!pos) continue;
    // p(positive) = Σ_c p_c pos_c, clipped to [1e-6, 1 − 1e-6] (no gradient where it clips)
    let raw = 0;
    let yPos = 0;
    for (let c = 0; c < C; c++) {
      raw += p[c] * pos[c];
      yPos += Y[row + c] * pos[c];
    }
    const pPos = Math.min(1 - 1e-6, Math.max(1e-6, raw));
    bce -= yPos * Math.log(pPos) + (1 - yPos) * Math.log(1 - pPos);
    if (raw < 1e-6 || raw > 1 - 1e-6) continue;
    const dp = ((-yPos / pPos + (1 - yPos) / (1 - pPos)) * w) / B;
    for (let c = 0; c < C; c++) dlogits[row + c] += dp * p[c] * (pos[c] - raw);
  }
  return ce / B + (w > 0 && pos ? (w * bce) / B : 0);
}
