/**
 * The research workflow as library calls: `extract` → `train` → `evaluate`, the functions behind
 * `dfan extract`, `dfan train` and `dfan eval`, with options objects checked at the door. Progress
 * comes through optional callbacks; nothing is printed and no report file is written (the CLI
 * writes those). A bad video never throws: it is listed in the result, as the CLI lists it.
 */
import { resolve } from 'node:path';
import type { Dataset, SplitName } from '../data/types.js';
import { DfanError } from '../errors.js';
import type { ExtractProgress, ExtractSummary } from '../features/extract.js';
import { DEFAULT_MODEL, DEFAULT_TRAIN, type ModelConfig, type TrainConfig } from '../model/config.js';
import type { EvalResult } from '../model/evaluate.js';
import type { EpochLog, LoadedRun } from '../model/run.js';
import type { TrainResult } from '../model/train-run.js';
import { checkKeys, checkOptions, type OptionRules } from './options.js';

export interface ExtractFeaturesOptions {
  /** feature folder (created if needed); a second call resumes, skipping valid files */
  out: string;
  /** backbone pack: 'default' | 'research' | a pack JSON file | a pack module (default 'default') */
  pack?: string;
  /** snippets T per video (default 16) */
  snippets?: number;
  /** clip frames K per snippet, for the motion streams (default 8) */
  clipFrames?: number;
  /** keep only these streams (e.g. ['object', 'face']) */
  streams?: string[];
  /** worker processes, each loading the pack once; 0 = in this process (default 0) */
  workers?: number;
  /** videos in flight per worker, so decoding overlaps inference (default 2) */
  inflight?: number;
  /** recompute videos whose feature file is already valid */
  force?: boolean;
  /** check the SHA-256 of existing files before skipping them (default true) */
  verify?: boolean;
  /** after each video: counts so far, and that video's key and status */
  onProgress?: (p: ExtractProgress) => void;
  /** abort: no new video starts, those under way finish (the summary says `interrupted`) */
  signal?: AbortSignal;
}

const EXTRACT_RULES: OptionRules = {
  out: { kind: 'string', required: true },
  pack: { kind: 'string' },
  snippets: { kind: 'number', integer: true, min: 1 },
  clipFrames: { kind: 'number', integer: true, min: 1 },
  streams: { kind: 'string[]' },
  workers: { kind: 'number', integer: true, min: 0 },
  inflight: { kind: 'number', integer: true, min: 1 },
  force: { kind: 'boolean' },
  verify: { kind: 'boolean' },
  onProgress: { kind: 'function' },
  signal: { kind: 'AbortSignal' },
};

/**
 * Features of `input` (one video, a folder searched recursively, or a `video,label,split` CSV
 * manifest: what `dfan extract INPUT` takes) into one safetensors file per video under `out`.
 */
export async function extract(input: string, options: ExtractFeaturesOptions): Promise<ExtractSummary> {
  const o = checkOptions<ExtractFeaturesOptions>('extract', options, EXTRACT_RULES);
  if (typeof input !== 'string' || input.trim() === '')
    throw new DfanError('BAD_ARGUMENT', 'extract: give a video, a folder of videos or a CSV manifest');
  if (o.streams?.length === 0) throw new DfanError('BAD_ARGUMENT', 'extract: "streams" names no stream');
  const { resolveInput } = await import('../features/inputs.js');
  const { extractAll } = await import('../features/extract.js');
  return extractAll(resolveInput(input).items, o.out, {
    pack: o.pack ?? 'default',
    T: o.snippets,
    K: o.clipFrames,
    streams: o.streams,
    workers: o.workers,
    inflight: o.inflight,
    force: o.force,
    verifyExisting: o.verify,
    onProgress: o.onProgress,
    signal: o.signal,
  });
}

/** A dataset given as `dfan train --dataset` takes it, or as an object built in code. */
export type DatasetInput = string | Dataset;

/** the fields of a Dataset besides its item arrays (checked on their own below) */
const DATASET_RULES: OptionRules = {
  name: { kind: 'string', required: true },
  classes: { kind: 'string[]', required: true },
  root: { kind: 'string' },
  splitNumber: { kind: 'number', integer: true, min: 1 },
  source: { kind: 'string' },
  warnings: { kind: 'string[]' },
};

/** A path is opened as the CLI opens it (CSV manifest, class folders, list folder). */
async function datasetOf(where: string, d: unknown, splitNumber = 1): Promise<Dataset> {
  if (typeof d === 'string') {
    const { openDataset } = await import('../data/open.js');
    return (await openDataset(d)).load(splitNumber);
  }
  const { items, missing, ...rest } = (d ?? {}) as Partial<Dataset>;
  checkOptions(`${where}: dataset`, rest, DATASET_RULES);
  const rows = [...(Array.isArray(items) ? items : []), ...(Array.isArray(missing) ? missing : [])];
  const splits: SplitName[] = ['train', 'val', 'test'];
  if (
    !Array.isArray(items) ||
    rows.some((i) => typeof i?.key !== 'string' || typeof i.label !== 'string' || !splits.includes(i.split))
  )
    throw new DfanError(
      'BAD_ARGUMENT',
      `${where}: dataset.items must be an array of { key, video, label, split }`,
      {
        hint: "split is 'train', 'val' or 'test'; or give the path of a video,label,split CSV manifest",
      },
    );
  return { ...(d as Dataset), missing: Array.isArray(missing) ? missing : [] };
}

export interface TrainModelOptions {
  /** feature folder written by `extract` / `dfan extract` */
  features: string;
  /** CSV manifest, folder per class or list folder (as `dfan train --dataset`), or a Dataset */
  dataset: DatasetInput;
  /** split number of a dataset with several (default 1) */
  splitNumber?: number;
  /** run folder to write; omitted = the model stays in memory (`result.predictor`) */
  out?: string;
  /** model options over the defaults (variant, streams, focus sizes …; see ModelConfig) */
  model?: Partial<ModelConfig>;
  /** training options over the defaults (epochs, seed, ensemble …; see TrainConfig) */
  train?: Partial<TrainConfig>;
  /**
   * also score the test split after every epoch, as an observation that changes nothing (as
   * `dfan train --observe-test`): `result.testSelected` is then the best epoch chosen on the test
   * split, the figure the public VAANet/CTEN code reports (not a fair estimate)
   */
  observeTest?: boolean;
  /** the progress lines `dfan train` prints (loading steps, one per epoch) */
  onLog?: (line: string) => void;
  onEpoch?: (e: EpochLog) => void;
}

const TRAIN_RULES: OptionRules = {
  features: { kind: 'string', required: true },
  dataset: { kind: ['string', 'object'], required: true },
  splitNumber: { kind: 'number', integer: true, min: 1 },
  out: { kind: 'string' },
  model: { kind: 'object' },
  train: { kind: 'object' },
  observeTest: { kind: 'boolean' },
  onLog: { kind: 'function' },
  onEpoch: { kind: 'function' },
};

/**
 * Train DFAN on extracted features; the test split chooses nothing (it is read only with
 * `observeTest`). The result holds the trained model as `predictor` (a LoadedRun): call
 * `result.predictor.dispose()` when done with it.
 */
export async function train(options: TrainModelOptions): Promise<TrainResult> {
  const o = checkOptions<TrainModelOptions>('train', options, TRAIN_RULES);
  // the config objects are the documentation of what may be set: a key they lack is a typo
  if (o.model) checkKeys('train: model', o.model, Object.keys(DEFAULT_MODEL));
  if (o.train) checkKeys('train: train', o.train, Object.keys(DEFAULT_TRAIN));
  const dataset = await datasetOf('train', o.dataset, o.splitNumber);
  const { trainRun } = await import('../model/train-run.js');
  return trainRun({
    features: o.features,
    dataset,
    // a dataset given by path is recorded in the run, so `evaluate(run)` and `dfan eval --run` find it
    ...(typeof o.dataset === 'string'
      ? { datasetRef: { path: resolve(o.dataset), split: o.splitNumber ?? 1 } }
      : {}),
    out: o.out,
    model: o.model,
    train: o.train,
    observeTest: o.observeTest,
    log: o.onLog,
    onEpoch: o.onEpoch,
  });
}

export interface EvaluateOptions {
  /**
   * CSV manifest, folder per class or list folder (as `dfan eval --dataset`), or a Dataset;
   * default: the dataset the run records (runs trained from a path record it)
   */
  dataset?: DatasetInput;
  /** which split to score (default 'test') */
  split?: SplitName;
  /** split number of a dataset with several (default 1) */
  splitNumber?: number;
  /** feature folder (default: the one the run was trained on) */
  features?: string;
  onLog?: (line: string) => void;
}

const EVALUATE_RULES: OptionRules = {
  dataset: { kind: ['string', 'object'] },
  split: { kind: 'string' },
  splitNumber: { kind: 'number', integer: true, min: 1 },
  features: { kind: 'string' },
  onLog: { kind: 'function' },
};

/**
 * Metrics (accuracy, per-class recall and precision, confusion) of a trained run on one split,
 * with each video's probabilities and focus. `run` is a run folder (loaded and freed here) or a
 * LoadedRun (from `loadRun` or `train`; the caller frees it).
 */
export async function evaluate(run: string | LoadedRun, options: EvaluateOptions = {}): Promise<EvalResult> {
  const o = checkOptions<EvaluateOptions>('evaluate', options, EVALUATE_RULES);
  if (o.split !== undefined && !['train', 'val', 'test'].includes(o.split))
    throw new DfanError(
      'BAD_ARGUMENT',
      `evaluate: "split" must be 'train', 'val' or 'test' (got "${o.split}")`,
    );
  if (typeof run !== 'string' && typeof run?.predictSet !== 'function')
    throw new DfanError('BAD_ARGUMENT', 'evaluate: give a run folder or the result of loadRun()');
  const { evaluateRun } = await import('../model/evaluate.js');
  const { loadRun, recordedDataset } = await import('../model/run.js');
  const loaded = typeof run === 'string' ? await loadRun(run) : run;
  try {
    // no dataset given: the one the run was trained on (as `dfan eval --run RUN`)
    const ref = o.dataset === undefined ? recordedDataset(loaded) : null;
    const dataset = await datasetOf(
      'evaluate',
      ref ? ref.path : (o.dataset as DatasetInput),
      o.splitNumber ?? ref?.split,
    );
    return await evaluateRun(loaded, { dataset, split: o.split, features: o.features, log: o.onLog });
  } finally {
    if (typeof run === 'string') loaded.dispose();
  }
}
