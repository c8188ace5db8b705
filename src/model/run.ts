/**
 * The run folder: everything needed to use a trained model again, readable without dfan.
 *
 *   RUN/weights.safetensors   parameters (F32) + preprocessing tensors `prep.<stream>.{mean,std,basis}`
 *   RUN/config.json           model + training config, classes, feature pack id, prep shapes, result
 *   RUN/labels.json           class names in output order
 *   RUN/curve.json, curve.csv training curve (one row per epoch; `testAccuracy` / test_accuracy
 *                             only when the test split was observed)
 *
 * `loadRun(dir)` returns a predictor: probabilities, temporal focus β and spatial focus α for
 * one video's features, or for a whole FeatureSet (eval).
 */

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DfanError } from '../errors.js';
import {
  decodeSafetensors,
  encodeSafetensors,
  type Safetensors,
  type TensorInput,
  toFloat32,
} from '../features/safetensors.js';
import type { VideoFeatures } from '../features/types.js';
import { writeFileAtomicSync } from '../util/atomic.js';
import { DFAN_VERSION } from '../version.js';
import { loadTf, type Tf, tidyValue } from './backend.js';
import { type ModelConfig, resolveModelConfig, type TrainConfig, usesSpatial } from './config.js';
import { Dfan, paramSpecs } from './dfan.js';
import { ensemblePredictor } from './ensemble.js';
import { type BatchTensors, disposeBatch, type FeatureSet } from './features.js';
import { applyPrep, dimsOf, type Prep, type StreamPrep } from './prep.js';
import type { StreamCheck } from './stream-check.js';
import type { TestSelected } from './test-selected.js';

export const RUN_FORMAT = 'dfan-run';

/** The dataset a run was trained on, as `openDataset` reopens it: absolute path + split number. */
export interface DatasetRef {
  path: string;
  split: number;
}

export interface EpochLog {
  epoch: number;
  loss: number;
  trainAccuracy: number;
  valAccuracy: number | null;
  valLoss: number | null;
  /**
   * accuracy on the test split after this epoch, when training observed it (`--observe-test`,
   * `dfan protocol`): an observation that chose nothing; absent otherwise
   */
  testAccuracy?: number;
  seconds: number;
}

export interface RunConfig {
  format: typeof RUN_FORMAT;
  version: 1;
  kind: 'trained';
  dfanVersion: string;
  createdAt: string;
  model: ModelConfig;
  train: TrainConfig;
  classes: string[];
  packId: string;
  /** absolute path of the feature store the run was trained on (eval's default) */
  features: string | null;
  /** the dataset's name (display only) */
  dataset: string | null;
  /** where `dfan train --dataset` read the dataset (eval's default); absent in older runs */
  datasetRef?: DatasetRef;
  prep: {
    T: number;
    streams: Record<string, Omit<StreamPrep, 'mean' | 'std' | 'basis'> & { reduced: boolean }>;
  };
  /** what each stream is (from the feature files) */
  streamInfo: Record<string, string>;
  /** without a validation set: each vector stream's leave-one-out check, and whether it was kept */
  streamCheck?: StreamCheck[];
  /**
   * an ensemble's other members: run folders relative to this one (this folder is the first
   * member); predictions average all of them. Absent for a single model.
   */
  members?: string[];
  result: {
    bestEpoch: number;
    epochs: number;
    valAccuracy: number | null;
    trainSize: number;
    valSize: number;
    skipped: Array<{ key: string; reason: string }>;
    seconds: number;
    /**
     * when training observed the test split: the best epoch chosen ON it, as the public
     * VAANet/CTEN code reports (test-selected.ts; not a fair estimate). Absent otherwise.
     */
    testSelected?: TestSelected;
  };
}

/**
 * The dataset a run was trained on, for eval's default. Throws a typed error when the run does
 * not record one (saved before runs recorded it) or when it is no longer where it was.
 */
export function recordedDataset(run: { dir: string | null; config: RunConfig }): DatasetRef {
  const ref = run.config.datasetRef;
  const where = run.dir ? join(run.dir, 'config.json') : 'the run';
  if (!ref)
    throw new DfanError('BAD_ARGUMENT', 'this run does not record the dataset it was trained on', {
      file: where,
      hint: 'runs trained before dfan recorded it need --dataset MANIFEST',
    });
  if (!existsSync(ref.path))
    throw new DfanError('NOT_FOUND', `the dataset this run was trained on has moved (recorded in ${where})`, {
      file: ref.path,
      hint: 'give its new place with --dataset',
    });
  return ref;
}

/** RUN/config.json, written whole and then renamed (a reader never sees half a file). */
export function writeRunConfig(dir: string, cfg: RunConfig): void {
  writeFileAtomicSync(join(dir, 'config.json'), `${JSON.stringify(cfg, null, 2)}\n`);
}

export function writeRun(dir: string, cfg: RunConfig, model: Dfan, prep: Prep, curve: EpochLog[]): void {
  mkdirSync(dir, { recursive: true });
  const tensors: Record<string, TensorInput> = {};
  const values = model.snapshot();
  for (const [name, v] of Object.entries(model.params))
    tensors[name] = { dtype: 'F32', shape: v.shape, data: values[name] };
  for (const [name, sp] of Object.entries(prep.streams)) {
    tensors[`prep.${name}.mean`] = { dtype: 'F32', shape: [sp.C], data: sp.mean };
    if (sp.std) tensors[`prep.${name}.std`] = { dtype: 'F32', shape: [sp.C], data: sp.std };
    if (sp.basis) tensors[`prep.${name}.basis`] = { dtype: 'F32', shape: [sp.C, sp.D], data: sp.basis };
  }
  writeFileAtomicSync(
    join(dir, 'weights.safetensors'),
    encodeSafetensors(tensors, { format: RUN_FORMAT, dfan: DFAN_VERSION }),
  );
  writeRunConfig(dir, cfg);
  writeFileAtomicSync(join(dir, 'labels.json'), `${JSON.stringify(cfg.classes, null, 2)}\n`);
  writeFileAtomicSync(join(dir, 'curve.json'), `${JSON.stringify(curve, null, 2)}\n`);
  // the observed test accuracy gets a column only when there is one: other runs' files stay as they were
  const observed = curve.some((e) => e.testAccuracy !== undefined);
  const csv = [`epoch,loss,train_accuracy,val_accuracy,val_loss,${observed ? 'test_accuracy,' : ''}seconds`];
  for (const e of curve) {
    const test = observed ? [e.testAccuracy ?? ''] : [];
    csv.push(
      [
        e.epoch,
        e.loss,
        e.trainAccuracy,
        e.valAccuracy ?? '',
        e.valLoss ?? '',
        ...test,
        e.seconds.toFixed(3),
      ].join(','),
    );
  }
  writeFileAtomicSync(join(dir, 'curve.csv'), `${csv.join('\n')}\n`);
}

export function prepSummary(prep: Prep): RunConfig['prep'] {
  const streams: RunConfig['prep']['streams'] = {};
  for (const [name, sp] of Object.entries(prep.streams)) {
    streams[name] = {
      kind: sp.kind,
      C: sp.C,
      H: sp.H,
      W: sp.W,
      D: sp.D,
      scale: sp.scale,
      reduced: !!sp.basis,
    };
  }
  return { T: prep.T, streams };
}

/** One video's answer: class probabilities, β [T] and α per map stream [T·H·W] (row-major). */
export interface VideoPrediction {
  logits: number[];
  probs: number[];
  beta: number[];
  betaHeads: number[][];
  alpha: Record<string, { H: number; W: number; T: number; data: Float32Array }>;
}

/** Predictions for a FeatureSet (either engine): flat arrays, one row per video. */
export interface SetPredictions {
  probs: Float32Array; // [n, classes]
  beta: Float32Array; // [n, T] mean over heads
  alpha: Record<string, Float32Array>; // [n, T, N] per map stream
  /** mean cross-entropy */
  loss: number;
}

export interface LoadedRun {
  dir: string | null;
  config: RunConfig;
  classes: string[];
  model: Dfan;
  prep: Prep;
  predict(vf: VideoFeatures): VideoPrediction;
  predictSet(set: FeatureSet, opts?: { batchSize?: number; attention?: boolean }): SetPredictions;
  dispose(): void;
}

/** Wrap a model + prep as a predictor (used by loadRun and by trainRun for its result). */
export function makePredictor(
  tf: Tf,
  dir: string | null,
  config: RunConfig,
  model: Dfan,
  prep: Prep,
): LoadedRun {
  return {
    dir,
    config,
    classes: model.classes,
    model,
    prep,
    predict: (vf) => predictVideo(tf, model, prep, vf),
    predictSet: (set, opts = {}) => predictSet(tf, model, prep, set, opts),
    dispose() {
      model.dispose();
    },
  };
}

/** One video's features as a batch of one  (maps [1, T, N, D], vectors [1, T, D], mask [1, T]). */
function videoBatch(tf: Tf, prep: Prep, p: ReturnType<typeof applyPrep>): BatchTensors {
  const T = p.T;
  const batch: BatchTensors = { B: 1, T, mask: tf.tensor(p.mask, [1, T]), maps: {}, pooled: {}, vectors: {} };
  for (const [name, sp] of Object.entries(prep.streams)) {
    if (sp.kind === 'map') {
      const x = tf.tensor(p.maps[name], [1, T, sp.H * sp.W, sp.D]);
      batch.maps[name] = x;
      batch.pooled[name] = tf.mean(x, 2);
    } else {
      batch.vectors[name] = tf.tensor(p.vectors[name], [1, T, sp.D]);
    }
  }
  return batch;
}

function predictVideo(tf: Tf, model: Dfan, prep: Prep, vf: VideoFeatures): VideoPrediction {
  const p = applyPrep(tf, prep, vf);
  const T = p.T;
  const spatial = usesSpatial(model.cfg.variant);
  return tidyValue(tf, () => {
    const out = model.forward(videoBatch(tf, prep, p));
    const logits = Array.from(out.logits.dataSync());
    const probs = Array.from(tf.softmax(out.logits).dataSync());
    const beta = Array.from(out.beta.dataSync());
    const bh = out.betaHeads.dataSync();
    const K = out.betaHeads.shape[1] as number;
    const betaHeads = Array.from({ length: K }, (_, k) => Array.from(bh.subarray(k * T, (k + 1) * T)));
    const alpha: VideoPrediction['alpha'] = {};
    for (const [name, sp] of Object.entries(prep.streams)) {
      if (sp.kind !== 'map') continue;
      const data = spatial
        ? new Float32Array(out.alpha[name].dataSync())
        : new Float32Array(T * sp.H * sp.W).fill(1 / (sp.H * sp.W)); // no spatial focus: uniform
      alpha[name] = { H: sp.H, W: sp.W, T, data };
    }
    return { logits, probs, beta, betaHeads, alpha };
  });
}

function predictSet(
  tf: Tf,
  model: Dfan,
  prep: Prep,
  set: FeatureSet,
  opts: { batchSize?: number; attention?: boolean },
): SetPredictions {
  const spatial = usesSpatial(model.cfg.variant);
  const bs = opts.batchSize ?? 64;
  const n = set.size;
  const k = model.classes.length;
  const T = set.T;
  const probs = new Float32Array(n * k);
  const beta = new Float32Array(n * T);
  const alpha: Record<string, Float32Array> = {};
  const mapNames = Object.entries(prep.streams).filter(([, s]) => s.kind === 'map');
  if (opts.attention !== false) {
    for (const [name, sp] of mapNames)
      alpha[name] = new Float32Array(n * T * sp.H * sp.W).fill(1 / (sp.H * sp.W));
  }
  let lossSum = 0;
  for (let i = 0; i < n; i += bs) {
    const idx = [...Array(Math.min(bs, n - i)).keys()].map((j) => i + j);
    const batch = set.batch(tf, idx, { maps: spatial, scoreDims: model.scoreDims() });
    const labels = tf.tensor1d(
      idx.map((j) => set.labels[j]),
      'int32',
    );
    tf.tidy(() => {
      const out = model.forward(batch);
      lossSum += tf
        .sum(tf.neg(tf.sum(tf.mul(tf.oneHot(labels, k), tf.logSoftmax(out.logits)), 1)))
        .dataSync()[0];
      probs.set(tf.softmax(out.logits).dataSync(), i * k);
      beta.set(out.beta.dataSync(), i * T);
      if (spatial && opts.attention !== false) {
        for (const [name, sp] of mapNames) alpha[name].set(out.alpha[name].dataSync(), i * T * sp.H * sp.W);
      }
    });
    labels.dispose();
    disposeBatch(batch);
  }
  return { probs, beta, alpha, loss: n ? lossSum / n : 0 };
}

/** Load a run folder written by `dfan train` / trainRun. */
export async function loadRun(dir: string, opts: { fastKernels?: boolean } = {}): Promise<LoadedRun> {
  const cfgPath = join(dir, 'config.json');
  const wPath = join(dir, 'weights.safetensors');
  if (!existsSync(cfgPath) || !existsSync(wPath)) {
    throw new DfanError('NOT_FOUND', 'not a run folder (config.json or weights.safetensors missing)', {
      file: dir,
      hint: 'give the --out folder of `dfan train`',
    });
  }
  const config = readRunConfig(cfgPath);
  const st = decodeSafetensors(readFileSync(wPath), wPath);
  const prep = prepOf(config, st.tensors, wPath);
  const tf = await loadTf({ fastKernels: opts.fastKernels });
  const model = savedModelConfig(config.model);
  const dims = dimsOf(prep);
  const values: Record<string, Float32Array> = {};
  for (const name of Object.keys(paramSpecs(model, dims, config.classes.length))) {
    const t = st.tensors[name];
    if (!t) throw new DfanError('BAD_FEATURES', `weights lack parameter "${name}"`, { file: wPath });
    values[name] = new Float32Array(toFloat32(t));
  }
  const self = makePredictor(
    tf,
    resolve(dir),
    config,
    new Dfan(tf, model, dims, config.classes, values),
    prep,
  );
  if (!config.members?.length) return self;
  // an ensemble: this folder is its first member, the others are sub-folders (src/model/ensemble.ts)
  const members = [self];
  try {
    for (const m of config.members) members.push(await loadRun(join(dir, m), opts));
    return ensemblePredictor(members);
  } catch (e) {
    for (const m of members) m.dispose();
    throw e;
  }
}

function readRunConfig(cfgPath: string): RunConfig {
  let config: RunConfig;
  try {
    config = JSON.parse(readFileSync(cfgPath, 'utf8')) as RunConfig;
  } catch (e) {
    throw new DfanError('BAD_MANIFEST', 'config.json is not valid JSON', { file: cfgPath, cause: e });
  }
  if (config.format !== RUN_FORMAT)
    throw new DfanError('BAD_MANIFEST', 'config.json is not a dfan run config', { file: cfgPath });
  return config;
}

/**
 * A saved model config, complete: options added after a run was saved are off in it, whatever
 * today's defaults (runs saved before spatialScoreDim existed scored on all channels, and their
 * bases are unordered).
 */
function savedModelConfig(saved: Partial<ModelConfig>): ModelConfig {
  return resolveModelConfig({
    ...saved,
    spatialScoreDim: saved.spatialScoreDim ?? 0,
    temporalEvidence: saved.temporalEvidence ?? false,
    focusContrast: saved.focusContrast ?? false,
    valueContrast: saved.valueContrast ?? 'off',
    mapDropout: saved.mapDropout ?? 0,
  });
}

/** The preprocessing stored in a run: shapes from config.json, tensors `prep.<stream>.*` from the weights. */
function prepOf(config: RunConfig, tensors: Safetensors['tensors'], wPath: string): Prep {
  const prep: Prep = { T: config.prep.T, streams: {} };
  for (const [name, s] of Object.entries(config.prep.streams)) {
    const get = (k: string) =>
      tensors[`prep.${name}.${k}`] ? new Float32Array(toFloat32(tensors[`prep.${name}.${k}`])) : undefined;
    const mean = get('mean');
    if (!mean) throw new DfanError('BAD_FEATURES', `weights lack prep.${name}.mean`, { file: wPath });
    const { kind, C, H, W, D, scale } = s;
    prep.streams[name] = { kind, C, H, W, D, scale, mean, std: get('std'), basis: get('basis') };
  }
  return prep;
}
