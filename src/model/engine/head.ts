/**
 * The DFAN head on the native kernels: the forward pass and its backward pass written out by
 * hand over Float32Arrays, the same maths as Dfan.forward (src/model/dfan.ts), every variant and
 * option included. test/model/engine.test.ts checks the gradients against tfjs's on the same
 * parameters and batch.
 *
 *   streams ─► spatial focus (maps, spatial.ts) ─► u_t = act(P x + p) per stream   [B·T, Du]
 *   ─► temporal focus β [B, K, T] ─► z_b = β_b u_b [B, K·Du] ─► mix ─► dropout ─► logits [B, C]
 */
import { type ModelConfig, usesSpatial, usesTemporal } from '../config.js';
import { type InputDims, scoreDimOf, spatialContextOf } from '../dfan.js';
import { columns, mm, mmEach, Scratch, view } from './linalg.js';
import type { NativeKernels } from './native.js';
import {
  type SpatialCall,
  type SpatialParams,
  type SpatialSaved,
  type SpatialShape,
  spatialBackward,
  spatialForward,
} from './spatial.js';

export type Params = Record<string, Float32Array>;

/**
 * A map stream's cells for a batch, read in place from the training set's array: video b is row
 * rows[b] of data; with map dropout, value j of the batch ([B, T, N, D] order) is kept (× keep)
 * when bit j of `bits` is set, else zero.
 */
export interface MapCells {
  data: Float32Array; // [n, T, N, D]
  rows: Int32Array; // [B]
  bits: Uint16Array | null;
  keep: number;
}

/** A batch as the head reads it: row-major arrays (what src/model/engine/batch.ts gathers). */
export interface HeadBatch {
  B: number;
  T: number;
  maps: Record<string, MapCells>; // spatial variants
  cellMeans: Record<string, Float32Array>; // [B, N, D] (spatial variants)
  pooled: Record<string, Float32Array>; // [B, T, D] each map's mean over cells
  vectors: Record<string, Float32Array>; // [B, T, C]
  mask: Float32Array; // [B, T]
  /** training only: inverted-dropout keep mask of z [B, K·Du], stream keep mask [B, Du], mixup [B, B] */
  dropMask?: Float32Array;
  streamMask?: Float32Array;
  mix?: Float32Array;
}

interface StreamPlan {
  name: string;
  index: number;
  /** projection input width */
  Din: number;
  spatial?: Omit<SpatialShape, 'B' | 'T'>;
  /** the context stream read by U ('mean' = the map's own pooled cells), none when absent */
  ctx?: string;
}

const ACT = { relu: 1, tanh: 2 } as const;

export class NativeHead {
  readonly K: number;
  readonly Du: number;
  readonly C: number;
  private readonly plans: StreamPlan[];
  private readonly sc = new Scratch();
  private readonly act: number;
  // what the last forward pass keeps for the backward pass
  private batch: HeadBatch | null = null;
  private readonly saved = new Map<string, SpatialSaved>();
  private u: Float32Array = new Float32Array(0);
  private uAct: Float32Array = new Float32Array(0);
  private zd: Float32Array = new Float32Array(0);
  /** temporal focus of the last forward pass [B, K, T] */
  beta: Float32Array = new Float32Array(0);

  constructor(
    private readonly nk: NativeKernels,
    readonly cfg: ModelConfig,
    readonly dims: InputDims,
    nClasses: number,
  ) {
    this.K = usesTemporal(cfg.variant) ? cfg.heads : 1;
    this.Du = cfg.projDim * cfg.streams.length;
    this.C = nClasses;
    this.act = ACT[cfg.activation];
    const ctx = spatialContextOf(cfg, dims);
    const mode = cfg.valueContrast === 'both' ? 2 : cfg.valueContrast === 'on' ? 1 : 0;
    this.plans = cfg.streams.map((name, index) => {
      const m = dims.maps[name];
      if (!m) return { name, index, Din: dims.vectors[name].D };
      if (!usesSpatial(cfg.variant)) return { name, index, Din: m.D };
      const spatial = { N: m.H * m.W, D: m.D, k: scoreDimOf(cfg, m), h: cfg.spatialHidden, mode } as const;
      return {
        name,
        index,
        Din: mode === 2 ? 2 * m.D : m.D,
        spatial,
        ctx: ctx === 'none' ? undefined : ctx,
      };
    });
  }

  /** does the head read the full maps (spatial variants)? */
  get spatial(): boolean {
    return usesSpatial(this.cfg.variant);
  }

  /** α [B·T, N] of a map stream in the last forward pass (spatial variants) */
  alpha(stream: string): Float32Array | null {
    return this.saved.get(stream)?.alpha ?? null;
  }

  private spatialParams(p: Params, s: string): SpatialParams {
    const q = (n: string) => p[`spatial.${s}.${n}`];
    return { W: q('W'), U: q('U'), b: q('b'), lambda: q('lambda'), kappa: q('kappa'), w: q('w') };
  }

  /** A map stream's spatial focus on this batch: shapes, parameters and inputs for spatial.ts. */
  private spatialCall(plan: StreamPlan, p: Params, b: HeadBatch): SpatialCall {
    if (!plan.spatial) throw new Error(`stream ${plan.name} has no spatial focus`);
    const ctx = plan.ctx;
    const g = ctx === undefined ? null : ctx === 'mean' ? b.pooled[plan.name] : b.vectors[ctx];
    const Cg =
      ctx === undefined ? 0 : ctx === 'mean' ? this.dims.maps[plan.name].D : this.dims.vectors[ctx].D;
    const x = { X: b.maps[plan.name], xbar: b.cellMeans[plan.name] ?? null, g, Cg };
    const s = { B: b.B, T: b.T, ...plan.spatial };
    return { nk: this.nk, sc: this.sc, name: plan.name, s, p: this.spatialParams(p, plan.name), x };
  }

  /** The projection's input x for a stream: the focused map, the pooled map or the vector. */
  private projectionInput(plan: StreamPlan, b: HeadBatch): Float32Array {
    if (plan.spatial) return this.saved.get(plan.name)!.O;
    return this.dims.maps[plan.name] ? b.pooled[plan.name] : b.vectors[plan.name];
  }

  /** Forward pass; returns logits [B, C] (valid until the next call). */
  forward(p: Params, b: HeadBatch): Float32Array {
    const { nk, cfg, sc, Du } = this;
    const BT = b.B * b.T;
    const d = cfg.projDim;
    this.batch = b;
    this.uAct = sc.get('uAct', BT * Du);
    const evidence: Array<{ lse: Float32Array; gamma: number }> = [];
    for (const plan of this.plans) {
      if (plan.spatial) {
        const gamma = p[`temporal.gamma.${plan.name}`];
        const saved = spatialForward(this.spatialCall(plan, p, b), !!gamma);
        this.saved.set(plan.name, saved);
        if (gamma && saved.lse) evidence.push({ lse: saved.lse, gamma: gamma[0] });
      }
      const x = this.projectionInput(plan, b);
      const part = columns(view(this.uAct, BT, Du), plan.index * d, d);
      mm(nk, part, view(x, BT, plan.Din), view(p[`proj.${plan.name}.P`], plan.Din, d));
      nk.biasAct(this.uAct, plan.index * d, BT, d, Du, p[`proj.${plan.name}.p`], this.act);
    }
    this.u = this.uAct;
    if (b.streamMask) {
      // stream dropout: a dropped stream is absent from every u_t of that video
      this.u = sc.get('u', BT * Du);
      for (let i = 0; i < BT * Du; i++)
        this.u[i] = this.uAct[i] * b.streamMask[Math.floor(i / (b.T * Du)) * Du + (i % Du)];
    }
    this.beta = this.temporalForward(p, b, evidence);
    return this.classifierForward(p, b);
  }

  private temporalForward(p: Params, b: HeadBatch, evidence: Array<{ lse: Float32Array; gamma: number }>) {
    const { nk, cfg, sc, K, Du } = this;
    const { B, T } = b;
    const BT = B * T;
    const beta = sc.get('beta', B * K * T);
    if (!usesTemporal(cfg.variant)) {
      for (let v = 0; v < B; v++) {
        let n = 0;
        for (let t = 0; t < T; t++) n += b.mask[v * T + t];
        for (let t = 0; t < T; t++) beta[v * T + t] = b.mask[v * T + t] / n;
      }
      return beta;
    }
    const Ht = cfg.temporalHidden;
    const hT = sc.get('hT', BT * Ht);
    mm(nk, view(hT, BT, Ht), view(this.u, BT, Du), view(p['temporal.Q'], Du, Ht));
    const mu = p['temporal.mu'];
    if (mu) {
      // Q u_t − μ ⊙ mean_t Q u_t over the video's real snippets
      const avg = sc.get('avg', B * Ht, true);
      for (let v = 0; v < B; v++) {
        const cnt = Math.max(1, countReal(b.mask, v, T));
        for (let t = 0; t < T; t++) {
          const m = b.mask[v * T + t];
          if (m) for (let j = 0; j < Ht; j++) avg[v * Ht + j] += (m * hT[(v * T + t) * Ht + j]) / cnt;
        }
        for (let t = 0; t < T; t++)
          for (let j = 0; j < Ht; j++) hT[(v * T + t) * Ht + j] -= mu[j] * avg[v * Ht + j];
      }
    }
    nk.biasAct(hT, 0, BT, Ht, Ht, p['temporal.q'], ACT.tanh);
    const scores = sc.get('scores', BT * K);
    mm(nk, view(scores, BT, K), view(hT, BT, Ht), view(p['temporal.v'], Ht, K));
    const s = new Float64Array(T);
    for (let v = 0; v < B; v++) {
      for (let k = 0; k < K; k++) {
        let mx = -Infinity;
        for (let t = 0; t < T; t++) {
          const bt = v * T + t;
          let e = scores[bt * K + k];
          for (const ev of evidence) e += ev.gamma * ev.lse[bt];
          s[t] = e + (b.mask[bt] - 1) * 1e9; // padded snippets → β = 0
          mx = Math.max(mx, s[t]);
        }
        let sum = 0;
        for (let t = 0; t < T; t++) sum += Math.exp(s[t] - mx);
        for (let t = 0; t < T; t++) beta[(v * K + k) * T + t] = Math.exp(s[t] - mx) / sum;
      }
    }
    return beta;
  }

  private classifierForward(p: Params, b: HeadBatch): Float32Array {
    const { nk, sc, K, Du, C } = this;
    const { B, T } = b;
    const KD = K * Du;
    // z_b = β_b · u_b   [K, T] · [T, Du] for every video
    const z = sc.get('z', B * KD);
    mmEach(nk, B, view(z, K, Du), view(this.beta, K, T), view(this.u, T, Du), [K * T, T * Du, KD]);
    let zm = z;
    if (b.mix) {
      zm = sc.get('zm', B * KD);
      mm(nk, view(zm, B, KD), view(b.mix, B, B), view(z, B, KD));
    }
    this.zd = zm;
    if (b.dropMask) {
      this.zd = sc.get('zd', B * KD);
      for (let i = 0; i < B * KD; i++) this.zd[i] = zm[i] * b.dropMask[i];
    }
    const logits = sc.get('logits', B * C);
    mm(nk, view(logits, B, C), view(this.zd, B, KD), view(p['classifier.W'], KD, C));
    nk.biasAct(logits, 0, B, C, C, p['classifier.b'], 0);
    return logits;
  }

  /** Backward pass of the last forward pass: every parameter's gradient into `g` (overwritten). */
  backward(p: Params, g: Params, dlogits: Float32Array): void {
    const { nk, cfg, sc, K, Du, C } = this;
    const b = this.batch;
    if (!b) throw new Error('NativeHead.backward before forward');
    const { B, T } = b;
    const BT = B * T;
    const KD = K * Du;
    const d = cfg.projDim;
    mm(nk, view(g['classifier.W'], KD, C), view(this.zd, B, KD), view(dlogits, B, C), { tA: true });
    nk.colSum(dlogits, 0, B, C, C, g['classifier.b'], 0);
    let dz = sc.get('dzd', B * KD);
    mm(nk, view(dz, B, KD), view(dlogits, B, C), view(p['classifier.W'], KD, C), { tB: true });
    if (b.dropMask) for (let i = 0; i < B * KD; i++) dz[i] *= b.dropMask[i];
    if (b.mix) {
      const unmixed = sc.get('dz', B * KD);
      mm(nk, view(unmixed, B, KD), view(b.mix, B, B), view(dz, B, KD), { tA: true });
      dz = unmixed;
    }
    // z_b = β_b u_b: dβ_b = dz_b u_bᵀ, du_b = β_bᵀ dz_b
    const dbeta = sc.get('dbeta', B * K * T);
    mmEach(nk, B, view(dbeta, K, T), view(dz, K, Du), view(this.u, T, Du), [KD, T * Du, K * T], { tB: true });
    const du = sc.get('du', BT * Du);
    mmEach(nk, B, view(du, T, Du), view(this.beta, K, T), view(dz, K, Du), [K * T, KD, T * Du], { tA: true });
    const dev = this.temporalBackward(p, g, b, du, dbeta);
    if (b.streamMask)
      for (let i = 0; i < BT * Du; i++) du[i] *= b.streamMask[Math.floor(i / (T * Du)) * Du + (i % Du)];
    for (const plan of this.plans) {
      const s = plan.name;
      const part = columns(view(du, BT, Du), plan.index * d, d);
      nk.actGrad(du, this.uAct, plan.index * d, BT, d, Du, this.act);
      const x = this.projectionInput(plan, b);
      mm(nk, view(g[`proj.${s}.P`], plan.Din, d), view(x, BT, plan.Din), part, { tA: true });
      nk.colSum(du, plan.index * d, BT, d, Du, g[`proj.${s}.p`], 0);
      if (!plan.spatial) continue;
      const dO = sc.get(`${s}.dO`, BT * plan.Din);
      mm(nk, view(dO, BT, plan.Din), part, view(p[`proj.${s}.P`], plan.Din, d), { tB: true });
      const saved = this.saved.get(s)!;
      const gamma = p[`temporal.gamma.${s}`];
      let dlse: Float32Array | null = null;
      if (gamma && dev && saved.lse) {
        // the snippet score got γ_s · lse_t
        dlse = sc.get(`${s}.dlse`, BT);
        let dg = 0;
        for (let i = 0; i < BT; i++) {
          dg += dev[i] * saved.lse[i];
          dlse[i] = dev[i] * gamma[0];
        }
        g[`temporal.gamma.${s}`][0] = dg;
      }
      spatialBackward(this.spatialCall(plan, p, b), saved, dO, dlse, this.spatialParams(g, s));
    }
  }

  /** Temporal focus backward: its parameters' gradients, du += its share; returns d(score)/d(evidence) [B·T]. */
  private temporalBackward(p: Params, g: Params, b: HeadBatch, du: Float32Array, dbeta: Float32Array) {
    const { nk, cfg, sc, K, Du } = this;
    if (!usesTemporal(cfg.variant)) return null;
    const { B, T } = b;
    const BT = B * T;
    const Ht = cfg.temporalHidden;
    // softmax over t: dscore = β (dβ − Σ_t β dβ), as [B·T, K]
    const dscores = sc.get('dscores', BT * K);
    const dev = sc.get('dev', BT, true);
    for (let v = 0; v < B; v++) {
      for (let k = 0; k < K; k++) {
        const row = (v * K + k) * T;
        let s = 0;
        for (let t = 0; t < T; t++) s += this.beta[row + t] * dbeta[row + t];
        for (let t = 0; t < T; t++) {
          const ds = this.beta[row + t] * (dbeta[row + t] - s);
          dscores[(v * T + t) * K + k] = ds;
          dev[v * T + t] += ds;
        }
      }
    }
    const hT = sc.get('hT', BT * Ht);
    mm(nk, view(g['temporal.v'], Ht, K), view(hT, BT, Ht), view(dscores, BT, K), { tA: true });
    const dq = sc.get('dq', BT * Ht);
    mm(nk, view(dq, BT, Ht), view(dscores, BT, K), view(p['temporal.v'], Ht, K), { tB: true });
    nk.actGrad(dq, hT, 0, BT, Ht, Ht, ACT.tanh);
    nk.colSum(dq, 0, BT, Ht, Ht, g['temporal.q'], 0);
    const mu = p['temporal.mu'];
    if (mu) {
      // pre = Q u_t − μ ⊙ avg_b, avg_b = Σ_t m_t Q u_t / max(1, Σ m)
      const avg = sc.get('avg', B * Ht);
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
        const cnt = Math.max(1, countReal(b.mask, v, T));
        for (let t = 0; t < T; t++) {
          const m = b.mask[v * T + t] / cnt;
          if (m) for (let j = 0; j < Ht; j++) dq[(v * T + t) * Ht + j] -= m * mu[j] * S[j];
        }
      }
      g['temporal.mu'].set(dmu);
    }
    mm(nk, view(g['temporal.Q'], Du, Ht), view(this.u, BT, Du), view(dq, BT, Ht), { tA: true });
    mm(nk, view(du, BT, Du), view(dq, BT, Ht), view(p['temporal.Q'], Du, Ht), { tB: true, accumulate: true });
    return dev;
  }
}

function countReal(mask: Float32Array, v: number, T: number): number {
  let n = 0;
  for (let t = 0; t < T; t++) n += mask[v * T + t];
  return n;
}
