/**
 * The published protocols, end to end: features are extracted ONCE for every video of every split
 * (a feature store keyed by item key), then for each variant and split a DFAN is trained on the
 * split's training videos (early stopping on a validation slice carved from them — never the test
 * split), evaluated on its test videos, and the results are aggregated (mean ± std). Beside
 * them, unless turned off, the figure the public VAANet/CTEN code reports: the test split is
 * scored after every epoch as an observation that changes nothing, and the best epoch chosen on
 * it is reported as "test-selected (not a fair estimate)"; the report names the split protocol.
 *
 *   OUT/features/                         the feature store (unless --features points elsewhere)
 *   OUT/<variant>/split-NN/result.json    one split's result: the resume marker
 *   OUT/<variant>/split-NN/confusion.png  its confusion matrix
 *   OUT/<variant>/split-NN/run/           the trained run (dfan predict --run / dfan eval --run)
 *   OUT/report.md, OUT/report.json        the aggregate
 *
 * Resumable: a split whose result.json is present, valid and made with the same configuration
 * is not rerun. Extraction resumes by itself (finished feature files are kept).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeConfusionPng } from '../data/confusion-png.js';
import { openDataset, type SplitSource } from '../data/open.js';
import type { Dataset, DatasetItem } from '../data/types.js';
import { DfanError, describeError } from '../errors.js';
import type { ModelConfig, TrainConfig, Variant } from '../model/config.js';
import type { FeatureSource } from '../model/features.js';
import type { TrainResult } from '../model/train-run.js';
import { jsonTag } from '../util/hash.js';
import { protocolFeatures } from './features.js';
import { readJson, writeJsonAtomic } from './files.js';
import {
  buildReport,
  fmtTime,
  isSplitResult,
  type ProtocolReport,
  SPLIT_RESULT_FORMAT,
  type SplitResult,
} from './report.js';
import { reportMarkdown } from './report-markdown.js';
import { describeSplitProtocol, fingerprintSplit, splitKeys } from './split-protocol.js';

export const ABLATION_VARIANTS: Variant[] = ['mean', 'temporal', 'spatial', 'dual'];

export interface ProtocolOptions {
  /** ve8 | ek6 | manifest CSV | folder (see src/data/open.ts) */
  target: string;
  lists?: string;
  root?: string;
  xlsx?: string;
  /** an already open dataset (tests, benchmarks); overrides target/lists/root */
  source?: SplitSource;
  out: string;
  /** feature store folder (default OUT/features); extraction fills it when a root is given */
  features?: string;
  /** precomputed features without a store (benchmarks); no extraction */
  featureSource?: FeatureSource;
  /** feature pack spec for extraction (default "default") */
  pack?: string;
  streams?: string[];
  T?: number;
  K?: number;
  workers?: number;
  /** videos in flight per extraction worker (default 2) */
  inflight?: number;
  /** split numbers (default: all the dataset has) */
  splits?: number[];
  variant?: Variant;
  ablation?: boolean;
  model?: Partial<ModelConfig>;
  train?: Partial<TrainConfig>;
  /** redo splits even when a valid result exists */
  force?: boolean;
  /**
   * observe the test split after every epoch and report the test-selected figure beside the
   * honest one (default true; false: `--no-test-selected`, no test pass per epoch)
   */
  testSelected?: boolean;
  log?: (line: string) => void;
  /** per-epoch lines from training (default off: one line per split) */
  verbose?: boolean;
}

export interface ProtocolResult {
  report: ProtocolReport;
  reportPath: string;
  markdownPath: string;
  /** (variant, split) pairs computed in this call vs reused from an earlier one */
  computed: Array<{ variant: string; split: number; seconds: number }>;
  reused: Array<{ variant: string; split: number }>;
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/** What the protocol runs over: the splits, the variants, and the videos behind them. */
interface ProtocolPlan {
  src: SplitSource;
  splits: number[];
  variants: Variant[];
  datasets: Map<number, Dataset>;
  /** every item of every split, once (keys are shared across splits) */
  byKey: Map<string, DatasetItem>;
  /** listed items whose video was not found */
  missingKeys: string[];
  /** whether the videos were looked up under a root (then they are extracted) */
  looked: boolean;
}

async function openPlan(opts: ProtocolOptions): Promise<ProtocolPlan> {
  const src =
    opts.source ?? (await openDataset(opts.target, { lists: opts.lists, root: opts.root, xlsx: opts.xlsx }));
  const splits = opts.splits ?? src.splits;
  const absent = splits.filter((n) => !src.splits.includes(n));
  if (absent.length) {
    throw new DfanError('BAD_ARGUMENT', `split ${absent.join(', ')} not available in ${src.source}`, {
      hint: `available: ${src.splits.join(', ')}`,
    });
  }
  const variants: Variant[] = opts.ablation ? ABLATION_VARIANTS : [opts.variant ?? 'dual'];
  const datasets = new Map<number, Dataset>(splits.map((n) => [n, src.load(n)]));
  const byKey = new Map<string, DatasetItem>();
  for (const ds of datasets.values()) for (const it of [...ds.items, ...ds.missing]) byKey.set(it.key, it);
  const looked = [...datasets.values()].some((d) => d.root !== undefined);
  // a video is missing only when it was looked for: from a feature store alone, none was
  const missingKeys = looked ? [...byKey.values()].filter((i) => !i.video).map((i) => i.key) : [];
  return { src, splits, variants, datasets, byKey, missingKeys, looked };
}

/** What every (variant, split) of one protocol run shares. */
interface SplitContext {
  opts: ProtocolOptions;
  out: string;
  datasetName: string;
  features: string | FeatureSource;
  /** where the features came from: part of each split's config hash */
  featureConfig: unknown;
  log: (line: string) => void;
  /** (variant, split) pairs in the run, for the [step/total] tags */
  total: number;
}

/** The pack and what its streams are, from the first split that says. */
interface StreamsSeen {
  packId: string;
  streamInfo: Record<string, string>;
}

/** One (variant, split) to run. */
interface SplitJob {
  variant: Variant;
  n: number;
  ds: Dataset;
  /** 1-based position in the run */
  step: number;
}

/**
 * One split: its result.json when it is valid for this configuration (the resume rule), else
 * train on its training videos and test on its test videos. `seconds` is null for a reused result.
 */
async function runSplit(
  ctx: SplitContext,
  job: SplitJob,
  eta: string,
  seen: StreamsSeen,
): Promise<{ result: SplitResult; seconds: number | null }> {
  const { opts, log } = ctx;
  const { variant, n, ds } = job;
  const dir = join(ctx.out, variant, `split-${pad2(n)}`);
  const model = { ...opts.model, variant, streams: opts.streams ?? opts.model?.streams };
  const train = { ...opts.train };
  const configHash = jsonTag({
    variant,
    model,
    train,
    featureConfig: ctx.featureConfig,
    keys: splitKeys(ds),
  });
  const prior = readJson(join(dir, 'result.json'));
  const tag = `[${job.step}/${ctx.total}] ${variant} split ${n}`;
  const observe = opts.testSelected !== false;
  const valid = !opts.force && isSplitResult(prior, configHash);
  // a result computed without the observation lacks the field (null: observed, nothing to observe)
  if (valid && (prior.testSelected !== undefined || !observe)) {
    log(`${tag}: done earlier — accuracy ${(100 * prior.metrics.accuracy).toFixed(1)} % (result.json kept)`);
    const runCfg = readJson(join(dir, 'run', 'config.json')) as Partial<StreamsSeen> | null;
    if (runCfg?.packId && !seen.packId) {
      seen.packId = runCfg.packId;
      seen.streamInfo = runCfg.streamInfo ?? {};
    }
    return { result: prior, seconds: null };
  }
  if (valid)
    log(
      `${tag}: the earlier result has no test-selected figure: redone to record it (the same seed gives the same honest figure; --no-test-selected keeps it)`,
    );
  else if (prior) log(`${tag}: an earlier result exists with another configuration or is damaged: redone`);
  log(`${tag}: training on ${ds.items.filter((i) => i.split !== 'test').length} videos${eta}`);
  const ts = performance.now();
  mkdirSync(dir, { recursive: true });
  const runDir = join(dir, 'run');
  rmSync(runDir, { recursive: true, force: true });
  const { trainRun } = await import('../model/train-run.js');
  const verbose = opts.verbose ? (l: string) => log(`    ${l}`) : undefined;
  const tr = await trainRun({
    features: ctx.features,
    dataset: ds,
    out: runDir,
    model,
    train,
    observeTest: observe,
    log: verbose,
  });
  try {
    seen.packId ||= tr.predictor.config.packId;
    if (!Object.keys(seen.streamInfo).length) seen.streamInfo = tr.predictor.config.streamInfo ?? {};
    const result = await testSplit(ctx, job, tr, dir, configHash, ts);
    const t = result.testSelected;
    log(
      `${tag}: test accuracy ${(100 * result.metrics.accuracy).toFixed(1)} % on ${result.metrics.n} videos (best epoch ${tr.bestEpoch}/${tr.curve.length}, val ${tr.valAccuracy === null ? '–' : `${(100 * tr.valAccuracy).toFixed(1)} %`}) in ${fmtTime(result.seconds)}${t ? `; test-selected (not a fair estimate) ${(100 * t.accuracy).toFixed(1)} % at epoch ${t.epoch}` : ''}`,
    );
    return { result, seconds: result.seconds };
  } catch (e) {
    throw new DfanError('INTERNAL', `${variant} split ${n}: evaluation failed: ${describeError(e)}`, {
      cause: e,
    });
  } finally {
    tr.predictor.dispose();
  }
}

/** Tests the trained split on its test videos; writes its confusion matrix and result.json. */
async function testSplit(
  ctx: SplitContext,
  job: SplitJob,
  tr: TrainResult,
  dir: string,
  configHash: string,
  startedAt: number,
): Promise<SplitResult> {
  const { variant, n, ds } = job;
  const { evaluateRun } = await import('../model/evaluate.js');
  const ev = await evaluateRun(tr.predictor, { dataset: ds, split: 'test', features: ctx.features });
  const seconds = (performance.now() - startedAt) / 1000;
  const png = 'confusion.png';
  const title = `${ctx.datasetName} ${variant} split ${n}: ${(100 * ev.metrics.accuracy).toFixed(1)}%`;
  writeConfusionPng(join(dir, png), ev.metrics, title);
  const res: SplitResult = {
    format: SPLIT_RESULT_FORMAT,
    version: 1,
    variant,
    split: n,
    configHash,
    metrics: ev.metrics,
    testListed: new Set([...ds.items, ...ds.missing].filter((i) => i.split === 'test').map((i) => i.key))
      .size,
    evaluated: ev.metrics.n,
    skipped: ev.skipped,
    trainSize: tr.trainSize,
    valSize: tr.valSize,
    bestEpoch: tr.bestEpoch,
    epochs: tr.curve.length,
    valAccuracy: tr.valAccuracy,
    ...(ctx.opts.testSelected !== false ? { testSelected: tr.testSelected } : {}),
    seconds,
    confusionPng: png,
    run: tr.runDir ? 'run' : null,
    createdAt: new Date().toISOString(),
  };
  writeJsonAtomic(join(dir, 'result.json'), res);
  return res;
}

/** The remaining time, from the mean time of the splits computed so far. */
function etaNote(durations: readonly number[], remaining: number): string {
  if (durations.length === 0) return '';
  return ` (≈ ${fmtTime((remaining * durations.reduce((a, b) => a + b, 0)) / durations.length)} left)`;
}

/** Every (variant, split) in order, variant by variant; the ETA from the splits computed so far. */
async function runAllSplits(ctx: SplitContext, plan: ProtocolPlan) {
  const results = new Map<string, SplitResult[]>();
  const computed: ProtocolResult['computed'] = [];
  const reused: ProtocolResult['reused'] = [];
  const seen: StreamsSeen = { packId: '', streamInfo: {} };
  const durations: number[] = [];
  let step = 0;
  for (const variant of plan.variants) {
    const list: SplitResult[] = [];
    results.set(variant, list);
    for (const n of plan.splits) {
      step++;
      const job = { variant, n, ds: plan.datasets.get(n)!, step };
      const { result, seconds } = await runSplit(ctx, job, etaNote(durations, ctx.total - step + 1), seen);
      list.push(result);
      if (seconds === null) reused.push({ variant, split: n });
      else {
        computed.push({ variant, split: n, seconds });
        durations.push(seconds);
      }
    }
  }
  return { results, computed, reused, seen };
}

/** The configuration the report states (what was asked, with the defaults named). */
function reportConfig(
  opts: ProtocolOptions,
  variants: Variant[],
  features: string | FeatureSource,
  looked: boolean,
): Record<string, unknown> {
  return {
    variants,
    model: opts.model ?? {},
    train: opts.train ?? {},
    streams: opts.streams ?? 'all in the features',
    features: typeof features === 'string' ? features : 'external feature source',
    pack: opts.pack ?? (looked ? 'default' : 'from the feature store'),
    T: opts.T ?? 'pack default',
    testSelected: opts.testSelected === false ? 'off' : 'observed after every epoch (not a fair estimate)',
  };
}

/** Run the protocol. Progress goes to `opts.log`. */
export async function runProtocol(opts: ProtocolOptions): Promise<ProtocolResult> {
  const t0 = performance.now();
  const log = opts.log ?? (() => {});
  const out = resolve(opts.out);
  mkdirSync(out, { recursive: true });
  const plan = await openPlan(opts);
  const { src, splits, variants, datasets } = plan;
  log(
    `dataset ${src.name}: ${src.classes.length} classes, split${splits.length > 1 ? 's' : ''} ${splits.join(', ')}${src.randomSplits ? ' (random stratified 2:1, made by dfan)' : ''}; variant${variants.length > 1 ? 's' : ''} ${variants.join(', ')}`,
  );

  // 1. features: extract once
  const { features, config: featureConfig } = await protocolFeatures({
    out,
    dir: opts.features,
    source: opts.featureSource,
    pack: opts.pack,
    streams: opts.streams,
    T: opts.T,
    K: opts.K,
    workers: opts.workers,
    inflight: opts.inflight,
    root: opts.root ?? [...datasets.values()][0]?.root,
    looked: plan.looked,
    items: plan.byKey,
    log,
  });

  // 2. train + evaluate every (variant, split)
  const ctx: SplitContext = {
    opts,
    out,
    datasetName: src.name,
    features,
    featureConfig,
    log,
    total: variants.length * splits.length,
  };
  const { results, computed, reused, seen } = await runAllSplits(ctx, plan);

  // 3. aggregate
  const report = buildReport({
    dataset: src,
    protocol: describeSplitProtocol(
      src,
      splits.map((n) => fingerprintSplit(n, datasets.get(n) as Dataset)),
    ),
    splits,
    missingKeys: plan.missingKeys,
    packId: seen.packId,
    streamInfo: seen.streamInfo,
    config: reportConfig(opts, variants, features, plan.looked),
    results,
    ablation: !!opts.ablation,
    wallSeconds: (performance.now() - t0) / 1000,
  });
  const reportPath = join(out, 'report.json');
  const markdownPath = join(out, 'report.md');
  writeJsonAtomic(reportPath, report);
  writeFileSync(markdownPath, reportMarkdown(report));
  log(`split protocol: ${report.dataset.protocol.description}`);
  for (const v of Object.values(report.variants)) {
    const t = v.testSelected;
    log(
      `${v.variant}: ${(100 * v.mean).toFixed(1)} % ± ${(100 * v.std).toFixed(1)} over ${v.splits.length} split(s)${t ? `; test-selected (not a fair estimate) ${(100 * t.mean).toFixed(1)} % ± ${(100 * t.std).toFixed(1)}` : ''}`,
    );
  }
  log(`report: ${markdownPath}`);
  return { report, reportPath, markdownPath, computed, reused };
}
