/**
 * A small DFAN-style head for probing maps in the small-cue setting: it is given every cell of
 * the map and has to find the cue itself.
 *
 *   cells X [N, C] (standardised) ─► e_i = vᵀ tanh(W x_i + b)  ─► α = softmax_i(e)
 *                                 ─► x̂ = Σ α_i x_i ─► logits = V x̂ + c
 *
 * That is DFAN's spatial focus (without the snippet context g_t) and its linear classifier, on
 * one frame (T = 1). Trained with Adam on tfjs-wasm, seeded (init and batch order).
 */

import { loadTf } from '../../src/model/backend.js';
import { rng } from '../../src/util/random.js';

export interface HeadOptions {
  hidden?: number;
  epochs?: number;
  batch?: number;
  lr?: number;
  /** L2 on W and V */
  l2?: number;
  seed?: number;
  /** principal components the cells are reduced to first (default 64) */
  reduce?: number;
}

export interface HeadResult {
  pred: Int32Array;
  /** per test row: the cell the focus peaks on */
  peak: Int32Array;
}

type Tf = Awaited<ReturnType<typeof loadTf>>;

/**
 * Top-`D` principal directions of rows X [m, C] (already centred), by subspace iteration on
 * XᵀX: the map reduction dfan applies at load time (src/model/prep.ts) keeps the head small.
 */
function pcaBasis(
  tf: Tf,
  X: Float32Array,
  m: number,
  C: number,
  D: number,
  rand: () => number,
): Float32Array {
  const S = tf.tidy(() => {
    const x = tf.tensor2d(X, [m, C]);
    return tf.matMul(x, x, true, false);
  });
  let Q: Float32Array = Float32Array.from({ length: C * D }, () => rand() - 0.5);
  for (let it = 0; it < 8; it++) {
    const Z = tf.tidy(() => tf.matMul(S, tf.tensor2d(Q, [C, D])).dataSync() as Float32Array);
    // Gram-Schmidt on the columns of Z [C, D]
    for (let j = 0; j < D; j++) {
      for (let i = 0; i < j; i++) {
        let dot = 0;
        for (let r = 0; r < C; r++) dot += Z[r * D + i] * Z[r * D + j];
        for (let r = 0; r < C; r++) Z[r * D + j] -= dot * Z[r * D + i];
      }
      let nrm = 0;
      for (let r = 0; r < C; r++) nrm += Z[r * D + j] ** 2;
      nrm = Math.sqrt(nrm) || 1;
      for (let r = 0; r < C; r++) Z[r * D + j] /= nrm;
    }
    Q = Z;
  }
  S.dispose();
  return Q;
}

/** rows [m, C] · Q [C, D] → [m, D], in chunks. */
function project(tf: Tf, X: Float32Array, m: number, C: number, Q: Float32Array, D: number): Float32Array {
  const out = new Float32Array(m * D);
  const q = tf.tensor2d(Q, [C, D]);
  for (let s = 0; s < m; s += 4096) {
    const e = Math.min(m, s + 4096);
    const y = tf.tidy(() => tf.matMul(tf.tensor2d(X.subarray(s * C, e * C), [e - s, C]), q).dataSync());
    out.set(y, s * D);
  }
  q.dispose();
  return out;
}

/**
 * maps: [n, N, C] row-major (cells channels-last). Trains on `train` rows, predicts `test` rows.
 */
export async function trainAttentionHead(
  maps: Float32Array,
  N: number,
  C: number,
  y: Int32Array,
  K: number,
  train: number[],
  test: number[],
  opts: HeadOptions = {},
): Promise<HeadResult> {
  const tf = await loadTf();
  const hidden = opts.hidden ?? 16;
  const epochs = opts.epochs ?? 15;
  const batch = opts.batch ?? 32;
  const l2 = opts.l2 ?? 1e-3;
  const rand = rng((opts.seed ?? 0) * 31 + 5);
  // per-channel standardisation over the training cells
  const mean = new Float32Array(C);
  const sq = new Float64Array(C);
  for (const r of train)
    for (let p = 0; p < N; p++) for (let c = 0; c < C; c++) mean[c] += maps[(r * N + p) * C + c];
  for (let c = 0; c < C; c++) mean[c] /= train.length * N;
  for (const r of train)
    for (let p = 0; p < N; p++)
      for (let c = 0; c < C; c++) {
        const v = maps[(r * N + p) * C + c] - mean[c];
        sq[c] += v * v;
      }
  const inv = new Float32Array(C);
  for (let c = 0; c < C; c++) inv[c] = 1 / (Math.sqrt(sq[c] / (train.length * N)) + 1e-6);
  const rowsOf = (rows: number[]): Float32Array => {
    const out = new Float32Array(rows.length * N * C);
    rows.forEach((r, i) => {
      const src = r * N * C;
      const dst = i * N * C;
      for (let p = 0; p < N; p++)
        for (let c = 0; c < C; c++) out[dst + p * C + c] = (maps[src + p * C + c] - mean[c]) * inv[c];
    });
    return out;
  };
  // standardised once, then reduced to the training cells' top principal components (each
  // scaled to unit variance); batches are copies of its rows
  let trainX = rowsOf(train);
  let testX = rowsOf(test);
  const D = Math.min(C, opts.reduce ?? 64);
  if (D < C) {
    const m = train.length * N;
    const take = Math.min(m, 3000);
    const sample = new Float32Array(take * C);
    for (let i = 0; i < take; i++) {
      const r = Math.floor(rand() * m);
      sample.set(trainX.subarray(r * C, (r + 1) * C), i * C);
    }
    const Q = pcaBasis(tf, sample, take, C, D, rand);
    trainX = project(tf, trainX, m, C, Q, D);
    testX = project(tf, testX, test.length * N, C, Q, D);
    const sd = new Float64Array(D);
    for (let i = 0; i < m; i++) for (let j = 0; j < D; j++) sd[j] += trainX[i * D + j] ** 2;
    for (let j = 0; j < D; j++) sd[j] = Math.sqrt(sd[j] / m) + 1e-6;
    for (const X of [trainX, testX]) for (let i = 0; i < X.length; i++) X[i] /= sd[i % D];
  }
  const Cx = D;
  const per = N * Cx;
  const gauss = (n: number, s: number) => {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const u = Math.max(1e-12, rand());
      out[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand()) * s;
    }
    return out;
  };
  const W = tf.variable(tf.tensor2d(gauss(Cx * hidden, Math.sqrt(1 / Cx)), [Cx, hidden]));
  const b = tf.variable(tf.zeros([hidden]));
  const v = tf.variable(tf.tensor2d(gauss(hidden, 0.1), [hidden, 1]));
  const V = tf.variable(tf.tensor2d(gauss(Cx * K, 0.01), [Cx, K]));
  const c0 = tf.variable(tf.zeros([K]));
  const forward = (x: import('@tensorflow/tfjs').Tensor3D) => {
    const B = x.shape[0];
    const flat = x.reshape([B * N, Cx]);
    const e = tf.tanh(flat.matMul(W).add(b)).matMul(v).reshape([B, N]);
    const alpha = tf.softmax(e, -1); // [B, N]
    const pooled = alpha.reshape([B, 1, N]).matMul(x).reshape([B, Cx]);
    return { logits: pooled.matMul(V).add(c0), alpha };
  };
  const opt = tf.train.adam(opts.lr ?? 3e-3);
  const order = train.map((_, i) => i);
  for (let ep = 0; ep < epochs; ep++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (let s = 0; s < order.length; s += batch) {
      const rows = order.slice(s, s + batch);
      const xs = new Float32Array(rows.length * per);
      rows.forEach((r, i) => {
        xs.set(trainX.subarray(r * per, (r + 1) * per), i * per);
      });
      const xb = tf.tensor3d(xs, [rows.length, N, Cx]);
      const yb = tf.oneHot(
        tf.tensor1d(
          Int32Array.from(rows, (r) => y[train[r]]),
          'int32',
        ),
        K,
      );
      opt.minimize(() => {
        const { logits } = forward(xb);
        const ce = tf.losses.softmaxCrossEntropy(yb, logits);
        return ce.add(
          tf
            .sum(tf.square(W))
            .add(tf.sum(tf.square(V)))
            .mul(l2 / 2),
        ) as import('@tensorflow/tfjs').Scalar;
      });
      xb.dispose();
      yb.dispose();
    }
  }
  const pred = new Int32Array(test.length);
  const peak = new Int32Array(test.length);
  for (let s = 0; s < test.length; s += batch) {
    const nb = Math.min(batch, test.length - s);
    const [lg, al] = tf.tidy(() => {
      const { logits, alpha } = forward(tf.tensor3d(testX.subarray(s * per, (s + nb) * per), [nb, N, Cx]));
      return [logits.argMax(-1), alpha.argMax(-1)];
    });
    pred.set(await lg.data(), s);
    peak.set(await al.data(), s);
    lg.dispose();
    al.dispose();
  }
  opt.dispose();
  for (const t of [W, b, v, V, c0]) t.dispose();
  return { pred, peak };
}
