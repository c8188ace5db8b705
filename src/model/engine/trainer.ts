/**
 * Training and prediction of a DFAN on the native kernels: the parameters live here as
 * Float32Arrays (names and shapes of paramSpecs), a step is forward → loss → backward → Adam
 * (the rule of src/model/adam.ts, weight decay folded into each decayed gradient). The head is
 * built from the resolved architecture (architecture.ts), as the tfjs model is. The training loop
 * stays the caller's (src/model/train.ts): it draws the order and every mask of a batch
 * (masks.ts) from its seeded stream exactly as for tfjs, so a seed means the same batches on both
 * engines, and the same numbers run to run on one machine. `predictSet` (validation, the observed
 * test split) reads the parameters between steps and changes neither them nor Adam's moments.
 */
import { argmax } from '../../data/metrics.js';
import { ADAM } from '../adam.js';
import { type InputDims, type ParamSpec, resolveArchitecture } from '../architecture.js';
import type { ModelConfig } from '../config.js';
import { paramSpecs } from '../dfan.js';
import type { FeatureSet } from '../features.js';
import type { SetPredictions } from '../run.js';
import { gatherBatch } from './batch.js';
import { type HeadBatch, NativeHead } from './head.js';
import { Scratch } from './linalg.js';
import { lossAndGradient } from './loss.js';
import { type NativeKernels, nativeKernels } from './native.js';
import type { Params } from './params.js';

export interface StepOptions {
  weightDecay: number;
  /** [classes] 1 = positive class, for the polarity loss (cfg.polarityWeight) */
  positive?: Float32Array;
}

export interface StepResult {
  /** the batch's mean loss, weight decay included (as Dfan.loss) */
  loss: number;
  /** argmax of each video's logits */
  predicted: Int32Array;
}

export class NativeTrainer {
  readonly head: NativeHead;
  readonly params: Params = {};
  private readonly grads: Params = {};
  private readonly moments: Record<string, { m: Float32Array; v: Float32Array }> = {};
  private readonly specs: Record<string, ParamSpec>;
  private readonly sc = new Scratch();
  private t = 0;

  constructor(
    private readonly nk: NativeKernels,
    readonly cfg: ModelConfig,
    readonly dims: InputDims,
    readonly classes: string[],
    values: Params,
    private readonly lr: number,
  ) {
    this.head = new NativeHead(nk, resolveArchitecture(cfg, dims, classes.length));
    this.specs = paramSpecs(cfg, dims, classes.length);
    for (const [name, s] of Object.entries(this.specs)) {
      const n = s.shape.reduce((a, b) => a * b, 1);
      if (!values[name] || values[name].length !== n) throw new Error(`missing parameter ${name}`);
      this.params[name] = new Float32Array(values[name]);
      this.grads[name] = new Float32Array(n);
      this.moments[name] = { m: new Float32Array(n), v: new Float32Array(n) };
    }
  }

  /** Gather the videos at idx of `set` (reused arrays: valid until the next gather). */
  gather(set: FeatureSet, idx: number[], mapDrop?: { p: number; seed: number }): HeadBatch {
    return gatherBatch(this.nk, this.sc, set, idx, { maps: this.head.spatial, mapDrop });
  }

  /** One optimiser step on a batch. */
  step(batch: HeadBatch, labels: Int32Array, o: StepOptions): StepResult {
    const { B } = batch;
    const C = this.classes.length;
    const logits = this.head.forward(this.params, batch);
    const dlogits = this.sc.get('dlogits', B * C);
    const loss = lossAndGradient(logits, labels, B, C, dlogits, {
      mix: batch.mix,
      positive: o.positive,
      polarityWeight: this.cfg.polarityWeight,
    });
    const predicted = argmaxRows(logits, B, C);
    this.head.backward(this.params, this.grads, dlogits);
    this.t++;
    const c1 = 1 - ADAM.beta1 ** this.t;
    const c2 = 1 - ADAM.beta2 ** this.t;
    let squares = 0;
    for (const [name, theta] of Object.entries(this.params)) {
      const decay = this.specs[name].decay && o.weightDecay > 0 ? o.weightDecay : 0;
      const { m, v } = this.moments[name];
      const ss = this.nk.adam(
        theta,
        m,
        v,
        this.grads[name],
        this.lr,
        ADAM.beta1,
        ADAM.beta2,
        ADAM.epsilon,
        c1,
        c2,
        decay,
      );
      if (decay) squares += ss;
    }
    return { loss: loss + 0.5 * o.weightDecay * squares, predicted };
  }

  /** Copies of the current parameters. */
  values(): Params {
    return Object.fromEntries(Object.entries(this.params).map(([k, v]) => [k, new Float32Array(v)]));
  }

  /** Set the parameters (the optimiser's moments stay). */
  restore(values: Params): void {
    for (const [name, v] of Object.entries(this.params)) v.set(values[name]);
  }

  /** Probabilities, focus and mean cross-entropy of every video of a set (no dropout). */
  predictSet(set: FeatureSet, opts: { batchSize?: number; attention?: boolean } = {}): SetPredictions {
    const bs = opts.batchSize ?? 64;
    const n = set.size;
    const C = this.classes.length;
    const T = set.T;
    const { K } = this.head;
    const probs = new Float32Array(n * C);
    const beta = new Float32Array(n * T);
    const alpha: Record<string, Float32Array> = {};
    const maps = Object.entries(set.prep.streams).filter(([, s]) => s.kind === 'map');
    if (opts.attention !== false)
      for (const [name, sp] of maps)
        alpha[name] = new Float32Array(n * T * sp.H * sp.W).fill(1 / (sp.H * sp.W));
    let lossSum = 0;
    for (let i = 0; i < n; i += bs) {
      const idx = Array.from({ length: Math.min(bs, n - i) }, (_, j) => i + j);
      const logits = this.head.forward(this.params, this.gather(set, idx));
      for (let b = 0; b < idx.length; b++) {
        const row = logits.subarray(b * C, (b + 1) * C);
        const mx = Math.max(...row);
        let sum = 0;
        for (const x of row) sum += Math.exp(x - mx);
        for (let c = 0; c < C; c++) probs[(i + b) * C + c] = Math.exp(row[c] - mx) / sum;
        lossSum -= row[set.labels[i + b]] - mx - Math.log(sum);
        for (let t = 0; t < T; t++) {
          let s = 0;
          for (let k = 0; k < K; k++) s += this.head.beta[(b * K + k) * T + t];
          beta[(i + b) * T + t] = s / K;
        }
      }
      if (opts.attention === false) continue;
      for (const [name, sp] of maps) {
        const a = this.head.alpha(name); // [b·T, N] of this batch
        if (a) alpha[name].set(a, i * T * sp.H * sp.W);
      }
    }
    return { probs, beta, alpha, loss: n ? lossSum / n : 0 };
  }
}

function argmaxRows(x: Float32Array, rows: number, cols: number): Int32Array {
  return Int32Array.from({ length: rows }, (_, r) => argmax(x.subarray(r * cols, (r + 1) * cols)));
}

/**
 * A native trainer for this model, or null when the native kernels are not available (then the
 * caller trains on tfjs; nativeStatus() says why).
 */
export function nativeTrainer(
  cfg: ModelConfig,
  dims: InputDims,
  classes: string[],
  values: Params,
  lr: number,
): NativeTrainer | null {
  const nk = nativeKernels();
  return nk ? new NativeTrainer(nk, cfg, dims, classes, values, lr) : null;
}
