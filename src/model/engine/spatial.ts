/**
 * The spatial focus of one map stream on the native kernels, forward and backward: the same maths
 * as Dfan.spatialFocus (src/model/dfan.ts),
 *   pre_ti = W x_ti[:k] + (U g_t + b) − λ ⊙ W x̄_i[:k],   α_t = softmax_i(wᵀ tanh(pre_ti)),
 *   x̂_t = Σ_i α_ti x_ti, and with value contrast x̂ᶜ_t = x̂_t − κ ⊙ Σ_i α_ti x̄_i,
 * where the per-cell work (products with W, tanh, softmax, pooling) is one fused kernel over each
 * video's cells (native/kernels.cc) and the rest are small products here.
 */
import type { MapCells } from './head.js';
import { columns, mm, type Scratch, view } from './linalg.js';
import type { NativeKernels } from './native.js';

export interface SpatialShape {
  B: number;
  T: number;
  /** cells H·W, channels D, of which the scorer reads the leading k */
  N: number;
  D: number;
  k: number;
  /** scoring width */
  h: number;
  /** value contrast: 0 off (x̂), 1 on (x̂ᶜ), 2 both ([x̂ ; x̂ᶜ]) */
  mode: 0 | 1 | 2;
}

/** The stream's parameters (names as in paramSpecs: spatial.<stream>.W …). */
export interface SpatialParams {
  W: Float32Array; // [k, h]
  U?: Float32Array; // [Cg, h]
  b: Float32Array; // [h]
  lambda?: Float32Array; // [h]
  kappa?: Float32Array; // [D]
  w: Float32Array; // [h, 1]
}

export interface SpatialInputs {
  X: MapCells; // the cells, map dropout included
  xbar: Float32Array | null; // [B, N, D] cell means (focus or value contrast)
  /** the context g_t read by U: [B·T, Cg] (a vector stream, or the map's mean over cells) */
  g: Float32Array | null;
  Cg: number;
}

/** One stream's spatial focus for one batch: the kernels, the buffers and what it reads. */
export interface SpatialCall {
  nk: NativeKernels;
  sc: Scratch;
  /** the stream (names its scratch buffers) */
  name: string;
  s: SpatialShape;
  p: SpatialParams;
  x: SpatialInputs;
}

/** What the forward pass keeps for the backward pass. */
export interface SpatialSaved {
  O: Float32Array; // [B·T, D or 2D] the pooled value(s) for the projection
  alpha: Float32Array; // [B·T, N]
  lse: Float32Array | null; // [B·T] log-mean-exp of the cell scores (temporal evidence)
  Hs: Float32Array;
  ab: Float32Array | null;
  A: Float32Array | null; // [B·N, h] W x̄_i[:k]
}

type Arr = Float32Array | null;

/** The fused kernel, forward or backward: named arrays into native `spatial`'s argument order. */
function runKernel(
  { nk, s, p, x }: SpatialCall,
  backward: boolean,
  a: { W?: Arr; G?: Arr; Cbn?: Arr; O?: Arr; Hs: Arr; alpha: Arr; ab: Arr; lse?: Arr } & Record<string, Arr>,
): void {
  const dims = Int32Array.from([s.B, s.T, s.N, s.D, s.k, s.h, s.mode]);
  const contrast = s.mode !== 0;
  const cells = [x.X.data, x.X.rows, x.X.bits, x.X.keep] as const;
  const params = [
    a.W ?? null,
    a.G ?? null,
    a.Cbn ?? null,
    p.w,
    contrast ? x.xbar : null,
    contrast ? (p.kappa ?? null) : null,
  ];
  const outs = [a.O ?? null, a.Hs, a.alpha, a.ab, a.lse ?? null];
  const grads = ['dO', 'dlse', 'dW', 'dw', 'dkappa', 'dG', 'dC'].map((k) => a[k] ?? null);
  nk.spatial(backward ? 1 : 0, dims, ...cells, ...params, ...outs, ...grads);
}

export function spatialForward(call: SpatialCall, withEvidence: boolean): SpatialSaved {
  const { nk, sc, name, s, p, x } = call;
  const { B, T, N, D, k, h } = s;
  const BT = B * T;
  // G_t = U g_t + b  [B·T, h]
  const G = sc.get(`${name}.G`, BT * h, true);
  if (p.U && x.g) mm(nk, view(G, BT, h), view(x.g, BT, x.Cg), view(p.U, x.Cg, h));
  nk.biasAct(G, 0, BT, h, h, p.b, 0);
  // focus contrast: λ ⊙ W x̄_i, subtracted from every snippet's cell i
  let A: Float32Array | null = null;
  let Cbn: Float32Array | null = null;
  if (p.lambda && x.xbar) {
    A = sc.get(`${name}.A`, B * N * h);
    mm(nk, view(A, B * N, h), view(x.xbar, B * N, k, 0, D), view(p.W, k, h));
    Cbn = sc.get(`${name}.Cbn`, B * N * h);
    for (let i = 0; i < A.length; i++) Cbn[i] = A[i] * p.lambda[i % h];
  }
  const Dp = s.mode === 2 ? 2 * D : D;
  const saved: SpatialSaved = {
    O: sc.get(`${name}.O`, BT * Dp),
    alpha: sc.get(`${name}.alpha`, BT * N),
    lse: withEvidence ? sc.get(`${name}.lse`, BT) : null,
    Hs: sc.get(`${name}.Hs`, BT * N * h),
    ab: s.mode ? sc.get(`${name}.ab`, BT * D) : null,
    A,
  };
  runKernel(call, false, { W: p.W, G, Cbn, ...saved });
  return saved;
}

/** Gradients of the stream's parameters (written into `g`) from dO [B·T, Dp] and dlse [B·T]. */
export function spatialBackward(
  call: SpatialCall,
  saved: SpatialSaved,
  dO: Float32Array,
  dlse: Float32Array | null,
  g: SpatialParams,
): void {
  const { nk, sc, name, s, p, x } = call;
  const { B, T, N, D, k, h } = s;
  const BT = B * T;
  g.W.fill(0);
  g.w.fill(0);
  g.kappa?.fill(0);
  const dG = sc.get(`${name}.dG`, BT * h);
  const dC = p.lambda ? sc.get(`${name}.dC`, B * N * h) : null;
  const { Hs, alpha, ab } = saved;
  const dkappa = s.mode ? (g.kappa ?? null) : null;
  runKernel(call, true, { Hs, alpha, ab, dO, dlse, dW: g.W, dw: g.w, dkappa, dG, dC });
  if (g.U && x.g) mm(nk, view(g.U, x.Cg, h), view(x.g, BT, x.Cg), view(dG, BT, h), { tA: true });
  nk.colSum(dG, 0, BT, h, h, g.b, 0);
  if (p.lambda && g.lambda && dC && saved.A && x.xbar) {
    // Cbn = λ ⊙ A and pre −= Cbn: dλ = −Σ dC ⊙ A, dA = −λ ⊙ dC, dW += x̄[:k]ᵀ dA
    const A = saved.A;
    const dl = new Float64Array(h);
    for (let i = 0; i < dC.length; i++) {
      const j = i % h;
      dl[j] -= dC[i] * A[i];
      dC[i] *= -p.lambda[j];
    }
    g.lambda.set(dl);
    mm(nk, view(g.W, k, h), columns(view(x.xbar, B * N, D), 0, k), view(dC, B * N, h), {
      tA: true,
      accumulate: true,
    });
  }
}
