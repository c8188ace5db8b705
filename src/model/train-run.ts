/**
 * `trainRun`: the library entry point of `dfan train`, `dfan demo` and the protocol runner. Load
 * the training data (load.ts) → the training loop (train.ts) → the run folder (run.ts); with
 * `train.ensemble` K > 1, K members side by side (train-ensemble.ts).
 */

import { resolve } from 'node:path';
import type { Dataset } from '../data/types.js';
import { DFAN_VERSION } from '../version.js';
import { loadTf } from './backend.js';
import { type ModelConfig, resolveTrainConfig, type TrainConfig } from './config.js';
import type { FeatureSource } from './features.js';
import { loadTrainingData, type Skipped, storeSource, type TrainingData } from './load.js';
import {
  type DatasetRef,
  type EpochLog,
  type LoadedRun,
  prepSummary,
  type RunConfig,
  writeRun,
} from './run.js';
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
  const { model, curve, best, predictor, trainSeconds } = fitModel(tf, {
    trainSet: data.train,
    valSet: data.val,
    classes: data.classes,
    model: data.model,
    train: tcfg,
    schedule: data.schedule,
    log,
    onEpoch: opts.onEpoch,
  });
  const config = runConfigOf(opts, tcfg, data, curve, best, trainSeconds);
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
  };
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
