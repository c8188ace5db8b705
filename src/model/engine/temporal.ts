/**
 * The temporal focus on the native kernels, forward and backward: the same maths as TemporalFocus
 * (src/model/dfan.ts) over the snippet vectors u [B·T, D_u],
 *   β_k = softmax_t(v_kᵀ tanh(Q u_t [− μ ⊙ mean_t Q u_t] + q) [+ Σ_s γ_s ε_st]),
 * padded snippets (mask 0) getting β = 0; or, without a temporal focus (variants mean, spatial),
 * β = the mean over the real snippets. The options (heads, focus contrast, evidence streams) are
 * the resolved architecture's, as for the tfjs unit.
 */
import type { TemporalOptions } from '../architecture.js';
import { mm, type Scratch, view } from './linalg.js';
import type { NativeKernels } from './native.js';
import { type Params, param } from './params.js';

const TANH = 2;

/** One batch through the temporal focus: the kernels, buffers, options and the snippet mask. */
export interface TemporalCall {
  nk: NativeKernels;
  sc: Scratch;
  o: TemporalOptions;
  B: number;
  T: number;
  mask: Float32Array; // [B, T] 1 = real snippet
}

/** What the forward pass keeps for the backward pass. */
export interface TemporalSaved {
  beta: Float32Array; // [B, K, T]
  hT: Float32Array; // [B·T, h] tanh(Q u_t [− μ ⊙ avg_b] + q)
  avg: Float32Array | null; // [B, h] mean_t Q u_t over real snippets (focus contrast)
}

/** Without a temporal focus: β [B, 1, T] = the mean over each video's real snippets. */
export function meanOverSnippets(sc: Scratch, B: number, T: number, mask: Float32Array): Float32Array {
  const beta = sc.get('beta', B * T);
  for (let v = 0; v < B; v++) {
    const n = realSnippets(mask, v, T);
    for (let t = 0; t < T; t++) beta[v * T + t] = mask[v * T + t] / n;
  }
  return beta;
}

/** β from u [B·T, D_u] and each evidence stream's ε [B·T] (the spatial focus's log-mean-exp). */
export function temporalForward(
  c: TemporalCall,
  p: Params,
  u: Float32Array,
  evidence: Record<string, Float32Array>,
): TemporalSaved {
  const { nk, sc, o, B, T, mask } = c;
  const BT = B * T;
  const { hidden: Ht, heads: K, width: Du } = o;
  const hT = sc.get('hT', BT * Ht);
  mm(nk, view(hT, BT, Ht), view(u, BT, Du), view(param(p, 'temporal.Q'), Du, Ht));
  let avg: Float32Array | null = null;
  if (o.focusContrast) {
    // Q u_t − μ ⊙ mean_t Q u_t over the video's real snippets
    const mu = param(p, 'temporal.mu');
    avg = sc.get('avg', B * Ht, true);
    for (let v = 0; v < B; v++) {
      const cnt = Math.max(1, realSnippets(mask, v, T));
      for (let t = 0; t < T; t++) {
        const m = mask[v * T + t];
        if (m) for (let j = 0; j < Ht; j++) avg[v * Ht + j] += (m * hT[(v * T + t) * Ht + j]) / cnt;
      }
      for (let t = 0; t < T; t++)
        for (let j = 0; j < Ht; j++) hT[(v * T + t) * Ht + j] -= mu[j] * avg[v * Ht + j];
    }
  }
  nk.biasAct(hT, 0, BT, Ht, Ht, param(p, 'temporal.q'), TANH);
  const scores = sc.get('scores', BT * K);
  mm(nk, view(scores, BT, K), view(hT, BT, Ht), view(param(p, 'temporal.v'), Ht, K));
  // the spatial focus's own evidence that a snippet holds a cue: γ_s · ε_st, in o.evidence order
  const ev = o.evidence.map((s) => ({
    lse: evidenceOf(evidence, s),
    gamma: param(p, `temporal.gamma.${s}`)[0],
  }));
  const beta = sc.get('beta', B * K * T);
  const s = new Float64Array(T);
  for (let v = 0; v < B; v++) {
    for (let k = 0; k < K; k++) {
      let mx = -Infinity;
      for (let t = 0; t < T; t++) {
        const bt = v * T + t;
        let e = scores[bt * K + k];
        for (const x of ev) e += x.gamma * x.lse[bt];
        s[t] = e + (mask[bt] - 1) * 1e9; // padded snippets → β = 0
        mx = Math.max(mx, s[t]);
      }
      let sum = 0;
      for (let t = 0; t < T; t++) sum += Math.exp(s[t] - mx);
      for (let t = 0; t < T; t++) beta[(v * K + k) * T + t] = Math.exp(s[t] - mx) / sum;
    }
  }
  return { beta, hT, avg };
}

/**
 * Backward of the last forward pass, given dL/dβ [B, K, T]: the focus's parameter gradients into
 * `g`, its share of dL/du added to `du` [B·T, D_u]; returns dL/dε_s [B·T] per evidence stream.
 */
export function temporalBackward(
  c: TemporalCall,
  saved: TemporalSaved,
  p: Params,
  g: Params,
  u: Float32Array,
  du: Float32Array,
  dbeta: Float32Array,
  evidence: Record<string, Float32Array>,
): Record<string, Float32Array> {
  const { nk, sc, o, B, T } = c;
  const BT = B * T;
  const { hidden: Ht, heads: K, width: Du } = o;
  const { beta, hT } = saved;
  // softmax over t: dscore = β (dβ − Σ_t β dβ), as [B·T, K]; dev: its sum over heads [B·T]
  const dscores = sc.get('dscores', BT * K);
  const dev = sc.get('dev', BT, true);
  for (let v = 0; v < B; v++) {
    for (let k = 0; k < K; k++) {
      const row = (v * K + k) * T;
      let s = 0;
      for (let t = 0; t < T; t++) s += beta[row + t] * dbeta[row + t];
      for (let t = 0; t < T; t++) {
        const ds = beta[row + t] * (dbeta[row + t] - s);
        dscores[(v * T + t) * K + k] = ds;
        dev[v * T + t] += ds;
      }
    }
  }
  const V = param(p, 'temporal.v');
  mm(nk, view(param(g, 'temporal.v'), Ht, K), view(hT, BT, Ht), view(dscores, BT, K), { tA: true });
  const dq = sc.get('dq', BT * Ht);
  mm(nk, view(dq, BT, Ht), view(dscores, BT, K), view(V, Ht, K), { tB: true });
  nk.actGrad(dq, hT, 0, BT, Ht, Ht, TANH);
  nk.colSum(dq, 0, BT, Ht, Ht, param(g, 'temporal.q'), 0);
  if (o.focusContrast) contrastBackward(c, saved, p, g, dq);
  const Q = param(p, 'temporal.Q');
  mm(nk, view(param(g, 'temporal.Q'), Du, Ht), view(u, BT, Du), view(dq, BT, Ht), { tA: true });
  mm(nk, view(du, BT, Du), view(dq, BT, Ht), view(Q, Du, Ht), { tB: true, accumulate: true });
  // the score got γ_s · ε_st: dγ_s = Σ dev ε_s, dε_s = γ_s dev
  const dlse: Record<string, Float32Array> = {};
  for (const s of o.evidence) {
    const lse = evidenceOf(evidence, s);
    const gamma = param(p, `temporal.gamma.${s}`)[0];
    const d = sc.get(`${s}.dlse`, BT);
    let dg = 0;
    for (let i = 0; i < BT; i++) {
      dg += dev[i] * lse[i];
      d[i] = dev[i] * gamma;
    }
    param(g, `temporal.gamma.${s}`)[0] = dg;
    dlse[s] = d;
  }
  return dlse;
}

/**
 * pre = Q u_t − μ ⊙ avg_b with avg_b = Σ_t m_t Q u_t / max(1, Σ m): dμ, and dq (dL/dpre on
 * entry) turned into dL/d(Q u_t) in place.
 */
function contrastBackward(c: TemporalCall, saved: TemporalSaved, p: Params, g: Params, dq: Float32Array) {
  const { o, B, T, mask } = c;
  const Ht = o.hidden;
  const avg = saved.avg!;
  const mu = param(p, 'temporal.mu');
  const dmu = new Float64Array(Ht);
  const S = new Float64Array(Ht);
  for (let v = 0; v < B; v++) {
    S.fill(0);
    for (let t = 0; t < T; t++)
      for (let j = 0; j < Ht; j++) {
        const x = dq[(v * T + t) * Ht + j];
        S[j] += x;
        dmu[j] -= x * avg[v * Ht + j];
      }
    const cnt = Math.max(1, realSnippets(mask, v, T));
    for (let t = 0; t < T; t++) {
      const m = mask[v * T + t] / cnt;
      if (m) for (let j = 0; j < Ht; j++) dq[(v * T + t) * Ht + j] -= m * mu[j] * S[j];
    }
  }
  param(g, 'temporal.mu').set(dmu);
}

function evidenceOf(evidence: Record<string, Float32Array>, stream: string): Float32Array {
  const e = evidence[stream];
  if (!e)
    throw new Error(`native engine: the temporal focus reads ${stream}'s evidence, which was not computed`);
  return e;
}

function realSnippets(mask: Float32Array, v: number, T: number): number {
  let n = 0;
  for (let t = 0; t < T; t++) n += mask[v * T + t];
  return n;
}
