/**
 * `trainRun`: the library entry point of `dfan train`, `dfan demo` and the protocol runner. Load
 * the training data (load.ts) → the training loop (train.ts) → the run folder (run.ts); with
 * `train.ensemble` K > 1, K members side by side (train-ensemble.ts).
 */

import { resolve } from 'node:path';
import type { Dataset } from '../data/types.js';
import { DFAN_VERSION } from '../version.js';
import { loadTf, type Tf } from './backend.js';
import { type ModelConfig, resolveTrainConfig, type TrainConfig, usesSpatial } from './config.js';
import type { FeatureSet, FeatureSource } from './features.js';
import { loadItems, loadTrainingData, type Skipped, storeSource, type TrainingData } from './load.js';
import {
  type DatasetRef,
  type EpochLog,
  type LoadedRun,
  prepSummary,
  type RunConfig,
  writeRun,
} from './run.js';
import { selectOnTest, type TestObservation, type TestSelected, testSelectedLine } from './test-selected.js';
import { fitModel, type KeptWeights } from './train.js';
import { trainEnsemble } from './train-ensemble.js';

export interface TrainRunOptions {
  /** feature store folder (`dfan extract --out`), or any FeatureSource */
  features: string | FeatureSource;
  dataset: Dataset;
  /** where the dataset was read from, recorded in the run (eval's default); omitted = not recorded */
  datasetRef?: DatasetRef;
  /** run folder to write; omitted = keep in memory only */
  out?: string;
  model?: Partial<ModelConfig>;
  train?: Partial<TrainConfig>;
  /** use the transpose-first matmul kernels (default true; false only for benchmarking) */
  fastKernels?: boolean;
  /** progress lines (one per epoch, plus loading steps) */
  log?: (line: string) => void;
  onEpoch?: (e: EpochLog) => void;
  /**
   * seed of the data side (validation slice, preprocessing sample, PCA); default the training
   * seed. An ensemble's members share it, so they share their preprocessing.
   */
  dataSeed?: number;
  /**
   * observe the dataset's test split: after every epoch its accuracy is recorded (curve, and the
   * run's `result.testSelected`: the best epoch chosen on it, as the public VAANet/CTEN code
   * reports). An observation only: the same weights, selection and run as without it.
   */
  observeTest?: boolean;
}

export interface TrainResult {
  runDir: string | null;
  classes: string[];
  curve: EpochLog[];
  bestEpoch: number;
  valAccuracy: number | null;
  trainSize: number;
  valSize: number;
  skipped: Skipped;
  /** seconds spent loading + preprocessing features, and training */
  loadSeconds: number;
  trainSeconds: number;
  /** the trained model, ready to predict (dispose when done) */
  predictor: LoadedRun;
  /** with `observeTest`: what this model (an ensemble: its first member) saw of the test split per epoch; else null */
  testObservation: TestObservation | null;
  /** with `observeTest`: the best epoch on the test split (an ensemble's: its members averaged) */
  testSelected: TestSelected | null;
}

/**
 * Train a model (or, with `train.ensemble` K > 1, K models with seeds seed … seed + K − 1: the
 * first in this thread, the others in worker threads beside it) and write the run folder.
 */
export async function trainRun(opts: TrainRunOptions): Promise<TrainResult> {
  const tcfg = resolveTrainConfig(opts.train ?? {});
  return tcfg.ensemble > 1 ? trainEnsemble(opts, tcfg, trainOne) : trainOne(opts, tcfg);
}

/** One model, with the training config trainRun resolved (an ensemble member: its own seed). */
async function trainOne(opts: TrainRunOptions, tcfg: TrainConfig): Promise<TrainResult> {
  const log = opts.log ?? (() => {});
  const tf = await loadTf({ fastKernels: opts.fastKernels ?? true });
  const source = typeof opts.features === 'string' ? await storeSource(opts.features) : opts.features;
  const data = await loadTrainingData(
    tf,
    source,
    { dataset: opts.dataset, model: opts.model, dataSeed: opts.dataSeed ?? tcfg.seed, log },
    tcfg,
  );
  const test = opts.observeTest ? await loadObservedTest(tf, source, opts.dataset, data, log) : null;
  const fit = fitModel(tf, {
    trainSet: data.train,
    valSet: data.val,
    classes: data.classes,
    model: data.model,
    train: tcfg,
    schedule: data.schedule,
    testSet: test,
    log,
    onEpoch: opts.onEpoch,
  });
  const { model, curve, best, predictor, trainSeconds } = fit;
  const testObservation =
    test && fit.testProbs
      ? { keys: test.keys, labels: test.labels, classes: data.classes.length, probs: fit.testProbs }
      : null;
  const testSelected = testObservation ? selectOnTest([testObservation]) : null;
  if (testSelected)
    log(
      `test observed after each epoch in ${fit.testSeconds.toFixed(1)} s (+${((100 * fit.testSeconds) / Math.max(1e-9, trainSeconds - fit.testSeconds)).toFixed(0)} % on training); model of seed ${tcfg.seed}: ${testSelectedLine(testSelected)}`,
    );
  const config = runConfigOf(opts, tcfg, data, curve, best, trainSeconds);
  if (testSelected) config.result.testSelected = testSelected;
  Object.assign(predictor.config, config);
  let runDir: string | null = null;
  if (opts.out) {
    runDir = resolve(opts.out);
    writeRun(runDir, config, model, data.prep, curve);
    predictor.dir = runDir;
  }
  return {
    runDir,
    classes: data.classes,
    curve,
    bestEpoch: best.epoch,
    valAccuracy: config.result.valAccuracy,
    trainSize: data.train.size,
    valSize: data.val.size,
    skipped: data.skipped,
    loadSeconds: data.loadSeconds,
    trainSeconds,
    predictor,
    testObservation,
    testSelected,
  };
}

/**
 * The dataset's test videos, with the training run's preprocessing, for the observation (null,
 * said in the log, when the dataset has no test split or none of its videos has features).
 */
async function loadObservedTest(
  tf: Tf,
  source: FeatureSource,
  dataset: Dataset,
  data: TrainingData,
  log: (line: string) => void,
): Promise<FeatureSet | null> {
  const items = [...dataset.items, ...dataset.missing].filter((i) => i.split === 'test');
  const { set, skipped } = await loadItems(
    tf,
    source,
    items,
    data.classes,
    data.prep,
    usesSpatial(data.model.variant),
    {
      log,
      what: 'test (observed)',
    },
  );
  if (!set.size) {
    log(
      `observe test: ${items.length ? 'no test video has features' : 'the dataset has no test split'}; nothing is observed`,
    );
    return null;
  }
  log(
    `observe test: ${set.size} test videos${skipped.length ? ` (${skipped.length} without features)` : ''} scored after each epoch, as an observation that chooses nothing`,
  );
  return set;
}

/** The run's config.json: what was trained on what, with which settings, and how it went. */
function runConfigOf(
  opts: TrainRunOptions,
  tcfg: TrainConfig,
  data: TrainingData,
  curve: EpochLog[],
  best: KeptWeights,
  trainSeconds: number,
): RunConfig {
  const streamInfo: Record<string, string> = {};
  for (const s of data.model.streams) {
    const info = data.sample.meta.streams.find((x) => x.name === s);
    streamInfo[s] = info ? `${info.backbone}: ${info.description}` : 'unknown';
  }
  return {
    format: 'dfan-run',
    version: 1,
    kind: 'trained',
    dfanVersion: DFAN_VERSION,
    createdAt: new Date().toISOString(),
    model: data.model,
    train: tcfg,
    classes: data.classes,
    packId: data.sample.meta.packId,
    features: typeof opts.features === 'string' ? resolve(opts.features) : null,
    dataset: opts.dataset.name ?? null,
    ...(opts.datasetRef ? { datasetRef: opts.datasetRef } : {}),
    prep: prepSummary(data.prep),
    streamInfo,
    ...(data.streamChecks ? { streamCheck: data.streamChecks } : {}),
    result: {
      bestEpoch: best.epoch,
      epochs: curve.length,
      valAccuracy: data.val.size ? best.acc : null,
      trainSize: data.train.size,
      valSize: data.val.size,
      skipped: data.skipped,
      seconds: data.loadSeconds + trainSeconds,
    },
  };
}
