/**
 * The training loop, on sets already in memory: Adam on shuffled mini-batches (with the
 * training-time masks of masks.ts), one validation pass per epoch, and the weights to keep —
 * the best epoch on smoothed validation accuracy with early stopping, or, without a validation
 * set, the mean of the last epochs' weights (schedule.ts). The test split chooses nothing here:
 * when asked, its probabilities after each epoch are only recorded (test-selected.ts), after the
 * epoch's steps, through the predictor, which draws nothing from the training PRNG.
 *
 * Two engines run the same loop: the native kernels (src/model/engine/, the default when they are
 * built) and tfjs-wasm. Both draw the same order and masks from the same seeded stream.
 * Reproducible: seeded initialisation, seeded shuffling and masks, deterministic kernels
 * → same seed + same data + same engine = identical weights and metrics.
 */

import type * as TF from '@tensorflow/tfjs';
import { rng, shuffle } from '../util/random.js';
import { Adam } from './adam.js';
import { type Architecture, initParams } from './architecture.js';
import type { Tf } from './backend.js';
import { type ModelConfig, type TrainConfig, usesSpatial } from './config.js';
import { Dfan, paramSpecs } from './dfan.js';
import { type NativeTrainer, nativeTrainer } from './engine/trainer.js';
import { disposeBatch, FeatureSet } from './features.js';
import { attachMasks, drawMasks, type MaskPlan, type TrainingMasks } from './masks.js';
import { dimsOf } from './prep.js';
import { type EpochLog, type LoadedRun, makePredictor, type RunConfig } from './run.js';
import { planSchedule, type TrainSchedule, trailingMean } from './schedule.js';
import { accuracyOf } from './test-selected.js';

export interface FitOptions {
  trainSet: FeatureSet;
  valSet: FeatureSet | null;
  classes: string[];
  model: ModelConfig;
  train: TrainConfig;
  log?: (line: string) => void;
  onEpoch?: (e: EpochLog) => void;
  /** stop after this many optimiser steps (benchmarks) */
  maxSteps?: number;
  /** epochs and selection (default: planSchedule for these sets) */
  schedule?: TrainSchedule;
  /**
   * the test split, OBSERVED only: its probabilities after each epoch are returned (`testProbs`)
   * and its accuracy goes to the curve; nothing here reads them back, so the weights are the same
   */
  testSet?: FeatureSet | null;
  /** 'native' (default when built, src/model/engine/) or 'tfjs'; both draw the same batches */
  engine?: 'native' | 'tfjs';
}

/** Weights kept by a fit, and the epoch (and smoothed validation score) they stand for. */
export interface KeptWeights {
  epoch: number;
  acc: number;
  loss: number;
  values: Record<string, Float32Array>;
}

export interface FitResult {
  /** restored to the kept weights */
  model: Dfan;
  curve: EpochLog[];
  best: KeptWeights;
  /** the model as a predictor (its config is filled in by the caller) */
  predictor: LoadedRun;
  trainSeconds: number;
  steps: number;
  /** with `testSet`: per epoch, its class probabilities [n, classes]; else null */
  testProbs: Float32Array[] | null;
  /** seconds spent observing the test split (inside trainSeconds) */
  testSeconds: number;
}

/** What every optimiser step of one fit shares. */
interface Stepper {
  tf: Tf;
  model: Dfan;
  trainSet: FeatureSet;
  optimizer: Adam;
  varList: TF.Variable[];
  positive: TF.Tensor; // [classes] 1 = a positive class (polarity loss)
  positiveMask: Float32Array; // the same, for the native engine
  /** the native engine when it runs this fit (the weights live there), else null: tfjs */
  native: NativeTrainer | null;
  /** the training PRNG: shuffles, then each batch's masks */
  random: () => number;
  masks: MaskPlan;
  keepMaps: boolean;
  scoreDims: Record<string, number>;
  weightDecay: number;
}

/**
 * Train a fresh model (initialised from the training seed) on `trainSet`; returns it restored
 * to the weights the schedule keeps. trainRun loads the sets; the benchmark loads once and fits
 * every variant.
 */
export function fitModel(tf: Tf, o: FitOptions): FitResult {
  const { trainSet, classes, model: mcfg, train: tcfg } = o;
  const valSet = o.valSet ?? new FeatureSet(trainSet.prep, 0, false);
  const log = o.log ?? (() => {});
  const dims = dimsOf(trainSet.prep);
  const init = initParams(paramSpecs(mcfg, dims, classes.length), tcfg.seed);
  const model = new Dfan(tf, mcfg, dims, classes, init);
  const native = o.engine === 'tfjs' ? null : nativeTrainer(mcfg, dims, classes, init, tcfg.lr);
  const predictor = makePredictor(tf, null, {} as RunConfig, model, trainSet.prep);
  const valN = o.valSet?.size ?? 0;
  const sched = o.schedule ?? planSchedule(tcfg, trainSet.size + valN, { hasOwnValidation: valN });
  const positiveMask = Float32Array.from(classes, (c) => (mcfg.positiveClasses.includes(c) ? 1 : 0));
  const stepper: Stepper = {
    tf,
    model,
    trainSet,
    optimizer: new Adam(tf, tcfg.lr),
    varList: Object.values(model.params),
    positive: tf.tensor1d(positiveMask),
    positiveMask,
    native,
    random: rng((tcfg.seed * 2654435761) >>> 0),
    masks: maskPlan(mcfg, tcfg, model.arch),
    keepMaps: usesSpatial(mcfg.variant),
    scoreDims: model.scoreDims(),
    weightDecay: sched.weightDecay,
  };
  // the current weights, wherever they live; validation and the test observation read them there
  const snapshot = () => native?.values() ?? model.snapshot();
  const scorer = native ?? predictor;
  const keeper = new WeightKeeper(snapshot, sched, sched.select && valSet.size > 0, log);
  const curve: EpochLog[] = [];
  const testSet = o.testSet?.size ? o.testSet : null;
  const testProbs: Float32Array[] | null = testSet ? [] : null;
  let testSeconds = 0;
  let steps = 0;
  const t1 = performance.now();
  for (let epoch = 1; epoch <= sched.epochs; epoch++) {
    const te = performance.now();
    const pass = trainEpoch(stepper, tcfg.batchSize, o.maxSteps ? o.maxSteps - steps : Infinity);
    steps += pass.steps;
    const val = valSet.size ? scoreSet(scorer, classes.length, valSet) : null;
    const e: EpochLog = {
      epoch,
      loss: pass.lossSum / trainSet.size,
      trainAccuracy: pass.correct / trainSet.size,
      valAccuracy: val?.accuracy ?? null,
      valLoss: val?.loss ?? null,
      seconds: (performance.now() - te) / 1000,
    };
    if (testSet && testProbs) {
      // the observation: after the epoch's steps and its validation, outside trainStep
      const to = performance.now();
      const seen = scoreSet(scorer, classes.length, testSet);
      testProbs.push(seen.probs);
      e.testAccuracy = seen.accuracy;
      testSeconds += (performance.now() - to) / 1000;
    }
    curve.push(e);
    o.onEpoch?.(e);
    log(epochLine(e));
    const stopping = o.maxSteps !== undefined && steps >= o.maxSteps;
    if (!keeper.observe(e, stopping) || stopping) break;
  }
  const best = keeper.kept();
  model.restore(best.values);
  stepper.positive.dispose();
  const trainSeconds = (performance.now() - t1) / 1000;
  return { model, curve, best, predictor, trainSeconds, steps, testProbs, testSeconds };
}

/** The masks each batch draws, from the configs and the widths of the resolved architecture. */
function maskPlan(mcfg: ModelConfig, tcfg: TrainConfig, arch: Architecture): MaskPlan {
  return {
    dropout: mcfg.dropout,
    zWidth: arch.heads * arch.snippetWidth, // K·D_u
    mapDropout: mcfg.mapDropout,
    streamDropout: mcfg.streamDropout,
    streams: arch.streams.length,
    projDim: arch.projDim,
    mixup: tcfg.mixup,
  };
}

/** One pass over the shuffled training set (at most `maxSteps` batches): summed loss and hits. */
function trainEpoch(s: Stepper, batchSize: number, maxSteps: number) {
  const order = shuffle([...Array(s.trainSet.size).keys()], s.random);
  let lossSum = 0;
  let correct = 0;
  let steps = 0;
  for (let i = 0; i < order.length && steps < maxSteps; i += batchSize, steps++) {
    const r = trainStep(s, order.slice(i, i + batchSize));
    lossSum += r.loss * r.n;
    correct += r.correct;
  }
  return { lossSum, correct, steps };
}

/** One optimiser step on the videos at `idx`: their masks, the forward pass, the loss, Adam. */
function trainStep(s: Stepper, idx: number[]): { loss: number; correct: number; n: number } {
  const { tf, model, trainSet } = s;
  const masks = drawMasks(idx.length, s.masks, s.random);
  if (s.native) return nativeStep(s.native, s, idx, masks);
  const batch = trainSet.batch(tf, idx, { maps: s.keepMaps, scoreDims: s.scoreDims, mapDrop: masks.mapDrop });
  attachMasks(tf, batch, masks, s.masks);
  const labels = tf.tensor1d(
    idx.map((j) => trainSet.labels[j]),
    'int32',
  );
  const predicted: TF.Tensor[] = []; // [B] argmax, kept out of the gradient's tidy
  const { value: cost, grads } = tf.variableGrads(() => {
    const out = model.forward(batch);
    predicted.push(tf.keep(tf.argMax(out.logits, 1)));
    return model.loss(out.logits, labels, {
      weightDecay: s.weightDecay,
      positive: s.positive,
      mix: batch.mix,
    });
  }, s.varList);
  s.optimizer.apply(s.varList, grads);
  for (const g of Object.values(grads)) g.dispose();
  const loss = cost.dataSync()[0];
  const pred = predicted[0].dataSync();
  const correct = idx.filter((j, k) => pred[k] === trainSet.labels[j]).length;
  cost.dispose();
  predicted[0].dispose();
  labels.dispose();
  disposeBatch(batch);
  return { loss, correct, n: idx.length };
}

/** The same step on the native engine: the same batch and masks, forward → loss → backward → Adam. */
function nativeStep(
  native: NativeTrainer,
  s: Stepper,
  idx: number[],
  masks: TrainingMasks,
): { loss: number; correct: number; n: number } {
  const batch = native.gather(s.trainSet, idx, masks.mapDrop);
  batch.dropMask = masks.dropout;
  batch.streamMask = masks.streamKeep;
  batch.mix = masks.mix;
  const labels = Int32Array.from(idx, (j) => s.trainSet.labels[j]);
  const r = native.step(batch, labels, { weightDecay: s.weightDecay, positive: s.positiveMask });
  let correct = 0;
  r.predicted.forEach((c, k) => {
    if (c === labels[k]) correct++;
  });
  return { loss: r.loss, correct, n: idx.length };
}

/** Accuracy, mean loss and class probabilities [n, classes] of the current weights on a set. */
function scoreSet(
  scorer: Pick<LoadedRun, 'predictSet'>,
  nClasses: number,
  set: FeatureSet,
): { accuracy: number; loss: number; probs: Float32Array } {
  const p = scorer.predictSet(set, { attention: false });
  return { accuracy: accuracyOf(p.probs, set.labels, nClasses), loss: p.loss, probs: p.probs };
}

function epochLine(e: EpochLog): string {
  return (
    `epoch ${String(e.epoch).padStart(3)}  loss ${e.loss.toFixed(4)}  train acc ${(100 * e.trainAccuracy).toFixed(1)} %` +
    (e.valAccuracy !== null && e.valLoss !== null
      ? `  val acc ${(100 * e.valAccuracy).toFixed(1)} %  val loss ${e.valLoss.toFixed(4)}`
      : '') +
    (e.testAccuracy !== undefined
      ? `  test acc ${(100 * e.testAccuracy).toFixed(1)} % (observed, chooses nothing)`
      : '') +
    `  ${e.seconds.toFixed(1)} s`
  );
}

/**
 * Which weights a fit keeps. With selection: the epoch with the best validation accuracy averaged
 * over a window of epochs (ties: the window's mean validation loss), stopping after `patience`
 * epochs without improvement. Without: the mean of the last `averageLast` epochs' weights.
 */
class WeightKeeper {
  private best: KeptWeights;
  private readonly accs: number[] = [];
  private readonly losses: number[] = [];
  private sum: Record<string, Float64Array> | null = null;
  private summed = 0;

  constructor(
    private readonly snapshot: () => Record<string, Float32Array>,
    private readonly sched: TrainSchedule,
    private readonly select: boolean,
    private readonly log: (line: string) => void,
  ) {
    this.best = { epoch: 0, acc: -1, loss: Infinity, values: snapshot() };
  }

  /** After an epoch (`last`: the fit stops after it anyway); false = stop early. */
  observe(e: EpochLog, last: boolean): boolean {
    const { sched } = this;
    if (this.select && e.valAccuracy !== null && e.valLoss !== null) {
      this.accs.push(e.valAccuracy);
      this.losses.push(e.valLoss);
      const score = trailingMean(this.accs, this.accs.length - 1, sched.window);
      const lossKey = trailingMean(this.losses, this.losses.length - 1, sched.window);
      const best = this.best;
      if (score > best.acc + 1e-9 || (Math.abs(score - best.acc) <= 1e-9 && lossKey < best.loss)) {
        this.best = { epoch: e.epoch, acc: score, loss: lossKey, values: this.snapshot() };
      } else if (sched.patience > 0 && e.epoch - best.epoch >= sched.patience) {
        this.log(
          `early stop: no smoothed validation improvement for ${sched.patience} epochs; best epoch ${best.epoch}`,
        );
        return false;
      }
    } else if (e.epoch > sched.epochs - sched.averageLast || last) {
      const snap = this.snapshot();
      this.sum ??= Object.fromEntries(Object.entries(snap).map(([k, v]) => [k, new Float64Array(v.length)]));
      for (const [k, v] of Object.entries(snap)) {
        const acc = this.sum[k];
        for (let j = 0; j < v.length; j++) acc[j] += v[j];
      }
      this.summed++;
      this.best = { epoch: e.epoch, acc: e.valAccuracy ?? -1, loss: e.valLoss ?? Infinity, values: snap };
    }
    return true;
  }

  /** The weights to keep: the best epoch's, or the mean of the last epochs' */
  kept(): KeptWeights {
    if (!this.sum || this.summed <= 1) return this.best;
    const mean: Record<string, Float32Array> = {};
    for (const [k, v] of Object.entries(this.sum)) mean[k] = Float32Array.from(v, (x) => x / this.summed);
    return { ...this.best, values: mean };
  }
}
