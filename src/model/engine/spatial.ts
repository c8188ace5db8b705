/**
 * The spatial focus of one map stream on the native kernels, forward and backward: the same maths
 * as SpatialFocus (src/model/dfan.ts),
 *   pre_ti = W x_ti[:k] + (U g_t + b) − λ ⊙ W x̄_i[:k],   α_t = softmax_i(wᵀ tanh(pre_ti)),
 *   x̂_t = Σ_i α_ti x_ti, and with value contrast x̂ᶜ_t = x̂_t − κ ⊙ Σ_i α_ti x̄_i,
 * where the per-cell work (products with W, tanh, softmax, pooling) is one fused kernel over each
 * video's cells (native/spatial.cc) and the rest are small products here. Which terms exist (the
 * context U g_t, the focus contrast λ, the value contrast κ, the evidence) is the stream's
 * resolved SpatialOptions (architecture.ts), as for the tfjs unit.
 */
import type { SpatialOptions } from '../architecture.js';
import type { MapCells } from './head.js';
import { columns, mm, type Scratch, view } from './linalg.js';
import type { NativeKernels } from './native.js';
import { type Params, param } from './params.js';

/** The stream's parameters (or their gradients), those its options declare. */
export interface SpatialParams {
  W: Float32Array; // [k, h]
  U: Float32Array | null; // [C_g, h]  (context)
  b: Float32Array; // [h]
  lambda: Float32Array | null; // [h]  (focus contrast)
  kappa: Float32Array | null; // [D]  (value contrast)
  w: Float32Array; // [h, 1]
}

/** The parameters of the spatial focus `o` out of `p` (values or gradients: the same names). */
export function spatialParams(p: Params, o: SpatialOptions): SpatialParams {
  const q = (n: string) => param(p, `spatial.${o.stream}.${n}`);
  return {
    W: q('W'),
    U: o.context.kind !== 'none' ? q('U') : null,
    b: q('b'),
    lambda: o.focusContrast ? q('lambda') : null,
    kappa: o.valueContrast !== 'off' ? q('kappa') : null,
    w: q('w'),
  };
}

export interface SpatialInputs {
  X: MapCells; // the cells, map dropout included
  /** [B, N, D] each cell's mean over the video (focus or value contrast), else null */
  xbar: Float32Array | null;
  /** the context g_t read by U: [B·T, C_g] (a vector stream, or the map's mean over cells), else null */
  g: Float32Array | null;
}

/** One stream's spatial focus for one batch: the kernels, the buffers, its options and what it reads. */
export interface SpatialCall {
  nk: NativeKernels;
  sc: Scratch;
  o: SpatialOptions;
  B: number;
  T: number;
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

/** value contrast as the kernel's mode: 0 off (x̂), 1 on (x̂ᶜ), 2 both ([x̂ ; x̂ᶜ]) */
const MODE = { off: 0, on: 1, both: 2 } as const;

/** The fused kernel, forward or backward: named arrays into native `spatial`'s argument order. */
function runKernel(
  { nk, o, B, T, p, x }: SpatialCall,
  backward: boolean,
  a: { W?: Arr; G?: Arr; Cbn?: Arr; O?: Arr; Hs: Arr; alpha: Arr; ab: Arr; lse?: Arr } & Record<string, Arr>,
): void {
  const mode = MODE[o.valueContrast];
  const dims = Int32Array.from([B, T, o.cells, o.channels, o.scoreDim, o.hidden, mode]);
  const cells = [x.X.data, x.X.rows, x.X.bits, x.X.keep] as const;
  const params = [a.W ?? null, a.G ?? null, a.Cbn ?? null, p.w, mode ? x.xbar : null, mode ? p.kappa : null];
  const outs = [a.O ?? null, a.Hs, a.alpha, a.ab, a.lse ?? null];
  const grads = ['dO', 'dlse', 'dW', 'dw', 'dkappa', 'dG', 'dC'].map((k) => a[k] ?? null);
  nk.spatial(backward ? 1 : 0, dims, ...cells, ...params, ...outs, ...grads);
}

export function spatialForward(call: SpatialCall): SpatialSaved {
  const { nk, sc, o, B, T, p, x } = call;
  const { stream: name, cells: N, channels: D, scoreDim: k, hidden: h } = o;
  const BT = B * T;
  // G_t = U g_t + b  [B·T, h]
  const G = sc.get(`${name}.G`, BT * h, true);
  if (o.context.kind !== 'none') {
    const Cg = o.context.width;
    mm(nk, view(G, BT, h), view(x.g!, BT, Cg), view(p.U!, Cg, h));
  }
  nk.biasAct(G, 0, BT, h, h, p.b, 0);
  // focus contrast: λ ⊙ W x̄_i, subtracted from every snippet's cell i
  let A: Float32Array | null = null;
  let Cbn: Float32Array | null = null;
  if (o.focusContrast) {
    const lambda = p.lambda!;
    A = sc.get(`${name}.A`, B * N * h);
    mm(nk, view(A, B * N, h), view(x.xbar!, B * N, k, 0, D), view(p.W, k, h));
    Cbn = sc.get(`${name}.Cbn`, B * N * h);
    for (let i = 0; i < A.length; i++) Cbn[i] = A[i] * lambda[i % h];
  }
  const Dp = o.valueContrast === 'both' ? 2 * D : D;
  const saved: SpatialSaved = {
    O: sc.get(`${name}.O`, BT * Dp),
    alpha: sc.get(`${name}.alpha`, BT * N),
    lse: o.evidence ? sc.get(`${name}.lse`, BT) : null,
    Hs: sc.get(`${name}.Hs`, BT * N * h),
    ab: o.valueContrast !== 'off' ? sc.get(`${name}.ab`, BT * D) : null,
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
  const { nk, sc, o, B, T, p, x } = call;
  const { stream: name, cells: N, channels: D, scoreDim: k, hidden: h } = o;
  const BT = B * T;
  g.W.fill(0);
  g.w.fill(0);
  g.kappa?.fill(0);
  const dG = sc.get(`${name}.dG`, BT * h);
  const dC = o.focusContrast ? sc.get(`${name}.dC`, B * N * h) : null;
  const { Hs, alpha, ab } = saved;
  runKernel(call, true, { Hs, alpha, ab, dO, dlse, dW: g.W, dw: g.w, dkappa: g.kappa, dG, dC });
  if (o.context.kind !== 'none') {
    const Cg = o.context.width;
    mm(nk, view(g.U!, Cg, h), view(x.g!, BT, Cg), view(dG, BT, h), { tA: true });
  }
  nk.colSum(dG, 0, BT, h, h, g.b, 0);
  if (o.focusContrast) {
    // Cbn = λ ⊙ A and pre −= Cbn: dλ = −Σ dC ⊙ A, dA = −λ ⊙ dC, dW += x̄[:k]ᵀ dA
    const A = saved.A!;
    const lambda = p.lambda!;
    const dCn = dC!;
    const dl = new Float64Array(h);
    for (let i = 0; i < dCn.length; i++) {
      const j = i % h;
      dl[j] -= dCn[i] * A[i];
      dCn[i] *= -lambda[j];
    }
    g.lambda!.set(dl);
    mm(nk, view(g.W, k, h), columns(view(x.xbar!, B * N, D), 0, k), view(dCn, B * N, h), {
      tA: true,
      accumulate: true,
    });
  }
}
