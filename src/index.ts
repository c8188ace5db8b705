/**
 * dfan as a library (`import … from 'dfan'`): which emotion a video expresses, and when and where
 * it was found. The same functions as the CLI, with typed options and results:
 *
 *   const recognizer = await createRecognizer();          // the zero-shot default, as `dfan predict`
 *   const p = await recognizer.predict('clip.mp4');        // Prediction: labels, snippets, spatial
 *   await recognizer.dispose();
 *
 *   await extract('videos.csv', { out: 'feats' });         // dfan extract
 *   const r = await train({ features: 'feats', dataset: 'videos.csv', out: 'runs/dual' });  // dfan train
 *   const { metrics } = await evaluate('runs/dual', { dataset: 'videos.csv' });              // dfan eval
 *
 * Mistakes in options are DfanErrors (code, file, hint) thrown before any work starts. This file
 * is a shell: nothing in src/ imports it.
 */

export type {
  KeyMoment,
  ModelDescriptor,
  Prediction,
  Region,
  SpatialGrid,
  SpatialStreamInfo,
} from './app/types.js';
export type { PackJson as PackManifest } from './backbones/packs/format.js';
export type { BackboneManifest, FeaturePack, PackInput } from './backbones/types.js';
export type { Metrics } from './data/metrics-types.js';
export type { Dataset, DatasetItem, SplitName } from './data/types.js';
export { DfanError, type DfanErrorCode, isDfanError } from './errors.js';
export type { ExtractFailure, ExtractProgress, ExtractSummary } from './features/extract.js';
export { FeatureStore, readFeatures } from './features/store.js';
export type { FeatureMeta, SnippetTimes, StreamInfo, VideoFeatures } from './features/types.js';
export {
  createRecognizer,
  type Recognizer,
  type RecognizerConfig,
  type RecognizerPredictOptions,
} from './library/recognizer.js';
export {
  type DatasetInput,
  type EvaluateOptions,
  type ExtractFeaturesOptions,
  evaluate,
  extract,
  type TrainModelOptions,
  train,
} from './library/workflow.js';
export type { ModelConfig, TrainConfig } from './model/config.js';
export type { EvalResult, VideoResult } from './model/evaluate.js';
export { type EpochLog, type LoadedRun, loadRun, type RunConfig, type VideoPrediction } from './model/run.js';
export type { TrainResult } from './model/train-run.js';
export { DFAN_VERSION as version } from './version.js';

import type { Prediction } from './app/types.js';

/** One emotion and its probability (Prediction.labels, sorted by probability). */
export type PredictionLabel = Prediction['labels'][number];
/** One snippet's time span and temporal-focus weight (Prediction.snippets; weights sum to 1). */
export type SnippetFocus = Prediction['snippets'][number];
