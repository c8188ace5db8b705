/**
 * Training, as a short loop: load the training split (and a stratified validation slice carved
 * from it) → fit the preprocessing → Adam on mini-batches → early stopping on validation accuracy
 * → the best epoch's weights in a run folder. The test split is never read here.
 *
 * Reproducible: seeded initialisation, seeded shuffling and dropout masks, deterministic kernels
 * → same seed + same data = identical weights and metrics.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { withValidationSlice } from '../data/splits.js';
import type { Dataset, DatasetItem } from '../data/types.js';
import { DfanError, describeError } from '../errors.js';
import { FeatureStore } from '../features/store.js';
import type { VideoFeatures } from '../features/types.js';
import { rng, shuffle } from '../util/random.js';
import { DFAN_VERSION } from '../version.js';
import { Adam } from './adam.js';
import { loadTf, type Tf } from './backend.js';
import {
  fixedScoreDim,
  MAP_DIM_AUTO,
  type ModelConfig,
  resolveModelConfig,
  resolveTrainConfig,
  type TrainConfig,
  usesSpatial,
} from './config.js';
import { Dfan, initParams, paramSpecs, scoreDimOf } from './dfan.js';
import { nativeTrainer } from './engine/trainer.js';
import { ensemblePredictor } from './ensemble.js';
import {
  autoMapDim,
  dimsOf,
  disposeBatch,
  FeatureSet,
  type FeatureSource,
  fitPrep,
  MAP_BYTES_BUDGET,
  type Prep,
} from './features.js';
import { maskSeed } from './map-dropout.js';
import { mixMatrix } from './mixup.js';
import {
  type EpochLog,
  type LoadedRun,
  loadRun,
  makePredictor,
  prepSummary,
  type RunConfig,
  writeRun,
  writeRunConfig,
} from './run.js';
import { planSchedule, type TrainSchedule, trailingMean } from './schedule.js';
import { checkVectorStreams, describeChecks, type StreamCheck } from './stream-check.js';
import type { MemberJob, MemberReply } from './train-member.js';

export type { EpochLog, LoadedRun };

export interface TrainRunOptions {
  /** feature store folder (`dfan extract --out`), or any FeatureSource */
  features: string | FeatureSource;
  dataset: Dataset;
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
  skipped: Array<{ key: string; reason: string }>;
  /** seconds spent loading + preprocessing features, and training */
  loadSeconds: number;
  trainSeconds: number;
  /** the trained model, ready to predict (dispose when done) */
  predictor: LoadedRun;
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
 * The stream check (src/model/stream-check.ts) on the prep samples: null when there is nothing to
 * decide (no vector stream, or no map stream to fall back on).
 */
export function checkStreams(
  streams: string[],
  videos: VideoFeatures[],
  labels: number[],
  classes: number,
): StreamCheck[] | null {
  const isMap = (s: string) => videos[0]?.streams[s]?.shape.length === 4;
  const vectors = streams.filter((s) => !isMap(s));
  if (!vectors.length || vectors.length === streams.length || videos.length < 10) return null;
  const means: Record<string, Float64Array[]> = {};
  for (const s of vectors) {
    means[s] = videos.map((vf) => {
      const [T, C] = vf.streams[s].shape;
      const out = new Float64Array(C);
      let n = 0;
      for (let t = 0; t < T; t++) {
        if (vf.mask && vf.mask[t] === 0) continue;
        n++;
        for (let c = 0; c < C; c++) out[c] += vf.streams[s].data[t * C + c];
      }
      for (let c = 0; c < C; c++) out[c] /= Math.max(1, n);
      return out;
    });
  }
  return checkVectorStreams(means, labels, classes);
}

/** A FeatureSource over a feature-store folder. */
export async function storeSource(dir: string): Promise<FeatureSource & { store: FeatureStore }> {
  const store = await FeatureStore.open(dir);
  return { store, load: (key, streams) => store.load(key, { streams }) };
}

interface Loaded {
  set: FeatureSet;
  skipped: Array<{ key: string; reason: string }>;
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
): Promise<Loaded> {
  const set = new FeatureSet(prep, items.length, keepMaps);
  const skipped: Loaded['skipped'] = [];
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

/** Sample of training videos to fit the preprocessing on (≤ 128, seeded). */
async function loadPrepSamples(
  source: FeatureSource,
  items: DatasetItem[],
  seed: number,
  streams: string[] | null,
) {
  const picked = items.length <= 128 ? items : shuffle(items, rng(seed + 17)).slice(0, 128);
  const cache = new Map<string, VideoFeatures>();
  const failed: Array<{ key: string; reason: string }> = [];
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

/**
 * The library entry point of `dfan train`, `dfan demo` and the protocol runner. Train a model (or, with `train.ensemble` K > 1, K models with seeds seed … seed + K − 1: the
 * first in this thread, the others in worker threads beside it; src/model/ensemble.ts) and write
 * the run folder.
 */
export async function trainRun(opts: TrainRunOptions): Promise<TrainResult> {
  const tcfg = resolveTrainConfig(opts.train ?? {});
  return tcfg.ensemble > 1 ? trainEnsemble(opts, tcfg) : trainOne(opts, tcfg);
}

/** One model, with the training config trainRun resolved (an ensemble member: its own seed). */
async function trainOne(opts: TrainRunOptions, tcfg: TrainConfig): Promise<TrainResult> {
  const log = opts.log ?? (() => {});
  const dataSeed = opts.dataSeed ?? tcfg.seed;
  const tf = await loadTf({ fastKernels: opts.fastKernels ?? true });
  const t0 = performance.now();
  const source = typeof opts.features === 'string' ? await storeSource(opts.features) : opts.features;

  // how long, and whether a validation slice is worth carving (src/model/schedule.ts)
  const given = [...opts.dataset.items, ...opts.dataset.missing];
  const schedule = planSchedule(tcfg, given.filter((i) => i.split === 'train').length, {
    hasOwnValidation: given.filter((i) => i.split === 'val').length,
  });
  log(
    `schedule: ${schedule.note}; ${tcfg.mixup > 0 ? `mixup ${tcfg.mixup} (training accuracy is on mixed videos)` : 'no mixup'}`,
  );
  // splits: train, and validation carved from train (stratified) unless the dataset has a val split
  const ds = schedule.carveValidation
    ? withValidationSlice(opts.dataset, tcfg.valFraction, dataSeed + 1)
    : opts.dataset;
  // features are keyed by item key: a video file that is absent (ds.missing) is fine when its features exist
  const all = [...ds.items, ...ds.missing];
  const trainItems = all.filter((i) => i.split === 'train');
  const valItems = all.filter((i) => i.split === 'val');
  if (!trainItems.length) {
    throw new DfanError('BAD_MANIFEST', `dataset "${ds.name}" has no training items`, {
      hint: 'the manifest needs rows with split=train',
    });
  }
  const classes = opts.dataset.classes.length
    ? [...opts.dataset.classes]
    : [...new Set(trainItems.map((i) => i.label))].sort();

  // preprocessing, fitted on training videos only
  const userStreams = opts.model?.streams?.length ? opts.model.streams : null;
  const samples = await loadPrepSamples(source, trainItems, dataSeed, userStreams);
  const sampleList = [...samples.cache.values()];
  if (!sampleList.length) {
    throw new DfanError('BAD_FEATURES', 'no training video has readable features', {
      hint: `first failure: ${samples.failed[0]?.key}: ${samples.failed[0]?.reason}`,
    });
  }
  let streams = userStreams ?? defaultStreams(sampleList[0]);
  for (const s of streams) {
    if (!sampleList[0].streams[s]) {
      throw new DfanError('BAD_ARGUMENT', `stream "${s}" is not in the features`, {
        hint: `available: ${Object.keys(sampleList[0].streams).join(', ')}`,
      });
    }
  }
  // no validation set to tell a useful stream from one that is only memorised: ask each vector stream
  let streamChecks: StreamCheck[] | null = null;
  if (!userStreams && !schedule.select && tcfg.streamCheck) {
    const labelOf = new Map(trainItems.map((i) => [i.key, classes.indexOf(i.label)]));
    const checked = [...samples.cache.entries()].filter(([k]) => (labelOf.get(k) ?? -1) >= 0);
    streamChecks = checkStreams(
      streams,
      checked.map(([, vf]) => vf),
      checked.map(([k]) => labelOf.get(k) as number),
      classes.length,
    );
    if (streamChecks) {
      log(describeChecks(streamChecks, checked.length));
      const out = new Set(streamChecks.filter((c) => !c.kept).map((c) => c.stream));
      streams = streams.filter((s) => !out.has(s));
    }
  }
  const mcfgIn = resolveModelConfig({ ...opts.model, streams });
  let mapDim = mcfgIn.mapDim;
  if (mapDim === MAP_DIM_AUTO) {
    const n = trainItems.length + valItems.length;
    const shapes = streams.map((s) => sampleList[0].streams[s].shape).filter((sh) => sh.length === 4);
    mapDim = autoMapDim(shapes.map((sh) => ({ C: sh[3], bytesPerChannel: n * sh[0] * sh[1] * sh[2] * 4 })));
  }
  // the run saves what auto chose (mapDim, spatialScoreDim), not 'auto'
  const mcfg: ModelConfig = { ...mcfgIn, mapDim, spatialScoreDim: fixedScoreDim(mcfgIn.spatialScoreDim) };
  const prep = await fitPrep(tf, sampleList, streams, mapDim, dataSeed);
  const reduction = reductionNote(prep, mcfg, mcfgIn.mapDim === MAP_DIM_AUTO);
  log(`streams: ${streams.join(', ')}${reduction ? ` (${reduction})` : ''}`);
  if (usesSpatial(mcfg.variant) && mcfg.mapDropout > 0)
    log(
      `map dropout ${mcfg.mapDropout}: in training each map value is zeroed with this probability (--map-dropout 0: off)`,
    );

  const keepMaps = usesSpatial(mcfg.variant);
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

  const fit = fitModel(tf, {
    trainSet: train.set,
    valSet: val.set,
    classes,
    model: mcfg,
    train: tcfg,
    schedule,
    log,
    onEpoch: opts.onEpoch,
  });
  const { model, curve, best, predictor, trainSeconds } = fit;

  const packId = sampleList[0].meta.packId;
  const streamInfo: Record<string, string> = {};
  for (const s of streams) {
    const info = sampleList[0].meta.streams.find((x) => x.name === s);
    streamInfo[s] = info ? `${info.backbone}: ${info.description}` : 'unknown';
  }
  const config: RunConfig = {
    format: 'dfan-run',
    version: 1,
    kind: 'trained',
    dfanVersion: DFAN_VERSION,
    createdAt: new Date().toISOString(),
    model: mcfg,
    train: tcfg,
    classes,
    packId,
    features: typeof opts.features === 'string' ? resolve(opts.features) : null,
    dataset: opts.dataset.name ?? null,
    prep: prepSummary(prep),
    streamInfo,
    ...(streamChecks ? { streamCheck: streamChecks } : {}),
    result: {
      bestEpoch: best.epoch,
      epochs: curve.length,
      valAccuracy: val.set.size ? best.acc : null,
      trainSize: train.set.size,
      valSize: val.set.size,
      skipped,
      seconds: loadSeconds + trainSeconds,
    },
  };
  Object.assign(predictor.config, config);
  let runDir: string | null = null;
  if (opts.out) {
    runDir = resolve(opts.out);
    writeRun(runDir, config, model, prep, curve);
    predictor.dir = runDir;
  }
  return {
    runDir,
    classes,
    curve,
    bestEpoch: best.epoch,
    valAccuracy: config.result.valAccuracy,
    trainSize: train.set.size,
    valSize: val.set.size,
    skipped,
    loadSeconds,
    trainSeconds,
    predictor,
  };
}

/** Train one member in a worker thread; `reply` resolves when its run folder is written. */
function trainMemberInWorker(job: MemberJob): { reply: Promise<MemberReply>; stop: () => void } {
  const worker = new Worker(new URL('./train-member.js', import.meta.url), { workerData: job });
  const reply = new Promise<MemberReply>((done) => {
    let r: MemberReply | null = null;
    worker.once('message', (m: MemberReply) => {
      r = m;
    });
    worker.once('error', (e) => {
      r ??= { ok: false, message: e.message };
    });
    worker.once('exit', (code) => done(r ?? { ok: false, message: `worker stopped (exit code ${code})` }));
  });
  return { reply, stop: () => void worker.terminate() };
}

/**
 * K members on the same data and preprocessing (data seed = the first member's seed), seeds
 * seed … seed + K − 1. From a feature folder the others train in worker threads while the first
 * trains here; from an in-memory source they train one after another. The first member's folder
 * is the run; the others go to <run>/members/<i> and config.json lists them.
 */
async function trainEnsemble(opts: TrainRunOptions, tcfg: TrainConfig): Promise<TrainResult> {
  const log = opts.log ?? (() => {});
  const K = tcfg.ensemble;
  const dataSeed = opts.dataSeed ?? tcfg.seed;
  const seeds = Array.from({ length: K }, (_, i) => tcfg.seed + i);
  // a member: the same settings, its own seed, one model
  const member = (seed: number): TrainConfig => ({ ...tcfg, seed, ensemble: 1 });
  const parallel = typeof opts.features === 'string';
  log(
    `ensemble: ${K} models (seeds ${seeds.join(', ')}) on the same data, ${parallel ? 'the others in worker threads beside the first' : 'one after another'}; predictions average their probabilities and focus (--ensemble 1: one model)`,
  );
  const t0 = performance.now();
  const runDir = opts.out ? resolve(opts.out) : null;
  // workers write their run folders: under the run, or in a temporary folder for an in-memory run
  const tmp = parallel && !runDir ? mkdtempSync(join(tmpdir(), 'dfan-ensemble-')) : null;
  const base = runDir ?? tmp;
  const memberDirs = seeds.slice(1).map((_, i) => join('members', String(i + 1)));
  if (runDir) rmSync(join(runDir, 'members'), { recursive: true, force: true });
  const others = parallel
    ? memberDirs.map((d, i) =>
        trainMemberInWorker({
          features: resolve(opts.features as string),
          dataset: opts.dataset,
          out: join(base as string, d),
          model: opts.model ?? {},
          train: member(seeds[i + 1]),
          dataSeed,
        }),
      )
    : [];
  let first: TrainResult;
  try {
    first = await trainOne({ ...opts, dataSeed }, member(seeds[0]));
  } catch (e) {
    for (const o of others) o.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  const members: LoadedRun[] = [first.predictor];
  const kept: string[] = [];
  try {
    if (parallel) {
      const replies = await Promise.all(others.map((o) => o.reply));
      for (const [i, r] of replies.entries()) {
        if (!r.ok) {
          log(
            `ensemble member ${i + 2} (seed ${seeds[i + 1]}) failed and is left out: ${r.message}${r.hint ? ` (${r.hint})` : ''}`,
          );
          continue;
        }
        members.push(await loadRun(join(base as string, memberDirs[i])));
        kept.push(memberDirs[i]);
      }
    } else {
      for (const [i, seed] of seeds.slice(1).entries()) {
        const out = runDir ? join(runDir, memberDirs[i]) : undefined;
        const r = await trainOne(
          {
            ...opts,
            out,
            log: undefined,
            onEpoch: undefined,
            dataSeed,
          },
          member(seed),
        );
        members.push(r.predictor);
        if (out) kept.push(memberDirs[i]);
      }
    }
  } catch (e) {
    for (const m of members) m.dispose();
    throw e;
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
  const predictor = ensemblePredictor(members);
  if (runDir && kept.length) {
    // the first member's config.json, now listing the others
    predictor.config.members = kept;
    predictor.config.train = { ...predictor.config.train, ensemble: K };
    writeRunConfig(runDir, predictor.config);
  }
  log(
    `ensemble: ${members.length} of ${K} models trained in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  return { ...first, predictor, trainSeconds: (performance.now() - t0) / 1000 - first.loadSeconds };
}

/**
 * Whole-stream keep masks for a batch, [B, S·d] row-major: each stream is dropped for a video
 * with probability p, at least one is kept, and the kept streams are scaled by S / kept so that
 * u_t keeps its expected size.
 */
export function streamKeepMask(
  B: number,
  S: number,
  d: number,
  p: number,
  random: () => number,
): Float32Array {
  const out = new Float32Array(B * S * d);
  const keep = new Array<boolean>(S);
  for (let b = 0; b < B; b++) {
    let kept = 0;
    for (let s = 0; s < S; s++) {
      keep[s] = random() >= p;
      if (keep[s]) kept++;
    }
    if (!kept) {
      keep[Math.min(S - 1, Math.floor(random() * S))] = true;
      kept = 1;
    }
    for (let s = 0; s < S; s++) if (keep[s]) out.fill(S / kept, (b * S + s) * d, (b * S + s + 1) * d);
  }
  return out;
}

/**
 * The training loop proper, on sets already in memory (trainRun loads them; the benchmark loads
 * once and fits every variant). Returns the model restored to its best epoch.
 */
export function fitModel(
  tf: Tf,
  o: {
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
    /** 'native' (default when built, src/model/engine/) or 'tfjs'; both draw the same batches */
    engine?: 'native' | 'tfjs';
  },
) {
  const trainSet = o.trainSet;
  const valSet = o.valSet ?? new FeatureSet(trainSet.prep, 0, false);
  const { classes } = o;
  const mcfg = o.model;
  const tcfg = o.train;
  const log = o.log ?? (() => {});
  const prep = trainSet.prep;
  const keepMaps = usesSpatial(mcfg.variant);
  const streams = mcfg.streams;
  let steps = 0;
  const dims = dimsOf(prep);
  const init = initParams(paramSpecs(mcfg, dims, classes.length), tcfg.seed);
  const model = new Dfan(tf, mcfg, dims, classes, init);
  const native = o.engine === 'tfjs' ? null : nativeTrainer(mcfg, dims, classes, init, tcfg.lr);
  const predictor = makePredictor(tf, null, {} as RunConfig, model, prep);
  const optimizer = new Adam(tf, tcfg.lr);
  const varList = Object.values(model.params);
  const positiveMask = Float32Array.from(classes, (c) => (mcfg.positiveClasses.includes(c) ? 1 : 0));
  const positive = tf.tensor1d(positiveMask);
  const random = rng((tcfg.seed * 2654435761) >>> 0);
  const Du = mcfg.projDim * streams.length * model.K;
  const scoreDims = model.scoreDims();

  const valN = o.valSet?.size ?? 0;
  const sched = o.schedule ?? planSchedule(tcfg, trainSet.size + valN, { hasOwnValidation: valN });
  const select = sched.select && valSet.size > 0;
  const curve: EpochLog[] = [];
  const snapshot = () => native?.values() ?? model.snapshot();
  let best = { epoch: 0, acc: -1, loss: Infinity, values: snapshot() };
  const accs: number[] = [];
  const losses: number[] = [];
  let sum: Record<string, Float64Array> | null = null;
  let summed = 0;
  const t1 = performance.now();
  for (let epoch = 1; epoch <= sched.epochs; epoch++) {
    const te = performance.now();
    const order = shuffle([...Array(trainSet.size).keys()], random);
    let lossSum = 0;
    let correct = 0;
    for (let i = 0; i < order.length; i += tcfg.batchSize) {
      const idx = order.slice(i, i + tcfg.batchSize);
      let drop: Float32Array | undefined;
      if (mcfg.dropout > 0) {
        drop = new Float32Array(idx.length * Du);
        const keep = 1 / (1 - mcfg.dropout);
        for (let j = 0; j < drop.length; j++) drop[j] = random() >= mcfg.dropout ? keep : 0;
      }
      const mapDrop = mcfg.mapDropout > 0 ? { p: mcfg.mapDropout, seed: maskSeed(random) } : undefined;
      if (native) {
        // the same batch and masks, drawn from `random` in the same order, on the native engine
        const nb = native.gather(trainSet, idx, mapDrop);
        nb.dropMask = drop;
        if (mcfg.streamDropout > 0 && streams.length > 1)
          nb.streamMask = streamKeepMask(
            idx.length,
            streams.length,
            mcfg.projDim,
            mcfg.streamDropout,
            random,
          );
        if (tcfg.mixup > 0 && idx.length > 1) nb.mix = mixMatrix(idx.length, tcfg.mixup, random);
        const labels = Int32Array.from(idx, (j) => trainSet.labels[j]);
        const r = native.step(nb, labels, { weightDecay: sched.weightDecay, positive: positiveMask });
        lossSum += r.loss * idx.length;
        r.predicted.forEach((c, k) => {
          if (c === labels[k]) correct++;
        });
        if (o.maxSteps && ++steps >= o.maxSteps) break;
        continue;
      }
      const batch = trainSet.batch(tf, idx, {
        maps: keepMaps,
        dropout: drop && { mask: drop, width: Du },
        scoreDims,
        mapDrop,
      });
      if (mcfg.streamDropout > 0 && streams.length > 1) {
        batch.streamMask = tf.tensor(
          streamKeepMask(idx.length, streams.length, mcfg.projDim, mcfg.streamDropout, random),
          [idx.length, mcfg.projDim * streams.length],
        );
      }
      const labels = tf.tensor1d(
        idx.map((j) => trainSet.labels[j]),
        'int32',
      );
      if (tcfg.mixup > 0 && idx.length > 1)
        batch.mix = tf.tensor2d(mixMatrix(idx.length, tcfg.mixup, random), [idx.length, idx.length]);
      let predicted: ReturnType<typeof tf.argMax> | null = null;
      const { value: cost, grads } = tf.variableGrads(() => {
        const out = model.forward(batch);
        predicted = tf.keep(tf.argMax(out.logits, 1));
        return model.loss(out.logits, labels, {
          weightDecay: sched.weightDecay,
          positive,
          mix: batch.mix,
        });
      }, varList);
      batch.mix?.dispose();
      optimizer.apply(varList, grads);
      for (const g of Object.values(grads)) g.dispose();
      lossSum += cost.dataSync()[0] * idx.length;
      const pred = (predicted as unknown as ReturnType<typeof tf.argMax>).dataSync();
      idx.forEach((j, k) => {
        if (pred[k] === trainSet.labels[j]) correct++;
      });
      cost.dispose();
      (predicted as unknown as ReturnType<typeof tf.argMax>).dispose();
      labels.dispose();
      disposeBatch(batch);
      if (o.maxSteps && ++steps >= o.maxSteps) break;
    }
    let valAccuracy: number | null = null;
    let valLoss: number | null = null;
    if (valSet.size) {
      const p = (native ?? predictor).predictSet(valSet, { attention: false });
      valLoss = p.loss;
      let ok = 0;
      const k = classes.length;
      for (let j = 0; j < valSet.size; j++) {
        let arg = 0;
        for (let c = 1; c < k; c++) if (p.probs[j * k + c] > p.probs[j * k + arg]) arg = c;
        if (arg === valSet.labels[j]) ok++;
      }
      valAccuracy = ok / valSet.size;
    }
    const e: EpochLog = {
      epoch,
      loss: lossSum / trainSet.size,
      trainAccuracy: correct / trainSet.size,
      valAccuracy,
      valLoss,
      seconds: (performance.now() - te) / 1000,
    };
    curve.push(e);
    o.onEpoch?.(e);
    log(
      `epoch ${String(epoch).padStart(3)}  loss ${e.loss.toFixed(4)}  train acc ${(100 * e.trainAccuracy).toFixed(1)} %` +
        (valAccuracy !== null
          ? `  val acc ${(100 * valAccuracy).toFixed(1)} %  val loss ${valLoss!.toFixed(4)}`
          : '') +
        `  ${e.seconds.toFixed(1)} s`,
    );
    const stopping = o.maxSteps !== undefined && steps >= o.maxSteps;
    if (select && valAccuracy !== null && valLoss !== null) {
      // epochs compared on validation accuracy smoothed over a window (ties: smoothed loss)
      accs.push(valAccuracy);
      losses.push(valLoss);
      const score = trailingMean(accs, accs.length - 1, sched.window);
      const lossKey = trailingMean(losses, losses.length - 1, sched.window);
      if (score > best.acc + 1e-9 || (Math.abs(score - best.acc) <= 1e-9 && lossKey < best.loss)) {
        best = { epoch, acc: score, loss: lossKey, values: snapshot() };
      } else if (sched.patience > 0 && epoch - best.epoch >= sched.patience) {
        log(
          `early stop: no smoothed validation improvement for ${sched.patience} epochs; best epoch ${best.epoch}`,
        );
        break;
      }
    } else if (epoch > sched.epochs - sched.averageLast || stopping) {
      // no selection: the mean of the last epochs' weights
      const snap = snapshot();
      sum ??= Object.fromEntries(Object.entries(snap).map(([k, v]) => [k, new Float64Array(v.length)]));
      for (const [k, v] of Object.entries(snap)) {
        const acc = sum[k];
        for (let j = 0; j < v.length; j++) acc[j] += v[j];
      }
      summed++;
      best = { epoch, acc: valAccuracy ?? -1, loss: valLoss ?? Infinity, values: snap };
    }
    if (stopping) break;
  }
  if (sum && summed > 1) {
    const mean: Record<string, Float32Array> = {};
    for (const [k, v] of Object.entries(sum)) mean[k] = Float32Array.from(v, (x) => x / summed);
    best = { ...best, values: mean };
  }
  model.restore(best.values);
  positive.dispose();
  const trainSeconds = (performance.now() - t1) / 1000;

  return { model, curve, best, predictor, trainSeconds, steps };
}
