/**
 * The Dual Focus Attention Network, readable top to bottom.
 *
 *   frozen features ──► spatial focus (per map stream) ──► snippet vector u_t ──► temporal focus ──► classifier
 *   object map [T,N,C]   e_i = wᵀ tanh(W x_i + U g_t)      u_t = [relu(P_s x̂_t + p_s) ;     β = softmax_t(vᵀ tanh(Q u_t))   dropout → linear
 *   (N = H·W cells)      α = softmax_i(e), x̂_t = Σ α_i x_i        relu(P_v v_t + p_v) …]   z = Σ_t β_t u_t (per head)
 *
 * Variants from the same code: `mean` (x̂ = mean of cells, z = mean over real snippets),
 * `spatial`, `temporal`, `dual`. Padded snippets (mask = 0) get β = 0 exactly.
 * Shapes: B videos × T snippets; N cells; D channels of a map stream after the load-time
 * reduction (see features.ts); d = projDim; K = heads.
 */
import type * as TF from '@tensorflow/tfjs';
import { rng } from '../util/random.js';
import type { Tf } from './backend.js';
import { fixedScoreDim, type ModelConfig, usesSpatial, usesTemporal } from './config.js';

/** What the model needs to know about its inputs (after preprocessing). */
export interface InputDims {
  /**
   * map streams: cells N = H·W and channels D (after reduction); `ordered` when the channels are
   * principal components in decreasing variance (a PCA-reduced map)
   */
  maps: Record<string, { H: number; W: number; D: number; ordered?: boolean }>;
  /** vector streams: channels */
  vectors: Record<string, { D: number }>;
}

/** A batch as tensors. Maps are only needed by the spatial variants; the others use `pooled`. */
export interface BatchTensors {
  B: number;
  T: number;
  maps: Record<string, TF.Tensor>; // [B, T, N, D]
  /** the leading k channels of a map, for its spatial scorer, when k < D (see Dfan.scoreDims) */
  scored?: Record<string, TF.Tensor>; // [B, T, N, k]
  pooled: Record<string, TF.Tensor>; // [B, T, D]  mean over cells
  /** each cell's mean over the video's real snippets, x̄_i (computed from maps + mask when absent) */
  cellMeans?: Record<string, TF.Tensor>; // [B, N, D]
  vectors: Record<string, TF.Tensor>; // [B, T, C]
  mask: TF.Tensor; // [B, T]  1 = real snippet
  /** training only: inverted-dropout keep mask for z, [B, K·D_u] */
  dropMask?: TF.Tensor;
  /** training only: mixup matrix [B,B] (row b: λ_b at b, 1 − λ_b at its partner) */
  mix?: TF.Tensor;
  /** training only: whole-stream keep mask for u_t, [B, D_u] (0 = the stream is dropped for that video) */
  streamMask?: TF.Tensor;
}

export interface ForwardOutput {
  logits: TF.Tensor; // [B, classes]
  beta: TF.Tensor; // [B, T]   temporal focus (mean over heads)
  betaHeads: TF.Tensor; // [B, K, T]
  alpha: Record<string, TF.Tensor>; // [B, T, N]  spatial focus per map stream
}

export interface ParamSpec {
  shape: number[];
  /** L2 weight decay applies (matrices, not biases / score vectors) */
  decay: boolean;
  init: 'glorot' | 'zeros' | 'small' | 'one';
}

/** Parameter names and shapes, in a fixed order (initialisation consumes the PRNG in this order). */
export function paramSpecs(cfg: ModelConfig, dims: InputDims, nClasses: number): Record<string, ParamSpec> {
  const p: Record<string, ParamSpec> = {};
  const mat = (shape: number[]): ParamSpec => ({ shape, decay: true, init: 'glorot' });
  const vec = (n: number): ParamSpec => ({ shape: [n], decay: false, init: 'zeros' });
  const ctx = spatialContextOf(cfg, dims);
  for (const s of cfg.streams) {
    const m = dims.maps[s];
    if (m) {
      if (usesSpatial(cfg.variant)) {
        p[`spatial.${s}.W`] = mat([scoreDimOf(cfg, m), cfg.spatialHidden]);
        if (ctx !== 'none') {
          const cd = ctx === 'mean' ? m.D : dims.vectors[ctx].D;
          p[`spatial.${s}.U`] = mat([cd, cfg.spatialHidden]);
        }
        p[`spatial.${s}.b`] = vec(cfg.spatialHidden);
        if (cfg.valueContrast !== 'off')
          p[`spatial.${s}.kappa`] = { shape: [m.D], decay: false, init: 'one' };
        if (cfg.focusContrast)
          p[`spatial.${s}.lambda`] = { shape: [cfg.spatialHidden], decay: false, init: 'one' };
        p[`spatial.${s}.w`] = { shape: [cfg.spatialHidden, 1], decay: false, init: 'small' };
      }
      p[`proj.${s}.P`] = mat([pooledWidth(cfg, m.D), cfg.projDim]);
      p[`proj.${s}.p`] = vec(cfg.projDim);
    } else {
      p[`proj.${s}.P`] = mat([dims.vectors[s].D, cfg.projDim]);
      p[`proj.${s}.p`] = vec(cfg.projDim);
    }
  }
  const Du = cfg.projDim * cfg.streams.length;
  const K = usesTemporal(cfg.variant) ? cfg.heads : 1;
  if (usesTemporal(cfg.variant)) {
    p['temporal.Q'] = mat([Du, cfg.temporalHidden]);
    p['temporal.q'] = vec(cfg.temporalHidden);
    p['temporal.v'] = { shape: [cfg.temporalHidden, K], decay: false, init: 'small' };
    if (cfg.focusContrast) p['temporal.mu'] = { shape: [cfg.temporalHidden], decay: false, init: 'one' };
    if (cfg.temporalEvidence && usesSpatial(cfg.variant)) {
      for (const s of cfg.streams)
        if (dims.maps[s]) p[`temporal.gamma.${s}`] = { shape: [1], decay: false, init: 'one' };
    }
  }
  p['classifier.W'] = mat([K * Du, nClasses]);
  p['classifier.b'] = vec(nClasses);
  return p;
}

/** Width of a map stream's pooled value: D, or 2D when the classifier reads both views. */
function pooledWidth(cfg: ModelConfig, D: number): number {
  return usesSpatial(cfg.variant) && cfg.valueContrast === 'both' ? 2 * D : D;
}

/**
 * Channels of a map that the spatial scorer reads: the leading `spatialScoreDim` principal
 * components when the map is PCA-reduced (auto: AUTO_SCORE_DIM), else all of them.
 */
export function scoreDimOf(cfg: ModelConfig, m: { D: number; ordered?: boolean }): number {
  const k = fixedScoreDim(cfg.spatialScoreDim);
  return m.ordered && k > 0 && k < m.D ? k : m.D;
}

/** The context stream actually used by the spatial focus ('none', 'mean' or a vector stream). */
export function spatialContextOf(cfg: ModelConfig, dims: InputDims): string {
  if (cfg.spatialContext === 'none' || cfg.spatialContext === 'mean') return cfg.spatialContext;
  return cfg.streams.includes(cfg.spatialContext) && dims.vectors[cfg.spatialContext]
    ? cfg.spatialContext
    : 'mean';
}

/** Seeded initial values: Glorot-uniform matrices, zero biases, small score vectors. */
export function initParams(specs: Record<string, ParamSpec>, seed: number): Record<string, Float32Array> {
  const random = rng((seed ^ 0x5eed) >>> 0);
  const out: Record<string, Float32Array> = {};
  for (const [name, s] of Object.entries(specs)) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const a = new Float32Array(n);
    if (s.init === 'glorot') {
      const limit = Math.sqrt(6 / (s.shape[0] + s.shape[s.shape.length - 1]));
      for (let i = 0; i < n; i++) a[i] = (random() * 2 - 1) * limit;
    } else if (s.init === 'small') {
      for (let i = 0; i < n; i++) a[i] = (random() * 2 - 1) * 0.1;
    } else if (s.init === 'one') {
      a.fill(1);
    }
    out[name] = a;
  }
  return out;
}

/** Mean over the real snippets of each video: x [B, T, F], mask [B, T] → [B, F]. */
function videoMean(tf: Tf, x: TF.Tensor, mask: TF.Tensor): TF.Tensor {
  const [B, T] = mask.shape as number[];
  const sum = tf.matMul(mask.reshape([B, 1, T]), x).reshape([B, -1]); // Σ_t m_t x_t
  return tf.div(sum, tf.maximum(tf.sum(mask, 1, true), 1));
}

let instances = 0;

export class Dfan {
  readonly params: Record<string, TF.Variable>;
  readonly K: number;
  private readonly ctx: string;

  constructor(
    private readonly tf: Tf,
    readonly cfg: ModelConfig,
    readonly dims: InputDims,
    readonly classes: string[],
    values: Record<string, Float32Array>,
  ) {
    const specs = paramSpecs(cfg, dims, classes.length);
    this.params = {};
    for (const [name, s] of Object.entries(specs)) {
      if (!values[name]) throw new Error(`missing parameter ${name}`);
      this.params[name] = tf.variable(tf.tensor(values[name], s.shape), true, `dfan${++instances}/${name}`);
    }
    this.K = usesTemporal(cfg.variant) ? cfg.heads : 1;
    this.ctx = spatialContextOf(cfg, dims);
  }

  /** Map streams whose spatial scorer reads only the leading k < D channels: k per stream. */
  scoreDims(): Record<string, number> {
    const out: Record<string, number> = {};
    if (!usesSpatial(this.cfg.variant)) return out;
    for (const s of this.cfg.streams) {
      const m = this.dims.maps[s];
      if (m && scoreDimOf(this.cfg, m) < m.D) out[s] = scoreDimOf(this.cfg, m);
    }
    return out;
  }

  /** Spatial focus on one map stream: returns the pooled snippet features x̂ [B·T, D] and α [B·T, N]. */
  spatialFocus(
    stream: string,
    batch: BatchTensors,
  ): { pooled: TF.Tensor; alpha: TF.Tensor; evidence: TF.Tensor } {
    const { tf } = this;
    const { B, T } = batch;
    const { H, W: Wd, D } = this.dims.maps[stream];
    const N = H * Wd;
    const x = batch.maps[stream].reshape([B * T, N, D]);
    const W = this.params[`spatial.${stream}.W`];
    const k = scoreDimOf(this.cfg, this.dims.maps[stream]);
    const cells = x.reshape([B * T * N, D]);
    const lead = batch.scored?.[stream];
    const scored =
      k === D ? cells : lead ? lead.reshape([B * T * N, k]) : tf.slice(cells, [0, 0], [B * T * N, k]);
    let pre = tf.matMul(scored, W).reshape([B * T, N, this.cfg.spatialHidden]); // W x_i
    const lambda = this.params[`spatial.${stream}.lambda`];
    const kappa = this.params[`spatial.${stream}.kappa`];
    // x̄_i, the cell over the video's real snippets [B, N, D]: an input, so no gradient flows into it
    const xbar =
      lambda || kappa
        ? (batch.cellMeans?.[stream] ??
          videoMean(tf, x.reshape([B, T, N * D]), batch.mask).reshape([B, N, D]))
        : null;
    if (lambda && xbar) {
      // W x_ti − λ ⊙ W x̄_i (= mean_t W x_ti): the cell against the same cell over the video
      const h = this.cfg.spatialHidden;
      const barScored = k === D ? xbar : tf.slice(xbar, [0, 0, 0], [B, N, k]);
      const avg = tf.matMul(barScored.reshape([B * N, k]), W).reshape([B, 1, N, h]);
      pre = tf.sub(pre.reshape([B, T, N, h]), tf.mul(avg, lambda)).reshape([B * T, N, h]);
    }
    const U = this.params[`spatial.${stream}.U`];
    const b = this.params[`spatial.${stream}.b`];
    if (U) {
      const g = this.ctx === 'mean' ? batch.pooled[stream] : batch.vectors[this.ctx];
      const ug = tf.add(tf.matMul(g.reshape([B * T, -1]), U), b); // U g_t + b   [B·T, h]
      pre = tf.add(pre, ug.reshape([B * T, 1, this.cfg.spatialHidden]));
    } else {
      pre = tf.add(pre, b);
    }
    const e = tf.matMul(
      tf.tanh(pre).reshape([B * T * N, this.cfg.spatialHidden]),
      this.params[`spatial.${stream}.w`],
    );
    const scores = e.reshape([B * T, N]);
    const alpha = tf.softmax(scores); // softmax over the H·W cells
    let pooled = tf.matMul(alpha.reshape([B * T, 1, N]), x).reshape([B * T, D]); // x̂ = Σ α_i x_i
    if (kappa && xbar) {
      // − κ ⊙ Σ_i α_ti x̄_i: what the attended cells hold beyond their video average
      const attendedBar = tf.matMul(alpha.reshape([B, T, N]), xbar).reshape([B * T, D]);
      const contrasted = tf.sub(pooled, tf.mul(attendedBar, kappa));
      // 'both': the plain view keeps what is there all along, the contrasted one the brief cue
      pooled = this.cfg.valueContrast === 'both' ? tf.concat([pooled, contrasted], 1) : contrasted;
    }
    // how strongly the snippet holds a cue: log-mean-exp of the cell scores  [B·T]
    const evidence = tf.sub(tf.logSumExp(scores, 1), Math.log(N));
    return { pooled, alpha, evidence };
  }

  /** The whole forward pass. */
  forward(batch: BatchTensors): ForwardOutput {
    const { tf, cfg } = this;
    const { B, T } = batch;
    const alpha: Record<string, TF.Tensor> = {};
    const evidence: TF.Tensor[] = [];

    // snippet vector u_t: one projected part per stream, in cfg.streams order  [B·T, d]
    const parts: TF.Tensor[] = [];
    for (const s of cfg.streams) {
      let x: TF.Tensor;
      if (this.dims.maps[s]) {
        if (usesSpatial(cfg.variant)) {
          const sf = this.spatialFocus(s, batch);
          x = sf.pooled;
          alpha[s] = sf.alpha.reshape([B, T, -1]);
          const gamma = this.params[`temporal.gamma.${s}`];
          if (gamma) evidence.push(tf.mul(sf.evidence, gamma));
        } else {
          x = batch.pooled[s].reshape([B * T, -1]);
        }
      } else {
        x = batch.vectors[s].reshape([B * T, -1]);
      }
      const projected = tf.add(tf.matMul(x, this.params[`proj.${s}.P`]), this.params[`proj.${s}.p`]);
      parts.push(cfg.activation === 'tanh' ? tf.tanh(projected) : tf.relu(projected));
    }
    let u = parts.length === 1 ? parts[0] : tf.concat(parts, 1); // [B·T, Du]
    const Du = u.shape[1] as number;
    if (batch.streamMask) {
      // stream dropout: a dropped stream is absent from u_t for every snippet of that video
      u = tf.mul(u.reshape([B, T, Du]), batch.streamMask.reshape([B, 1, Du])).reshape([B * T, Du]);
    }

    // temporal focus β [B, K, T]
    let betaHeads: TF.Tensor;
    if (usesTemporal(cfg.variant)) {
      let qu = tf.matMul(u, this.params['temporal.Q']); // Q u_t  [B·T, h]
      const mu = this.params['temporal.mu'];
      if (mu) {
        // Q u_t − μ ⊙ mean_t Q u_t: the snippet against its video's average
        const Ht = this.cfg.temporalHidden;
        const avg = videoMean(tf, qu.reshape([B, T, Ht]), batch.mask).reshape([B, 1, Ht]);
        qu = tf.sub(qu.reshape([B, T, Ht]), tf.mul(avg, mu)).reshape([B * T, Ht]);
      }
      const h = tf.tanh(tf.add(qu, this.params['temporal.q']));
      let scores = tf.matMul(h, this.params['temporal.v']).reshape([B, T, this.K]).transpose([0, 2, 1]);
      if (evidence.length) {
        // the spatial focus's own evidence that the snippet holds a cue, γ_s · log-mean-exp_i e_ti
        const ev = evidence.length === 1 ? evidence[0] : tf.addN(evidence);
        scores = tf.add(scores, ev.reshape([B, 1, T]));
      }
      const masked = tf.add(scores, tf.mul(tf.sub(batch.mask, 1), 1e9).reshape([B, 1, T]));
      betaHeads = tf.softmax(masked); // softmax over t; padded snippets → exp(-1e9) = 0
    } else {
      const m = batch.mask.reshape([B, 1, T]);
      betaHeads = tf.div(m, tf.sum(m, 2, true)); // mean over real snippets
    }
    let z = tf.matMul(betaHeads, u.reshape([B, T, Du])).reshape([B, this.K * Du]); // z_k = Σ_t β_kt u_t
    if (batch.mix) z = tf.matMul(batch.mix, z);

    // classifier: dropout → linear
    const zd = batch.dropMask ? tf.mul(z, batch.dropMask) : z;
    const logits = tf.add(tf.matMul(zd, this.params['classifier.W']), this.params['classifier.b']);
    const beta = this.K === 1 ? betaHeads.reshape([B, T]) : tf.mean(betaHeads, 1);
    return { logits, beta, betaHeads, alpha };
  }

  /**
   * Mean cross-entropy (+ λ · polarity BCE when configured) + weight decay.
   * `labels` [B] int32; `positive` [classes] 1 for positive classes.
   */
  loss(
    logits: TF.Tensor,
    labels: TF.Tensor,
    opts: { weightDecay: number; positive?: TF.Tensor; mix?: TF.Tensor },
  ): TF.Scalar {
    const { tf, cfg } = this;
    const n = this.classes.length;
    let onehot = tf.oneHot(labels, n).toFloat();
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
      const specs = paramSpecs(cfg, this.dims, n);
      const sq = Object.entries(this.params)
        .filter(([name]) => specs[name].decay)
        .map(([, v]) => tf.sum(tf.square(v)));
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
