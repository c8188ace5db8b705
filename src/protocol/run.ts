/**
 * The published protocols, end to end: features are extracted ONCE for every video of every split
 * (a feature store keyed by item key), then for each variant and split a DFAN is trained on the
 * split's training videos (early stopping on a validation slice carved from them — never the test
 * split), evaluated on its test videos, and the results are aggregated (mean ± std).
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
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeConfusionPng } from '../data/confusion-png.js';
import { openDataset, type SplitSource } from '../data/open.js';
import type { Dataset, DatasetItem } from '../data/types.js';
import { DfanError, describeError } from '../errors.js';
import type { ModelConfig, TrainConfig, Variant } from '../model/config.js';
import type { FeatureSource } from '../model/features.js';
import { DFAN_VERSION } from '../version.js';
import {
  isSplitResult,
  type ProtocolReport,
  REPORT_FORMAT,
  reportMarkdown,
  SPLIT_RESULT_FORMAT,
  type SplitResult,
  summariseVariant,
} from './report.js';

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

function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(tmp, path);
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return null;
  }
}

function hashOf(x: unknown): string {
  return createHash('sha256').update(JSON.stringify(x)).digest('hex').slice(0, 16);
}

function splitKeys(ds: Dataset): { train: string[]; test: string[] } {
  const all = [...ds.items, ...ds.missing];
  return {
    train: all
      .filter((i) => i.split !== 'test')
      .map((i) => `${i.key}\t${i.label}`)
      .sort(),
    test: all
      .filter((i) => i.split === 'test')
      .map((i) => `${i.key}\t${i.label}`)
      .sort(),
  };
}

function fmtTime(s: number): string {
  if (s < 90) return `${s.toFixed(0)} s`;
  const m = Math.floor(s / 60);
  return m < 90 ? `${m} min ${Math.round(s - 60 * m)} s` : `${(s / 3600).toFixed(1)} h`;
}

/** Run the protocol. Progress goes to `opts.log`. */
export async function runProtocol(opts: ProtocolOptions): Promise<ProtocolResult> {
  const t0 = performance.now();
  const log = opts.log ?? (() => {});
  const out = resolve(opts.out);
  mkdirSync(out, { recursive: true });
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
  log(
    `dataset ${src.name}: ${src.classes.length} classes, split${splits.length > 1 ? 's' : ''} ${splits.join(', ')}${src.randomSplits ? ' (random stratified 2:1, made by dfan)' : ''}; variant${variants.length > 1 ? 's' : ''} ${variants.join(', ')}`,
  );

  // every item of every split, once (keys are shared across splits)
  const byKey = new Map<string, DatasetItem>();
  for (const ds of datasets.values()) for (const it of [...ds.items, ...ds.missing]) byKey.set(it.key, it);
  const missingKeys = [...byKey.values()].filter((i) => !i.video).map((i) => i.key);
  const looked = [...datasets.values()].some((d) => d.root !== undefined);

  // 1. features: extract once
  let features: string | FeatureSource;
  let featureConfig: unknown = null;
  if (opts.featureSource) {
    features = opts.featureSource;
    featureConfig = 'external feature source';
  } else {
    const dir = resolve(opts.features ?? join(out, 'features'));
    features = dir;
    if (looked) {
      const items = [...byKey.values()].filter((i) => i.video).map((i) => ({ key: i.key, path: i.video }));
      if (items.length === 0) {
        throw new DfanError('NOT_FOUND', `none of the ${byKey.size} listed videos was found under the root`, {
          file: opts.root ?? [...datasets.values()][0]?.root,
          hint: 'check --root: videos are looked up by name (try `dfan dataset stats … --root`)',
        });
      }
      if (missingKeys.length)
        log(`${missingKeys.length} listed video(s) not found under the root: left out (see report)`);
      log(
        `extracting features of ${items.length} videos into ${dir} (pack ${opts.pack ?? 'default'}; finished files are kept)`,
      );
      const { extractAll } = await import('../features/extract.js');
      let last = 0;
      const summary = await extractAll(items, dir, {
        pack: opts.pack ?? 'default',
        streams: opts.streams,
        T: opts.T,
        K: opts.K,
        workers: opts.workers,
        inflight: opts.inflight,
        onProgress: (p) => {
          const now = performance.now();
          if (now - last > 3000 || p.done + p.skipped + p.failed === p.total) {
            last = now;
            log(
              `  features ${p.done + p.skipped + p.failed}/${p.total} (${p.skipped} kept, ${p.failed} failed)`,
            );
          }
        },
      });
      for (const f of summary.failed.slice(0, 10)) log(`  failed: ${f.key}: ${f.error}`);
      log(
        `features: ${summary.done} extracted, ${summary.skipped} kept, ${summary.failed.length} failed in ${fmtTime(summary.wallSeconds)} (pack ${summary.packId})`,
      );
      featureConfig = summary.configHash;
    } else if (!existsSync(dir)) {
      throw new DfanError('NOT_FOUND', 'no feature store and no --root to extract from', {
        file: dir,
        hint: 'give --root DATA (the videos) or --features DIR (a store made by dfan extract)',
      });
    } else {
      const idx = readJson(join(dir, 'index.json')) as { configHash?: string } | null;
      featureConfig = idx?.configHash ?? null;
      log(`using the feature store ${dir}`);
    }
  }

  // 2. train + evaluate every (variant, split)
  const { trainRun } = await import('../model/train-run.js');
  const { evaluateRun } = await import('../model/evaluate.js');
  const results = new Map<string, SplitResult[]>();
  const computed: ProtocolResult['computed'] = [];
  const reused: ProtocolResult['reused'] = [];
  let packId = '';
  let streamInfo: Record<string, string> = {};
  const total = variants.length * splits.length;
  let step = 0;
  const durations: number[] = [];
  for (const variant of variants) {
    const list: SplitResult[] = [];
    results.set(variant, list);
    for (const n of splits) {
      step++;
      const ds = datasets.get(n)!;
      const dir = join(out, variant, `split-${pad2(n)}`);
      const resultPath = join(dir, 'result.json');
      const model = { ...opts.model, variant, streams: opts.streams ?? opts.model?.streams };
      const train = { ...opts.train };
      const configHash = hashOf({ variant, model, train, featureConfig, keys: splitKeys(ds) });
      const prior = readJson(resultPath);
      const tag = `[${step}/${total}] ${variant} split ${n}`;
      if (!opts.force && isSplitResult(prior, configHash)) {
        list.push(prior);
        reused.push({ variant, split: n });
        log(
          `${tag}: done earlier — accuracy ${(100 * prior.metrics.accuracy).toFixed(1)} % (result.json kept)`,
        );
        const runCfg = readJson(join(dir, 'run', 'config.json')) as {
          packId?: string;
          streamInfo?: Record<string, string>;
        } | null;
        if (runCfg?.packId && !packId) {
          packId = runCfg.packId;
          streamInfo = runCfg.streamInfo ?? {};
        }
        continue;
      }
      if (prior) log(`${tag}: an earlier result exists with another configuration or is damaged: redone`);
      const eta =
        durations.length > 0
          ? ` (≈ ${fmtTime(((total - step + 1) * durations.reduce((a, b) => a + b, 0)) / durations.length)} left)`
          : '';
      log(`${tag}: training on ${ds.items.filter((i) => i.split !== 'test').length} videos${eta}`);
      const ts = performance.now();
      mkdirSync(dir, { recursive: true });
      const runDir = join(dir, 'run');
      rmSync(runDir, { recursive: true, force: true });
      const tr = await trainRun({
        features,
        dataset: ds,
        out: runDir,
        model,
        train,
        log: opts.verbose ? (l) => log(`    ${l}`) : undefined,
      });
      try {
        packId ||= tr.predictor.config.packId;
        if (!Object.keys(streamInfo).length) streamInfo = tr.predictor.config.streamInfo ?? {};
        const ev = await evaluateRun(tr.predictor, { dataset: ds, split: 'test', features });
        const seconds = (performance.now() - ts) / 1000;
        const png = 'confusion.png';
        writeConfusionPng(
          join(dir, png),
          ev.metrics,
          `${src.name} ${variant} split ${n}: ${(100 * ev.metrics.accuracy).toFixed(1)}%`,
        );
        const res: SplitResult = {
          format: SPLIT_RESULT_FORMAT,
          version: 1,
          variant,
          split: n,
          configHash,
          metrics: ev.metrics,
          testListed: new Set(
            [...ds.items, ...ds.missing].filter((i) => i.split === 'test').map((i) => i.key),
          ).size,
          evaluated: ev.metrics.n,
          skipped: ev.skipped,
          trainSize: tr.trainSize,
          valSize: tr.valSize,
          bestEpoch: tr.bestEpoch,
          epochs: tr.curve.length,
          valAccuracy: tr.valAccuracy,
          seconds,
          confusionPng: png,
          run: tr.runDir ? 'run' : null,
          createdAt: new Date().toISOString(),
        };
        writeJsonAtomic(resultPath, res);
        list.push(res);
        computed.push({ variant, split: n, seconds });
        durations.push(seconds);
        log(
          `${tag}: test accuracy ${(100 * ev.metrics.accuracy).toFixed(1)} % on ${ev.metrics.n} videos (best epoch ${tr.bestEpoch}/${tr.curve.length}, val ${tr.valAccuracy === null ? '–' : `${(100 * tr.valAccuracy).toFixed(1)} %`}) in ${fmtTime(seconds)}`,
        );
      } catch (e) {
        throw new DfanError('INTERNAL', `${variant} split ${n}: evaluation failed: ${describeError(e)}`, {
          cause: e,
        });
      } finally {
        tr.predictor.dispose();
      }
    }
  }

  // 3. aggregate
  const summaries = Object.fromEntries(
    variants.map((v) => [v, summariseVariant(v, results.get(v) ?? [], src.classes)]),
  );
  const streams = Object.entries(streamInfo).map(([name, what]) => ({ name, what }));
  const notes: string[] = [
    'Backbones are frozen; only the small DFAN head is trained, from scratch, on this dataset.',
    'Epochs are chosen on a stratified validation slice carved from each split’s TRAINING videos when it holds ≥ 50 videos (accuracy averaged over 3 epochs); smaller training sets keep the weights averaged over their last epochs. The test videos are used once, for the figures above (the public VAANet/CTEN code selects epochs on the test split; dfan does not).',
    'Mean ± std: over splits, std is the sample standard deviation (n − 1).',
    'Streams are named for what they are (see above): no stream here is a Places365 scene model, and a stream is a Kinetics action model only if its description says so.',
  ];
  if (src.randomSplits)
    notes.push(
      'The dataset has no test split: dfan made random stratified 2:1 train/test splits (seeded, reproducible).',
    );
  if (src.kind === 've8' && /\.xlsx$/i.test(src.source)) {
    notes.push(
      'VE-8 splits were read from the 10-split workbook, whose layout dfan INFERRED from public scripts (see docs/datasets.md).',
    );
  }
  if (src.kind === 've8' || src.kind === 'ek6') {
    notes.push(
      `Published DFAN figures (ICME 2020, as tabulated by CTEN): Ekman-6 57.3 %, VE-8 53.3 %. They used other backbones (unpublished) and cannot be compared directly with this run.`,
    );
  }
  if (missingKeys.length)
    notes.push(
      `${missingKeys.length} listed video(s) were not found and were left out of training and testing.`,
    );
  const missingSet = new Set(missingKeys);
  const skippedTotal = [...results.values()]
    .flat()
    .reduce((a, r) => a + r.skipped.filter((x) => !missingSet.has(x.key)).length, 0);
  if (skippedTotal) {
    notes.push(
      `${skippedTotal} test evaluation(s) were skipped because the video's features were missing or damaged.`,
    );
  }
  const report: ProtocolReport = {
    format: REPORT_FORMAT,
    version: 1,
    createdAt: new Date().toISOString(),
    dfanVersion: DFAN_VERSION,
    dataset: {
      name: src.name,
      kind: src.kind,
      source: src.source,
      classes: src.classes,
      randomSplits: src.randomSplits,
      splits,
      missingVideos: missingKeys.length,
      missingKeys,
    },
    packId: packId || 'unknown',
    streams,
    config: {
      variants,
      model: opts.model ?? {},
      train: opts.train ?? {},
      streams: opts.streams ?? 'all in the features',
      features: typeof features === 'string' ? features : 'external feature source',
      pack: opts.pack ?? (looked ? 'default' : 'from the feature store'),
      T: opts.T ?? 'pack default',
    },
    variants: summaries,
    ablation: !!opts.ablation,
    notes,
    wallSeconds: (performance.now() - t0) / 1000,
  };
  const reportPath = join(out, 'report.json');
  const markdownPath = join(out, 'report.md');
  writeJsonAtomic(reportPath, report);
  writeFileSync(markdownPath, reportMarkdown(report));
  for (const v of Object.values(summaries)) {
    log(
      `${v.variant}: ${(100 * v.mean).toFixed(1)} % ± ${(100 * v.std).toFixed(1)} over ${v.splits.length} split(s)`,
    );
  }
  log(`report: ${markdownPath}`);
  return { report, reportPath, markdownPath, computed, reused };
}
