/**
 * The Dual Focus Attention Network, readable top to bottom.
 *
 *   frozen features ──► spatial focus (per map stream) ──► snippet vector u_t ──► temporal focus ──► classifier
 *   object map [T,N,C]   e_i = wᵀ tanh(W x_i + U g_t)      u_t = [relu(P_s x̂_t + p_s) ;     β = softmax_t(vᵀ tanh(Q u_t))   dropout → linear
 *   (N = H·W cells)      α = softmax_i(e), x̂_t = Σ α_i x_i        relu(P_v v_t + p_v) …]   z = Σ_t β_t u_t (per head)
 *
 * Variants from the same code: `mean` (x̂ = mean of cells, z = mean over real snippets),
 * `spatial`, `temporal`, `dual`. Padded snippets (mask = 0) get β = 0 exactly.
 * Each unit (SpatialFocus, StreamProjection, TemporalFocus, Classifier) declares its parameters
 * from the options architecture.ts resolved, and owns them; `Dfan` strings the units together.
 * Shapes: B videos × T snippets; N cells; D channels of a map stream after the load-time
 * reduction (see prep.ts); h hidden units; d = projDim; D_u = d · streams; K = heads.
 */
import type * as TF from '@tensorflow/tfjs';
import {
  type Architecture,
  bias,
  type InputDims,
  matrix,
  type ParamSpec,
  resolveArchitecture,
  type SpatialOptions,
  type StreamPart,
  scale,
  scoreVector,
  type TemporalOptions,
} from './architecture.js';
import type { Tf } from './backend.js';
import type { ModelConfig } from './config.js';
import type { BatchTensors } from './features.js';

export interface ForwardOutput {
  logits: TF.Tensor; // [B, classes]
  beta: TF.Tensor; // [B, T]   temporal focus (mean over heads)
  betaHeads: TF.Tensor; // [B, K, T]
  alpha: Record<string, TF.Tensor>; // [B, T, N]  spatial focus per map stream
}

type Variables = Record<string, TF.Variable>;

/** Mean over the real snippets of each video: x [B, T, F], mask [B, T] → [B, F]. */
function videoMean(tf: Tf, x: TF.Tensor, mask: TF.Tensor): TF.Tensor {
  const [B, T] = mask.shape as number[];
  const sum = tf.matMul(mask.reshape([B, 1, T]), x).reshape([B, -1]); // Σ_t m_t x_t
  return tf.div(sum, tf.maximum(tf.sum(mask, 1, true), 1));
}

/**
 * Spatial focus on one map stream: e_ti = wᵀ tanh(W x_ti [− λ ⊙ W x̄_i] + U g_t + b),
 * α_t = softmax_i(e_t), x̂_t = Σ_i α_ti x_ti [and/or Σ_i α_ti (x_ti − κ ⊙ x̄_i)].
 */
export class SpatialFocus {
  /** parameters in initialisation order: W, U (with a context), b, κ (value contrast), λ (focus contrast), w */
  static params(o: SpatialOptions): Record<string, ParamSpec> {
    const p = `spatial.${o.stream}`;
    return {
      [`${p}.W`]: matrix(o.scoreDim, o.hidden),
      ...(o.context.kind !== 'none' ? { [`${p}.U`]: matrix(o.context.width, o.hidden) } : {}),
      [`${p}.b`]: bias(o.hidden),
      ...(o.valueContrast !== 'off' ? { [`${p}.kappa`]: scale(o.channels) } : {}),
      ...(o.focusContrast ? { [`${p}.lambda`]: scale(o.hidden) } : {}),
      [`${p}.w`]: scoreVector(o.hidden, 1),
    };
  }

  private readonly W: TF.Variable; // [k, h]
  private readonly U: TF.Variable; // [C_g, h]   (context only)
  private readonly b: TF.Variable; // [h]
  private readonly kappa: TF.Variable; // [D]      (value contrast only)
  private readonly lambda: TF.Variable; // [h]     (focus contrast only)
  private readonly w: TF.Variable; // [h, 1]

  constructor(
    private readonly tf: Tf,
    readonly o: SpatialOptions,
    vars: Variables,
  ) {
    const p = `spatial.${o.stream}`;
    [this.W, this.U, this.b, this.kappa, this.lambda, this.w] = ['W', 'U', 'b', 'kappa', 'lambda', 'w'].map(
      (n) => vars[`${p}.${n}`],
    );
  }

  /** x̂ [B·T, D or 2D], α [B·T, N] and, when the temporal focus reads it, the evidence [B·T]. */
  forward(batch: BatchTensors): { pooled: TF.Tensor; alpha: TF.Tensor; evidence: TF.Tensor | null } {
    const { tf, o } = this;
    const { B, T } = batch;
    const { cells: N, channels: D } = o;
    const x = batch.maps[o.stream].reshape([B * T, N, D]);
    let pre = tf.matMul(this.scoredCells(batch, x), this.W).reshape([B * T, N, o.hidden]); // W x_ti
    // x̄_i, the cell over the video's real snippets [B, N, D]: an input, so no gradient flows into it
    const xbar =
      o.focusContrast || o.valueContrast !== 'off'
        ? (batch.cellMeans?.[o.stream] ??
          videoMean(tf, x.reshape([B, T, N * D]), batch.mask).reshape([B, N, D]))
        : null;
    if (xbar && o.focusContrast) pre = this.contrastCells(pre, xbar, B, T);
    pre = this.addContext(pre, batch);
    const scores = tf // e_ti  [B·T, N]
      .matMul(tf.tanh(pre).reshape([B * T * N, o.hidden]), this.w)
      .reshape([B * T, N]);
    const alpha = tf.softmax(scores); // softmax over the H·W cells
    let pooled = tf.matMul(alpha.reshape([B * T, 1, N]), x).reshape([B * T, D]); // x̂ = Σ α_i x_i
    if (xbar && o.valueContrast !== 'off') pooled = this.contrastValue(pooled, alpha, xbar, B, T);
    // how strongly the snippet holds a cue: log-mean-exp of the cell scores  [B·T]
    const evidence = o.evidence ? tf.sub(tf.logSumExp(scores, 1), Math.log(N)) : null;
    return { pooled, alpha, evidence };
  }

  /** The channels the scorer reads: all, or the leading k (given by the batch, or sliced)  [B·T·N, k] */
  private scoredCells(batch: BatchTensors, x: TF.Tensor): TF.Tensor {
    const { B, T } = batch;
    const { cells: N, channels: D, scoreDim: k } = this.o;
    const cells = x.reshape([B * T * N, D]);
    if (k === D) return cells;
    const lead = batch.scored?.[this.o.stream];
    return lead ? lead.reshape([B * T * N, k]) : this.tf.slice(cells, [0, 0], [B * T * N, k]);
  }

  /** W x_ti − λ ⊙ W x̄_i (= mean_t W x_ti): the cell against the same cell over the video  [B·T, N, h] */
  private contrastCells(pre: TF.Tensor, xbar: TF.Tensor, B: number, T: number): TF.Tensor {
    const { tf, o } = this;
    const { cells: N, channels: D, scoreDim: k, hidden: h } = o;
    const barScored = k === D ? xbar : tf.slice(xbar, [0, 0, 0], [B, N, k]);
    const avg = tf.matMul(barScored.reshape([B * N, k]), this.W).reshape([B, 1, N, h]);
    return tf.sub(pre.reshape([B, T, N, h]), tf.mul(avg, this.lambda)).reshape([B * T, N, h]);
  }

  /** + U g_t + b: the snippet's context tells the focus where to look  [B·T, N, h] */
  private addContext(pre: TF.Tensor, batch: BatchTensors): TF.Tensor {
    const { tf, o } = this;
    const { B, T } = batch;
    if (o.context.kind === 'none') return tf.add(pre, this.b);
    const g = o.context.kind === 'mean' ? batch.pooled[o.stream] : batch.vectors[o.context.stream]; // [B, T, C_g]
    const ug = tf.add(tf.matMul(g.reshape([B * T, -1]), this.U), this.b); // U g_t + b   [B·T, h]
    return tf.add(pre, ug.reshape([B * T, 1, o.hidden]));
  }

  /** − κ ⊙ Σ_i α_ti x̄_i: what the attended cells hold beyond their video average  [B·T, D or 2D] */
  private contrastValue(
    pooled: TF.Tensor,
    alpha: TF.Tensor,
    xbar: TF.Tensor,
    B: number,
    T: number,
  ): TF.Tensor {
    const { tf, o } = this;
    const attendedBar = tf.matMul(alpha.reshape([B, T, o.cells]), xbar).reshape([B * T, o.channels]);
    const contrasted = tf.sub(pooled, tf.mul(attendedBar, this.kappa));
    // 'both': the plain view keeps what is there all along, the contrasted one the brief cue
    return o.valueContrast === 'both' ? tf.concat([pooled, contrasted], 1) : contrasted;
  }
}

/** One stream's part of u_t: act(P x + p), x the pooled map or the vector  [B·T, width] → [B·T, d]. */
export class StreamProjection {
  static params(s: StreamPart, d: number): Record<string, ParamSpec> {
    return { [`proj.${s.name}.P`]: matrix(s.width, d), [`proj.${s.name}.p`]: bias(d) };
  }

  private readonly P: TF.Variable; // [width, d]
  private readonly p: TF.Variable; // [d]

  constructor(
    private readonly tf: Tf,
    readonly stream: StreamPart,
    private readonly activation: 'relu' | 'tanh',
    vars: Variables,
  ) {
    this.P = vars[`proj.${stream.name}.P`];
    this.p = vars[`proj.${stream.name}.p`];
  }

  forward(x: TF.Tensor): TF.Tensor {
    const { tf } = this;
    const projected = tf.add(tf.matMul(x, this.P), this.p);
    return this.activation === 'tanh' ? tf.tanh(projected) : tf.relu(projected);
  }
}

/**
 * Temporal focus over the snippet vectors: β_k = softmax_t(v_kᵀ tanh(Q u_t [− μ ⊙ mean_t Q u_t] + q)
 * [+ Σ_s γ_s ε_st]), padded snippets masked out.
 */
export class TemporalFocus {
  /** parameters in initialisation order: Q, q, v, μ (focus contrast), γ per evidence stream */
  static params(o: TemporalOptions): Record<string, ParamSpec> {
    const evidence: Record<string, ParamSpec> = {};
    for (const s of o.evidence) evidence[`temporal.gamma.${s}`] = scale(1);
    return {
      'temporal.Q': matrix(o.width, o.hidden),
      'temporal.q': bias(o.hidden),
      'temporal.v': scoreVector(o.hidden, o.heads),
      ...(o.focusContrast ? { 'temporal.mu': scale(o.hidden) } : {}),
      ...evidence,
    };
  }

  private readonly Q: TF.Variable; // [D_u, h]
  private readonly q: TF.Variable; // [h]
  private readonly v: TF.Variable; // [h, K]
  private readonly mu: TF.Variable; // [h]   (focus contrast only)
  private readonly gamma: TF.Variable[]; // [1] per evidence stream

  constructor(
    private readonly tf: Tf,
    readonly o: TemporalOptions,
    vars: Variables,
  ) {
    [this.Q, this.q, this.v, this.mu] = ['Q', 'q', 'v', 'mu'].map((n) => vars[`temporal.${n}`]);
    this.gamma = o.evidence.map((s) => vars[`temporal.gamma.${s}`]);
  }

  /** u [B·T, D_u], each evidence stream's ε [B·T] (in o.evidence order) → β [B, K, T] */
  forward(u: TF.Tensor, batch: BatchTensors, evidence: TF.Tensor[]): TF.Tensor {
    const { tf, o } = this;
    const { B, T, mask } = batch;
    const Ht = o.hidden;
    let qu = tf.matMul(u, this.Q); // Q u_t  [B·T, h]
    if (o.focusContrast) {
      // Q u_t − μ ⊙ mean_t Q u_t: the snippet against its video's average
      const avg = videoMean(tf, qu.reshape([B, T, Ht]), mask).reshape([B, 1, Ht]);
      qu = tf.sub(qu.reshape([B, T, Ht]), tf.mul(avg, this.mu)).reshape([B * T, Ht]);
    }
    const h = tf.tanh(tf.add(qu, this.q));
    let scores = tf.matMul(h, this.v).reshape([B, T, o.heads]).transpose([0, 2, 1]); // [B, K, T]
    if (o.evidence.length) {
      // the spatial focus's own evidence that the snippet holds a cue, γ_s · log-mean-exp_i e_ti
      const weighted = evidence.map((e, i) => tf.mul(e, this.gamma[i]));
      const ev = weighted.length === 1 ? weighted[0] : tf.addN(weighted);
      scores = tf.add(scores, ev.reshape([B, 1, T]));
    }
    const masked = tf.add(scores, tf.mul(tf.sub(mask, 1), 1e9).reshape([B, 1, T]));
    return tf.softmax(masked); // softmax over t; padded snippets → exp(-1e9) = 0
  }
}

/** Without a temporal focus: β = the mean over real snippets  [B, 1, T]. */
function meanOverSnippets(tf: Tf, batch: BatchTensors): TF.Tensor {
  const m = batch.mask.reshape([batch.B, 1, batch.T]);
  return tf.div(m, tf.sum(m, 2, true));
}

/** The head: (inverted) dropout → linear  z [B, K·D_u] → logits [B, classes]. */
export class Classifier {
  static params(width: number, classes: number): Record<string, ParamSpec> {
    return { 'classifier.W': matrix(width, classes), 'classifier.b': bias(classes) };
  }

  private readonly W: TF.Variable; // [K·D_u, classes]
  private readonly b: TF.Variable; // [classes]

  constructor(
    private readonly tf: Tf,
    vars: Variables,
  ) {
    this.W = vars['classifier.W'];
    this.b = vars['classifier.b'];
  }

  forward(z: TF.Tensor, dropMask: TF.Tensor | undefined): TF.Tensor {
    const { tf } = this;
    const zd = dropMask ? tf.mul(z, dropMask) : z;
    return tf.add(tf.matMul(zd, this.W), this.b);
  }
}

/** Every parameter of the architecture, in a fixed order (initialisation consumes the PRNG in this order). */
function architectureParams(arch: Architecture): Record<string, ParamSpec> {
  const p: Record<string, ParamSpec> = {};
  for (const s of arch.streams) {
    if (s.spatial) Object.assign(p, SpatialFocus.params(s.spatial));
    Object.assign(p, StreamProjection.params(s, arch.projDim));
  }
  if (arch.temporal) Object.assign(p, TemporalFocus.params(arch.temporal));
  return Object.assign(p, Classifier.params(arch.heads * arch.snippetWidth, arch.classes));
}

/** Parameter names and shapes for a config and its inputs, in initialisation order. */
export function paramSpecs(cfg: ModelConfig, dims: InputDims, nClasses: number): Record<string, ParamSpec> {
  return architectureParams(resolveArchitecture(cfg, dims, nClasses));
}

let instances = 0;

export class Dfan {
  /** every parameter by name (the names in the run's weights file), in initialisation order */
  readonly params: Record<string, TF.Variable>;
  readonly arch: Architecture;
  /** temporal heads (1 without a temporal focus) */
  readonly K: number;
  /** the units: a spatial focus per map stream (spatial variants), a projection per stream, … */
  readonly spatial: Record<string, SpatialFocus> = {};
  readonly projections: StreamProjection[];
  /** … the temporal focus (temporal variants) and the classifier head */
  readonly temporal: TemporalFocus | null;
  readonly classifier: Classifier;
  /** the parameters under weight decay, in parameter order */
  private readonly decayed: TF.Variable[];

  constructor(
    private readonly tf: Tf,
    readonly cfg: ModelConfig,
    readonly dims: InputDims,
    readonly classes: string[],
    values: Record<string, Float32Array>,
  ) {
    this.arch = resolveArchitecture(cfg, dims, classes.length);
    const specs = architectureParams(this.arch);
    this.params = {};
    for (const [name, s] of Object.entries(specs)) {
      if (!values[name]) throw new Error(`missing parameter ${name}`);
      this.params[name] = tf.variable(tf.tensor(values[name], s.shape), true, `dfan${++instances}/${name}`);
    }
    this.decayed = Object.entries(specs)
      .filter(([, s]) => s.decay)
      .map(([name]) => this.params[name]);
    this.K = this.arch.heads;
    for (const s of this.arch.streams)
      if (s.spatial) this.spatial[s.name] = new SpatialFocus(tf, s.spatial, this.params);
    this.projections = this.arch.streams.map(
      (s) => new StreamProjection(tf, s, this.arch.activation, this.params),
    );
    this.temporal = this.arch.temporal && new TemporalFocus(tf, this.arch.temporal, this.params);
    this.classifier = new Classifier(tf, this.params);
  }

  /** Map streams whose spatial scorer reads only the leading k < D channels: k per stream. */
  scoreDims(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const { spatial: o } of this.arch.streams)
      if (o && o.scoreDim < o.channels) out[o.stream] = o.scoreDim;
    return out;
  }

  /** The whole forward pass. */
  forward(batch: BatchTensors): ForwardOutput {
    const { tf, K } = this;
    const { B, T } = batch;
    const { u, alpha, evidence } = this.snippetVectors(batch); // u [B·T, D_u]
    const Du = u.shape[1] as number;
    const betaHeads = this.temporal // [B, K, T]
      ? this.temporal.forward(u, batch, evidence)
      : meanOverSnippets(tf, batch);
    let z = tf.matMul(betaHeads, u.reshape([B, T, Du])).reshape([B, K * Du]); // z_k = Σ_t β_kt u_t
    if (batch.mix) z = tf.matMul(batch.mix, z); // mixup: z'_b = λ_b z_b + (1 − λ_b) z_partner
    const logits = this.classifier.forward(z, batch.dropMask);
    const beta = K === 1 ? betaHeads.reshape([B, T]) : tf.mean(betaHeads, 1);
    return { logits, beta, betaHeads, alpha };
  }

  /**
   * u_t: one projected part per stream, in stream order (a map through its spatial focus, or its
   * mean over cells), the parts of dropped streams zeroed (stream dropout).
   */
  private snippetVectors(batch: BatchTensors): {
    u: TF.Tensor; // [B·T, D_u]
    alpha: Record<string, TF.Tensor>; // [B, T, N]
    evidence: TF.Tensor[]; // [B·T] per evidence stream
  } {
    const { tf } = this;
    const { B, T } = batch;
    const alpha: Record<string, TF.Tensor> = {};
    const evidence: TF.Tensor[] = [];
    const parts = this.projections.map((projection) => {
      const s = projection.stream;
      if (s.kind === 'vector') return projection.forward(batch.vectors[s.name].reshape([B * T, -1]));
      if (!s.spatial) return projection.forward(batch.pooled[s.name].reshape([B * T, -1]));
      const focus = this.spatial[s.name].forward(batch);
      alpha[s.name] = focus.alpha.reshape([B, T, -1]);
      if (focus.evidence) evidence.push(focus.evidence);
      return projection.forward(focus.pooled);
    });
    let u = parts.length === 1 ? parts[0] : tf.concat(parts, 1); // [B·T, D_u]
    if (batch.streamMask) {
      // stream dropout: a dropped stream is absent from u_t for every snippet of that video
      const Du = u.shape[1] as number;
      u = tf.mul(u.reshape([B, T, Du]), batch.streamMask.reshape([B, 1, Du])).reshape([B * T, Du]);
    }
    return { u, alpha, evidence };
  }

  /**
   * Mean cross-entropy (+ λ · polarity BCE when configured) + weight decay.
   * `labels` [B] int32; `positive` [classes] 1 for positive classes; `mix` the mixup matrix [B, B].
   */
  loss(
    logits: TF.Tensor,
    labels: TF.Tensor,
    opts: { weightDecay: number; positive?: TF.Tensor; mix?: TF.Tensor },
  ): TF.Scalar {
    const { tf, cfg } = this;
    let onehot = tf.oneHot(labels, this.classes.length).toFloat();
    if (opts.mix) onehot = tf.matMul(opts.mix, onehot);
    const logp = tf.logSoftmax(logits);
    let loss = tf.neg(tf.mean(tf.sum(tf.mul(onehot, logp), 1))) as TF.Scalar;
    if (cfg.polarityWeight > 0 && opts.positive) {
      const pPos = tf.clipByValue(tf.sum(tf.mul(tf.exp(logp), opts.positive), 1), 1e-6, 1 - 1e-6);
      const yPos = tf.sum(tf.mul(onehot, opts.positive), 1);
      const bce = tf.neg(
        tf.mean(tf.add(tf.mul(yPos, tf.log(pPos)), tf.mul(tf.sub(1, yPos), tf.log(tf.sub(1, pPos))))),
      );
      loss = tf.add(loss, tf.mul(bce, cfg.polarityWeight)) as TF.Scalar;
    }
    if (opts.weightDecay > 0) {
      const sq = this.decayed.map((v) => tf.sum(tf.square(v)));
      loss = tf.add(loss, tf.mul(tf.addN(sq), opts.weightDecay * 0.5)) as TF.Scalar;
    }
    return loss;
  }

  /** Current parameter values (copies). */
  snapshot(): Record<string, Float32Array> {
    const out: Record<string, Float32Array> = {};
    for (const [name, v] of Object.entries(this.params))
      out[name] = new Float32Array(v.dataSync() as Float32Array);
    return out;
  }

  restore(values: Record<string, Float32Array>): void {
    this.tf.tidy(() => {
      for (const [name, v] of Object.entries(this.params)) v.assign(this.tf.tensor(values[name], v.shape));
    });
  }

  dispose(): void {
    for (const v of Object.values(this.params)) v.dispose();
  }
}
