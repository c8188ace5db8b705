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
import { rng } from '../data/splits.js';
import { loadTf } from '../model/backend.js';

export interface HeadOptions {
  hidden?: number;
  epochs?: number;
  batch?: number;
  lr?: number;
  /** L2 on W and V */
  l2?: number;
  seed?: number;
}

export interface HeadResult {
  pred: Int32Array;
  /** per test row: the cell the focus peaks on */
  peak: Int32Array;
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
  const epochs = opts.epochs ?? 40;
  const batch = opts.batch ?? 32;
  const l2 = opts.l2 ?? 1e-3;
  const rand = rng((opts.seed ?? 0) * 31 + 5);
  // per-channel standardisation over the training cells
  const mean = new Float32Array(C);
  const sq = new Float64Array(C);
  for (const r of train) for (let p = 0; p < N; p++) for (let c = 0; c < C; c++) mean[c] += maps[(r * N + p) * C + c];
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
      for (let q = 0; q < N * C; q++) out[dst + q] = (maps[src + q] - mean[q % C]) * inv[q % C];
    });
    return out;
  };
  const gauss = (n: number, s: number) => {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const u = Math.max(1e-12, rand());
      out[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand()) * s;
    }
    return out;
  };
  const W = tf.variable(tf.tensor2d(gauss(C * hidden, Math.sqrt(1 / C)), [C, hidden]));
  const b = tf.variable(tf.zeros([hidden]));
  const v = tf.variable(tf.tensor2d(gauss(hidden, 0.1), [hidden, 1]));
  const V = tf.variable(tf.tensor2d(gauss(C * K, 0.01), [C, K]));
  const c0 = tf.variable(tf.zeros([K]));
  const forward = (x: import('@tensorflow/tfjs').Tensor3D) => {
    const B = x.shape[0];
    const flat = x.reshape([B * N, C]);
    const e = tf.tanh(flat.matMul(W).add(b)).matMul(v).reshape([B, N]);
    const alpha = tf.softmax(e, -1); // [B, N]
    const pooled = alpha.reshape([B, 1, N]).matMul(x).reshape([B, C]);
    return { logits: pooled.matMul(V).add(c0), alpha };
  };
  const opt = tf.train.adam(opts.lr ?? 3e-3);
  const order = [...train];
  for (let ep = 0; ep < epochs; ep++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (let s = 0; s < order.length; s += batch) {
      const rows = order.slice(s, s + batch);
      const xb = tf.tensor3d(rowsOf(rows), [rows.length, N, C]);
      const yb = tf.oneHot(tf.tensor1d(Int32Array.from(rows, (r) => y[r]), 'int32'), K);
      opt.minimize(() => {
        const { logits } = forward(xb);
        const ce = tf.losses.softmaxCrossEntropy(yb, logits);
        return ce.add(tf.sum(tf.square(W)).add(tf.sum(tf.square(V))).mul(l2 / 2)) as import('@tensorflow/tfjs').Scalar;
      });
      xb.dispose();
      yb.dispose();
    }
  }
  const pred = new Int32Array(test.length);
  const peak = new Int32Array(test.length);
  for (let s = 0; s < test.length; s += batch) {
    const rows = test.slice(s, s + batch);
    const [lg, al] = tf.tidy(() => {
      const { logits, alpha } = forward(tf.tensor3d(rowsOf(rows), [rows.length, N, C]));
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
