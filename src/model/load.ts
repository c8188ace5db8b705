/**
 * From a dataset and its features to what the training loop needs: the schedule and the splits
 * (a validation slice carved from the training split when it is worth it), the streams (the
 * stream check on a set too small to validate), the automatic map reduction, the preprocessing
 * fitted on training videos only, and the training and validation sets in memory. Videos whose
 * features are missing or damaged are skipped and listed, never fatal one by one.
 */

import { withValidationSlice } from '../data/splits.js';
import type { Dataset, DatasetItem } from '../data/types.js';
import { DfanError, describeError } from '../errors.js';
import { FeatureStore } from '../features/store.js';
import type { VideoFeatures } from '../features/types.js';
import { rng, shuffle } from '../util/random.js';
import { scoreDimOf } from './architecture.js';
import type { Tf } from './backend.js';
import {
  fixedScoreDim,
  MAP_DIM_AUTO,
  type ModelConfig,
  resolveModelConfig,
  type TrainConfig,
  usesSpatial,
} from './config.js';
import { FeatureSet, type FeatureSource } from './features.js';
import { autoMapDim, dimsOf, fitPrep, MAP_BYTES_BUDGET, type Prep } from './prep.js';
import { planSchedule, type TrainSchedule } from './schedule.js';
import { checkModelStreams, describeChecks, type StreamCheck } from './stream-check.js';

export type Skipped = Array<{ key: string; reason: string }>;

/** A FeatureSource over a feature-store folder. */
export async function storeSource(dir: string): Promise<FeatureSource & { store: FeatureStore }> {
  const store = await FeatureStore.open(dir);
  return { store, load: (key, streams) => store.load(key, { streams }) };
}

/** Load items into a FeatureSet (videos whose features are missing or damaged are skipped and listed). */
export async function loadItems(
  tf: Tf,
  source: FeatureSource,
  items: DatasetItem[],
  classes: string[],
  prep: Prep,
  keepMaps: boolean,
  opts: { cache?: Map<string, VideoFeatures>; log?: (line: string) => void; what?: string } = {},
): Promise<{ set: FeatureSet; skipped: Skipped }> {
  const set = new FeatureSet(prep, items.length, keepMaps);
  const skipped: Skipped = [];
  const streams = Object.keys(prep.streams);
  const t0 = performance.now();
  let lastLog = t0;
  for (const [i, it] of items.entries()) {
    const label = classes.indexOf(it.label);
    try {
      if (label < 0) throw new Error(`label "${it.label}" is not a training class`);
      const vf = opts.cache?.get(it.key) ?? (await source.load(it.key, streams));
      set.add(tf, vf, label);
    } catch (e) {
      skipped.push({ key: it.key, reason: describeError(e) });
    }
    const now = performance.now();
    if (opts.log && (now - lastLog > 5000 || i === items.length - 1) && items.length > 50) {
      opts.log(
        `  loading ${opts.what ?? 'features'}: ${i + 1}/${items.length} (${((now - t0) / 1000).toFixed(1)} s)`,
      );
      lastLog = now;
    }
  }
  return { set, skipped };
}

/** Preferred order of the usual streams in the snippet vector; others follow alphabetically. */
const STREAM_ORDER = ['object', 'context', 'action', 'face', 'audio'];

export function defaultStreams(vf: VideoFeatures): string[] {
  const names = Object.keys(vf.streams);
  return [
    ...STREAM_ORDER.filter((s) => names.includes(s)),
    ...names.filter((s) => !STREAM_ORDER.includes(s)).sort(),
  ];
}

/**
 * How the map streams were reduced, for the training log and the demo summary: "maps PCA-reduced
 * to the most channels that fit 1 GB: object 1280→384, scorer reads 128", or "" when none was.
 * `auto`: mapDim was chosen by autoMapDim.
 */
export function reductionNote(prep: Prep, cfg: ModelConfig, auto: boolean): string {
  const dims = dimsOf(prep).maps;
  const reduced = Object.entries(prep.streams).filter(([, s]) => s.basis);
  if (!reduced.length) return '';
  const parts = reduced.map(([name, s]) => {
    const k = usesSpatial(cfg.variant) ? scoreDimOf(cfg, dims[name]) : s.D;
    return `${name} ${s.C}→${s.D}${k < s.D ? `, scorer reads ${k}` : ''}`;
  });
  return `maps PCA-reduced${auto ? ` to the most channels that fit ${MAP_BYTES_BUDGET / 1e9} GB` : ''}: ${parts.join('; ')}`;
}

export interface TrainingData {
  schedule: TrainSchedule;
  classes: string[];
  /** the model config as the run saves it: streams chosen, auto mapDim and scorer width fixed */
  model: ModelConfig;
  prep: Prep;
  train: FeatureSet;
  val: FeatureSet;
  skipped: Skipped;
  /** without a validation set and with no streams given: each vector stream's check */
  streamChecks: StreamCheck[] | null;
  /** a loaded training video's features: pack id and what each stream is */
  sample: VideoFeatures;
  loadSeconds: number;
}

/**
 * Everything one model trains on. The data seed picks the validation slice, the preprocessing
 * sample and the PCA: an ensemble's members share it, so they share their preprocessing.
 */
export async function loadTrainingData(
  tf: Tf,
  source: FeatureSource,
  opts: { dataset: Dataset; model?: Partial<ModelConfig>; dataSeed: number; log: (line: string) => void },
  tcfg: TrainConfig,
): Promise<TrainingData> {
  const { log, dataSeed } = opts;
  const t0 = performance.now();
  const { schedule, trainItems, valItems, classes } = planSplits(opts.dataset, tcfg, dataSeed, log);
  // preprocessing, fitted on training videos only
  const userStreams = opts.model?.streams?.length ? opts.model.streams : null;
  const samples = await loadPrepSamples(source, trainItems, dataSeed, userStreams);
  const sampleList = [...samples.cache.values()];
  if (!sampleList.length) {
    throw new DfanError('BAD_FEATURES', 'no training video has readable features', {
      hint: `first failure: ${samples.failed[0]?.key}: ${samples.failed[0]?.reason}`,
    });
  }
  const { streams, streamChecks } = chooseStreams(sampleList[0], userStreams, {
    check: !userStreams && !schedule.select && tcfg.streamCheck,
    samples: samples.cache,
    trainItems,
    classes,
    log,
  });
  const given = resolveModelConfig({ ...opts.model, streams });
  const mapDim =
    given.mapDim === MAP_DIM_AUTO
      ? autoMapDimFor(sampleList[0], streams, trainItems, valItems)
      : given.mapDim;
  // the run saves what auto chose (mapDim, spatialScoreDim), not 'auto'
  const model: ModelConfig = { ...given, mapDim, spatialScoreDim: fixedScoreDim(given.spatialScoreDim) };
  const prep = await fitPrep(tf, sampleList, streams, mapDim, dataSeed);
  const reduction = reductionNote(prep, model, given.mapDim === MAP_DIM_AUTO);
  log(`streams: ${streams.join(', ')}${reduction ? ` (${reduction})` : ''}`);
  if (usesSpatial(model.variant) && model.mapDropout > 0)
    log(
      `map dropout ${model.mapDropout}: in training each map value is zeroed with this probability (--map-dropout 0: off)`,
    );

  const keepMaps = usesSpatial(model.variant);
  const train = await loadItems(tf, source, trainItems, classes, prep, keepMaps, {
    cache: samples.cache,
    log,
    what: 'train',
  });
  samples.cache.clear();
  const val = await loadItems(tf, source, valItems, classes, prep, keepMaps, { log, what: 'validation' });
  const skipped = [...train.skipped, ...val.skipped];
  if (skipped.length)
    log(`skipped ${skipped.length} video(s) without usable features (listed in config.json)`);
  if (!train.set.size)
    throw new DfanError('BAD_FEATURES', 'no training video could be loaded', { hint: skipped[0]?.reason });
  const loadSeconds = (performance.now() - t0) / 1000;
  log(
    `train ${train.set.size} videos, validation ${val.set.size}, ${classes.length} classes; loaded in ${loadSeconds.toFixed(1)} s`,
  );
  const data = { schedule, classes, model, prep, train: train.set, val: val.set, skipped, streamChecks };
  return { ...data, sample: sampleList[0], loadSeconds };
}

/** How long, whether a validation slice is worth carving (schedule.ts), and the items of each split. */
function planSplits(dataset: Dataset, tcfg: TrainConfig, dataSeed: number, log: (line: string) => void) {
  const given = [...dataset.items, ...dataset.missing];
  const schedule = planSchedule(tcfg, given.filter((i) => i.split === 'train').length, {
    hasOwnValidation: given.filter((i) => i.split === 'val').length,
  });
  log(
    `schedule: ${schedule.note}; ${tcfg.mixup > 0 ? `mixup ${tcfg.mixup} (training accuracy is on mixed videos)` : 'no mixup'}`,
  );
  // splits: train, and validation carved from train (stratified) unless the dataset has a val split
  const ds = schedule.carveValidation
    ? withValidationSlice(dataset, tcfg.valFraction, dataSeed + 1)
    : dataset;
  // features are keyed by item key: a video file that is absent (ds.missing) is fine when its features exist
  const all = [...ds.items, ...ds.missing];
  const trainItems = all.filter((i) => i.split === 'train');
  const valItems = all.filter((i) => i.split === 'val');
  if (!trainItems.length) {
    throw new DfanError('BAD_MANIFEST', `dataset "${ds.name}" has no training items`, {
      hint: 'the manifest needs rows with split=train',
    });
  }
  const classes = dataset.classes.length
    ? [...dataset.classes]
    : [...new Set(trainItems.map((i) => i.label))].sort();
  return { schedule, trainItems, valItems, classes };
}

/** Sample of training videos to fit the preprocessing on (≤ 128, seeded). */
async function loadPrepSamples(
  source: FeatureSource,
  items: DatasetItem[],
  seed: number,
  streams: string[] | null,
) {
  const picked = items.length <= 128 ? items : shuffle(items, rng(seed + 17)).slice(0, 128);
  const cache = new Map<string, VideoFeatures>();
  const failed: Skipped = [];
  for (const it of picked) {
    try {
      cache.set(it.key, await source.load(it.key, streams ?? undefined));
    } catch (e) {
      failed.push({ key: it.key, reason: describeError(e) });
    }
  }
  return { cache, failed };
}

/**
 * The streams the model reads: the given ones (each must be in the features), else all of them
 * minus, when `check`, the vector streams no better than chance on the prep samples (stream-check.ts).
 */
function chooseStreams(
  first: VideoFeatures,
  userStreams: string[] | null,
  o: {
    check: boolean;
    samples: Map<string, VideoFeatures>;
    trainItems: DatasetItem[];
    classes: string[];
    log: (line: string) => void;
  },
): { streams: string[]; streamChecks: StreamCheck[] | null } {
  const streams = userStreams ?? defaultStreams(first);
  for (const s of streams) {
    if (!first.streams[s]) {
      throw new DfanError('BAD_ARGUMENT', `stream "${s}" is not in the features`, {
        hint: `available: ${Object.keys(first.streams).join(', ')}`,
      });
    }
  }
  if (!o.check) return { streams, streamChecks: null };
  // no validation set to tell a useful stream from one that is only memorised: ask each vector stream
  const labelOf = new Map(o.trainItems.map((i) => [i.key, o.classes.indexOf(i.label)]));
  const checked = [...o.samples.entries()].filter(([k]) => (labelOf.get(k) ?? -1) >= 0);
  const streamChecks = checkModelStreams(
    streams,
    checked.map(([, vf]) => vf),
    checked.map(([k]) => labelOf.get(k) as number),
    o.classes.length,
  );
  if (!streamChecks) return { streams, streamChecks };
  o.log(describeChecks(streamChecks, checked.length));
  const out = new Set(streamChecks.filter((c) => !c.kept).map((c) => c.stream));
  return { streams: streams.filter((s) => !out.has(s)), streamChecks };
}

/** mapDim auto: from the map streams' sizes over the training and validation videos. */
function autoMapDimFor(
  first: VideoFeatures,
  streams: string[],
  trainItems: DatasetItem[],
  valItems: DatasetItem[],
): number {
  const n = trainItems.length + valItems.length;
  const shapes = streams.map((s) => first.streams[s].shape).filter((sh) => sh.length === 4);
  return autoMapDim(shapes.map((sh) => ({ C: sh[3], bytesPerChannel: n * sh[0] * sh[1] * sh[2] * 4 })));
}
