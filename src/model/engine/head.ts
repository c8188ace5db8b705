/**
 * The DFAN head on the native kernels: the forward pass and its backward pass written out by
 * hand over Float32Arrays, the same maths as Dfan.forward (src/model/dfan.ts), from the same
 * resolved architecture (architecture.ts: which streams get a spatial focus and what guides it,
 * the contrasts, the evidence, the heads), so every variant and option is covered by one reading
 * of the config. test/model/engine.test.ts checks the gradients against tfjs's on the same
 * parameters and batch.
 *
 *   streams ─► spatial focus (maps, spatial.ts) ─► u_t = act(P x + p) per stream   [B·T, D_u]
 *   ─► temporal focus β [B, K, T] (temporal.ts) ─► z_b = β_b u_b [B, K·D_u] ─► mix ─► dropout
 *   ─► logits [B, C]
 */
import type { Architecture, SpatialOptions, StreamPart } from '../architecture.js';
import { columns, mm, mmEach, Scratch, view } from './linalg.js';
import type { NativeKernels } from './native.js';
import { type Params, param } from './params.js';
import {
  type SpatialCall,
  type SpatialSaved,
  spatialBackward,
  spatialForward,
  spatialParams,
} from './spatial.js';
import {
  meanOverSnippets,
  type TemporalCall,
  type TemporalSaved,
  temporalBackward,
  temporalForward,
} from './temporal.js';

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
  /** training only: inverted-dropout keep mask of z [B, K·D_u], stream keep mask [B, D_u], mixup [B, B] */
  dropMask?: Float32Array;
  streamMask?: Float32Array;
  mix?: Float32Array;
}

const ACT = { relu: 1, tanh: 2 } as const;

export class NativeHead {
  /** K heads, D_u = d · streams, C classes */
  readonly K: number;
  readonly Du: number;
  readonly C: number;
  private readonly sc = new Scratch();
  private readonly act: number;
  // what the last forward pass keeps for the backward pass
  private batch: HeadBatch | null = null;
  private readonly saved = new Map<string, SpatialSaved>();
  private temporalSaved: TemporalSaved | null = null;
  private u: Float32Array = new Float32Array(0);
  private uAct: Float32Array = new Float32Array(0);
  private zd: Float32Array = new Float32Array(0);
  /** temporal focus of the last forward pass [B, K, T] */
  beta: Float32Array = new Float32Array(0);

  constructor(
    private readonly nk: NativeKernels,
    readonly arch: Architecture,
  ) {
    this.K = arch.heads;
    this.Du = arch.snippetWidth;
    this.C = arch.classes;
    this.act = ACT[arch.activation];
  }

  /** does the head read the full maps (a stream with a spatial focus)? */
  get spatial(): boolean {
    return this.arch.streams.some((s) => s.spatial !== null);
  }

  /** α [B·T, N] of a map stream in the last forward pass (streams with a spatial focus) */
  alpha(stream: string): Float32Array | null {
    return this.saved.get(stream)?.alpha ?? null;
  }

  /** A map stream's spatial focus on this batch: its options, parameters and inputs for spatial.ts. */
  private spatialCall(o: SpatialOptions, p: Params, b: HeadBatch): SpatialCall {
    const c = o.context;
    const g = c.kind === 'none' ? null : c.kind === 'mean' ? b.pooled[o.stream] : b.vectors[c.stream];
    const contrast = o.focusContrast || o.valueContrast !== 'off';
    const x = { X: b.maps[o.stream], xbar: contrast ? b.cellMeans[o.stream] : null, g };
    return { nk: this.nk, sc: this.sc, o, B: b.B, T: b.T, p: spatialParams(p, o), x };
  }

  private temporalCall(b: HeadBatch): TemporalCall | null {
    const o = this.arch.temporal;
    return o && { nk: this.nk, sc: this.sc, o, B: b.B, T: b.T, mask: b.mask };
  }

  /** The projection's input x for a stream: the focused map, the pooled map or the vector. */
  private projectionInput(s: StreamPart, b: HeadBatch): Float32Array {
    if (s.spatial) return this.saved.get(s.name)!.O;
    return s.kind === 'map' ? b.pooled[s.name] : b.vectors[s.name];
  }

  /** The spatial evidence ε [B·T] of each stream that has it, from the last forward pass. */
  private evidence(): Record<string, Float32Array> {
    const out: Record<string, Float32Array> = {};
    for (const [name, saved] of this.saved) if (saved.lse) out[name] = saved.lse;
    return out;
  }

  /** Forward pass; returns logits [B, C] (valid until the next call). */
  forward(p: Params, b: HeadBatch): Float32Array {
    const { nk, sc, Du, arch } = this;
    const BT = b.B * b.T;
    const d = arch.projDim;
    this.batch = b;
    this.saved.clear();
    this.uAct = sc.get('uAct', BT * Du);
    arch.streams.forEach((s, i) => {
      if (s.spatial) this.saved.set(s.name, spatialForward(this.spatialCall(s.spatial, p, b)));
      const part = columns(view(this.uAct, BT, Du), i * d, d);
      mm(
        nk,
        part,
        view(this.projectionInput(s, b), BT, s.width),
        view(param(p, `proj.${s.name}.P`), s.width, d),
      );
      nk.biasAct(this.uAct, i * d, BT, d, Du, param(p, `proj.${s.name}.p`), this.act);
    });
    this.u = this.uAct;
    if (b.streamMask) {
      // stream dropout: a dropped stream is absent from every u_t of that video
      this.u = sc.get('u', BT * Du);
      for (let i = 0; i < BT * Du; i++)
        this.u[i] = this.uAct[i] * b.streamMask[Math.floor(i / (b.T * Du)) * Du + (i % Du)];
    }
    const tc = this.temporalCall(b);
    this.temporalSaved = tc && temporalForward(tc, p, this.u, this.evidence());
    this.beta = this.temporalSaved?.beta ?? meanOverSnippets(sc, b.B, b.T, b.mask);
    return this.classifierForward(p, b);
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
    mm(nk, view(logits, B, C), view(this.zd, B, KD), view(param(p, 'classifier.W'), KD, C));
    nk.biasAct(logits, 0, B, C, C, param(p, 'classifier.b'), 0);
    return logits;
  }

  /** Backward pass of the last forward pass: every parameter's gradient into `g` (overwritten). */
  backward(p: Params, g: Params, dlogits: Float32Array): void {
    const { nk, sc, K, Du, C, arch } = this;
    const b = this.batch;
    if (!b) throw new Error('NativeHead.backward before forward');
    const { B, T } = b;
    const BT = B * T;
    const KD = K * Du;
    const d = arch.projDim;
    const Wc = param(p, 'classifier.W');
    mm(nk, view(param(g, 'classifier.W'), KD, C), view(this.zd, B, KD), view(dlogits, B, C), { tA: true });
    nk.colSum(dlogits, 0, B, C, C, param(g, 'classifier.b'), 0);
    let dz = sc.get('dzd', B * KD);
    mm(nk, view(dz, B, KD), view(dlogits, B, C), view(Wc, KD, C), { tB: true });
    if (b.dropMask) for (let i = 0; i < B * KD; i++) dz[i] *= b.dropMask[i];
    if (b.mix) {
      const unmixed = sc.get('dz', B * KD);
      mm(nk, view(unmixed, B, KD), view(b.mix, B, B), view(dz, B, KD), { tA: true });
      dz = unmixed;
    }
    // z_b = β_b u_b: dβ_b = dz_b u_bᵀ, du_b = β_bᵀ dz_b
    const du = sc.get('du', BT * Du);
    mmEach(nk, B, view(du, T, Du), view(this.beta, K, T), view(dz, K, Du), [K * T, KD, T * Du], { tA: true });
    const tc = this.temporalCall(b);
    let dlse: Record<string, Float32Array> = {};
    if (tc && this.temporalSaved) {
      const dbeta = sc.get('dbeta', B * K * T);
      mmEach(nk, B, view(dbeta, K, T), view(dz, K, Du), view(this.u, T, Du), [KD, T * Du, K * T], {
        tB: true,
      });
      dlse = temporalBackward(tc, this.temporalSaved, p, g, this.u, du, dbeta, this.evidence());
    }
    if (b.streamMask)
      for (let i = 0; i < BT * Du; i++) du[i] *= b.streamMask[Math.floor(i / (T * Du)) * Du + (i % Du)];
    arch.streams.forEach((s, i) => {
      const part = columns(view(du, BT, Du), i * d, d);
      nk.actGrad(du, this.uAct, i * d, BT, d, Du, this.act);
      const x = this.projectionInput(s, b);
      mm(nk, view(param(g, `proj.${s.name}.P`), s.width, d), view(x, BT, s.width), part, { tA: true });
      nk.colSum(du, i * d, BT, d, Du, param(g, `proj.${s.name}.p`), 0);
      if (!s.spatial) return;
      const dO = sc.get(`${s.name}.dO`, BT * s.width);
      mm(nk, view(dO, BT, s.width), part, view(param(p, `proj.${s.name}.P`), s.width, d), { tB: true });
      const call = this.spatialCall(s.spatial, p, b);
      spatialBackward(call, this.saved.get(s.name)!, dO, dlse[s.name] ?? null, spatialParams(g, s.spatial));
    });
  }
}
