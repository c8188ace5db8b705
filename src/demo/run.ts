/**
 * `dfan demo`: the whole pipeline on a focus dataset made on the spot, no download.
 *   1. generate the videos (focus.ts)             OUT/dataset/
 *   2. extract features with the default pack     OUT/features/   (cached: reruns skip finished videos;
 *      another pack: OUT/features-<pack>/, runs in OUT/runs-<pack>/)
 *      and the cue ceiling: a linear classifier told where and when the photo is (cue-ceiling.ts)
 *   3. train `mean` and `dual`                    OUT/runs/<variant>/
 *   4. evaluate on the test split: accuracy, temporal hit rate, spatial pointing accuracy, chance
 *      levels (scores.ts), and draw what dual saw on a few test videos (showcase.ts)
 *   5. write OUT/summary.html, OUT/summary.md and OUT/figures/ (summary.ts)
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readManifest } from '../data/manifest.js';
import type { Metrics } from '../data/metrics-types.js';
import type { Dataset } from '../data/types.js';
import { DfanError } from '../errors.js';
import { mapRegion } from '../features/region.js';
import type { Region, StreamInfo } from '../features/types.js';
import { type CueCeiling, cueCeiling, storeMapLoader } from './cue-ceiling.js';
import { buildFocusDataset, sharedPhotosNote } from './focus.js';
import { pct } from './page.js';
import { centreSquareRegion, type FocusScores, onCue, topSnippet, truthOf } from './scores.js';
import { renderShowcase } from './showcase.js';
import {
  DEFAULT_FOCUS,
  type FocusDataset,
  type FocusMaterial,
  type FocusSpec,
  type FocusVideo,
} from './spec.js';
import { writeSummary } from './summary.js';
import { runVariant, type Scoring, type VariantOutcome, type VariantPlace } from './variant.js';

export interface DemoOptions {
  out: string;
  quick?: boolean;
  seed?: number;
  /** folder of real clips (default ../shared/media; wallpaper photographs when it has none) */
  footage?: string;
  /** test videos over the training videos' footage clips (default: test clips held out) */
  sharedFootage?: boolean;
  /** k: test videos show the same k photos per class as the training videos (default: held out) */
  sharedPhotos?: number;
  /** feature pack (default: 'default'); it must have a map stream named `object` */
  pack?: string;
  log?: (line: string) => void;
  /** transient progress (a line that the next one replaces); default: log every ~10 % */
  progress?: (line: string) => void;
}

export interface DemoResult {
  out: string;
  summaryMd: string;
  summaryHtml: string;
  scores: Record<'mean' | 'dual', FocusScores>;
  metrics: Record<'mean' | 'dual', Metrics>;
  /** wall seconds per stage, and CPU seconds of this process (ffmpeg children not included) */
  seconds: { dataset: number; extract: number; train: number; total: number; cpu: number };
  streams: string[];
  material: FocusMaterial;
  /** the region the object grid spans, as read from the feature files (or the default) */
  region: string;
  /** what perfect focus gives: a linear classifier on the true cue cells (null: too few videos) */
  cueCeiling: CueCeiling | null;
  /** the pack the features came from */
  pack: string;
  /**
   * dual on its own training videos: where its focus lands on what it was fitted to. A training
   * video whose top snippet misses the photo is fitted on its footage, and the classifier learns
   * from that footage (docs/model.md, "What dual still loses").
   */
  trainFocus: FocusScores & { fittedWithoutCue: number };
}

/**
 * Fail before the dataset is built when another pack cannot serve the demo: it must load (an
 * installed research pack, a readable pack JSON) and have a map stream named `object`.
 */
async function checkDemoPack(spec: string): Promise<void> {
  const { resolvePack } = await import('../features/extract.js');
  const pack = await resolvePack(spec, { streams: ['object'] });
  const object = pack.streams.find((s) => s.name === 'object');
  await pack.dispose();
  if (object?.kind !== 'map') {
    throw new DfanError(
      'BAD_ARGUMENT',
      `pack "${spec}" has no map stream named "object" (it has ${pack.streams.map((s) => `${s.name} (${s.kind})`).join(', ')})`,
      { hint: 'the demo measures where the focus lands on the object map: use a pack with an object map' },
    );
  }
}

/** Demo sizes: full (≤ 10 min here) and quick (CI, ≤ ~3 min). */
export function demoPlan(quick: boolean, seed = 0): { spec: FocusSpec; streams: string[] } {
  return quick
    ? { spec: { ...DEFAULT_FOCUS, classes: 3, perClass: 15, seed }, streams: ['object'] }
    : {
        spec: { ...DEFAULT_FOCUS, classes: 4, perClass: 36, seed },
        // object only, to save extraction time: on this set dfan train's stream check leaves the
        // default pack's context, action and face out anyway (their video means predict the class
        // no better than shuffled labels: docs/model.md, "Stream check")
        streams: ['object'],
      };
}

/**
 * The region each test video's object grid spans: the `region` field of the object stream in its
 * feature file when the pack writes one, else today's default pack geometry (centre square of
 * the short side).
 */
export async function objectRegions(
  featuresDir: string,
  videos: FocusVideo[],
): Promise<{ byKey: Map<string, Region>; description: string; stream: string }> {
  const { readFeatureHeader, fileNameForKey } = await import('../features/store.js');
  const byKey = new Map<string, Region>();
  let fromFile = 0;
  let stream = 'object stream';
  for (const v of videos) {
    // the file's word (mapRegion), else the old packs' centre crop
    let info: StreamInfo | undefined;
    try {
      const h = await readFeatureHeader(join(featuresDir, fileNameForKey(v.key)));
      info = h.meta.streams.find((s) => s.name === 'object');
    } catch {
      // no feature file: the default geometry
    }
    if (info?.region) fromFile++;
    if (info && stream === 'object stream') stream = `${info.backbone}: ${info.description}`;
    byKey.set(v.key, mapRegion(info ?? {}, v.frame.width, v.frame.height));
  }
  const description =
    fromFile === videos.length
      ? 'the region written in the feature files (object stream)'
      : fromFile === 0
        ? "the default pack's centre square of the short side (the feature files name no region)"
        : `the feature files' region for ${fromFile} of ${videos.length} videos, else the centre square of the short side`;
  return { byKey, description, stream };
}

/** What every step of one demo run shares: where things go and how it speaks. */
interface DemoContext extends VariantPlace {
  opts: DemoOptions;
  out: string;
  plan: { spec: FocusSpec; streams: string[] };
  pack: string;
  /** whether progress item `done` of `total` is shown (every item live, every ~10 % in logs) */
  show: (done: number, total: number) => boolean;
}

function demoContext(opts: DemoOptions): DemoContext {
  const log = opts.log ?? ((l: string) => process.stdout.write(`${l}\n`));
  const pack = opts.pack ?? 'default';
  const out = resolve(opts.out);
  // another pack gets its own folders: a store never mixes packs, and the default's runs stay
  const suffix = pack === 'default' ? '' : `-${pack.replace(/[^A-Za-z0-9._-]+/g, '_')}`;
  const every = (total: number) => Math.max(1, Math.round(total / 10));
  const plan = demoPlan(!!opts.quick, opts.seed ?? 0);
  return {
    opts,
    out,
    seed: opts.seed ?? 0,
    plan,
    pack,
    streams: plan.streams,
    featuresDir: join(out, `features${suffix}`),
    runsDir: join(out, `runs${suffix}`),
    log,
    progress: opts.progress ?? log,
    show: (done, total) => !!opts.progress || done % every(total) === 0 || done === total,
  };
}

/** Step 1: the videos, their manifest and truth (cached: finished videos are kept). */
async function datasetStep(ctx: DemoContext): Promise<FocusDataset> {
  const { spec } = ctx.plan;
  const shapes = spec.frames.map((f) => `${f.width}×${f.height}`).join(', ');
  ctx.log(
    `[1/4] focus dataset on real imagery: ${spec.classes} classes × ${spec.perClass} videos, ${spec.duration} s at ${spec.fps} fps (${shapes}); ` +
      `the class is a real photo in a box of 1/4 × 1/4 of the frame (1/16 of the area), shown during 2 of ${spec.T} snippets over real footage`,
  );
  const ds = await buildFocusDataset(join(ctx.out, 'dataset'), spec, {
    footage: ctx.opts.footage,
    sharedFootage: ctx.opts.sharedFootage,
    sharedPhotos: ctx.opts.sharedPhotos,
    onProgress: (done, n) => {
      if (ctx.show(done, n)) ctx.progress(`      videos ${done}/${n}`);
    },
  });
  const m = ds.material;
  ctx.log(
    `      photos: ${Object.entries(m.photos.perClass)
      .map(([c, n]) => `${c} ${n.train}+${n.test}`)
      .join(', ')} (train+test, ${sharedPhotosNote(m.photos) ?? 'held out'}) from ${m.photos.source}`,
  );
  ctx.log(
    `      footage: ${m.footage.description}; ${m.footage.train.length} train / ${m.footage.test.length} test sources`,
  );
  return ds;
}

/** Step 2: features of every video (cached in the store: reruns skip finished videos). */
async function featuresStep(ctx: DemoContext, ds: FocusDataset): Promise<Dataset> {
  ctx.log(
    `[2/4] features: ${ctx.pack} pack, streams ${ctx.plan.streams.join(' + ')} (cached in ${ctx.featuresDir})`,
  );
  const dataset = readManifest(ds.manifest);
  if (dataset.missing.length)
    throw new DfanError('INTERNAL', `${dataset.missing.length} demo videos are missing`, {
      file: ds.manifest,
    });
  const { extractAll } = await import('../features/extract.js');
  const t0 = performance.now();
  const summary = await extractAll(
    dataset.items.map((i) => ({ key: i.key, path: i.video, source: i.key })),
    ctx.featuresDir,
    {
      pack: ctx.pack,
      streams: ctx.plan.streams,
      T: ctx.plan.spec.T,
      onReady: (r) => {
        if (r.skipped) ctx.log(`      ${r.skipped} already extracted, ${r.todo} to do`);
      },
      onProgress: (p) => {
        const d = p.done + p.skipped + p.failed;
        if (p.key && ctx.show(d, p.total)) {
          const s = (performance.now() - t0) / 1000;
          ctx.progress(
            `      extracted ${d}/${p.total} (${s.toFixed(0)} s${p.failed ? `, ${p.failed} failed` : ''})`,
          );
        }
      },
    },
  );
  if (summary.failed.length) {
    throw new DfanError(
      'SOME_FAILED',
      `${summary.failed.length} demo video(s) failed extraction: ${summary.failed[0].error}`,
    );
  }
  return dataset;
}

/** Step 5: draw what dual saw on a few test videos, write summary.html, summary.md and figures/. */
async function reportStep(
  ctx: DemoContext,
  r: {
    ds: FocusDataset;
    scoring: Scoring;
    regions: { description: string; stream: string };
    ceiling: CueCeiling | null;
    mean: VariantOutcome;
    dual: VariantOutcome & { trainFocus: NonNullable<VariantOutcome['trainFocus']> };
    seconds: DemoResult['seconds'];
  },
): Promise<{ md: string; html: string }> {
  const { ds, dual, mean } = r;
  const { truth, regionOf } = r.scoring;
  const showcase = await renderShowcase({
    dual: dual.videos,
    mean: mean.videos,
    truth,
    classes: ds.classes,
    datasetDir: ds.dir,
    grid: dual.grid,
    regionOf,
  });
  return writeSummary(ctx.out, {
    spec: ctx.plan.spec,
    classes: ds.classes,
    material: ds.material,
    manifest: ds.manifest,
    pack: ctx.pack,
    streams: ctx.plan.streams,
    objectStream: r.regions.stream,
    regionNote: r.regions.description,
    training: {
      schedule: dual.schedule,
      ensemble: dual.ensemble,
      reduction: dual.reduction,
      nTrain: r.scoring.dataset.items.filter((i) => i.split === 'train').length,
    },
    scores: { mean: mean.scores, dual: dual.scores },
    ceiling: r.ceiling,
    trainFocus: dual.trainFocus,
    seconds: r.seconds,
    runs: { mean: join(ctx.runsDir, 'mean'), dual: join(ctx.runsDir, 'dual') },
    tests: dual.videos.map((v) => ({
      key: v.key,
      label: v.label,
      predicted: v.predicted,
      cue: v.snippets.flatMap((s, i) => (onCue(s, truthOf(truth, v.key).cue) ? [i] : [])),
      top: topSnippet(v),
    })),
    showcase,
  });
}

export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const ctx = demoContext(opts);
  mkdirSync(ctx.out, { recursive: true });
  if (ctx.pack !== 'default') await checkDemoPack(ctx.pack);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const ds = await datasetStep(ctx);
  const tData = performance.now();
  const dataset = await featuresStep(ctx, ds);
  const tExtract = performance.now();

  const truth = new Map(ds.videos.map((v) => [v.key, v]));
  const regions = await objectRegions(ctx.featuresDir, ds.videos);
  const regionOf = (v: FocusVideo) =>
    regions.byKey.get(v.key) ?? centreSquareRegion(v.frame.width, v.frame.height);
  const ceiling = await cueCeiling(ds.videos, ds.classes, storeMapLoader(ctx.featuresDir), regionOf);
  if (ceiling)
    ctx.log(
      `      cue ceiling (perfect focus, linear): a classifier told where and when each photo is names ${pct(ceiling.accuracy)} of the test videos (λ ${ceiling.lambda} by leaving one photo out, ${pct(ceiling.looAccuracy)} on ${ceiling.trainN} training videos)`,
    );
  const scoring = { dataset, truth, regionOf };
  const mean = await runVariant(ctx, 'mean', 0, scoring);
  const dual = await runVariant(ctx, 'dual', 1, scoring);
  const cpu = process.cpuUsage(cpu0);
  const seconds = {
    dataset: (tData - t0) / 1000,
    extract: (tExtract - tData) / 1000,
    train: mean.seconds + dual.seconds,
    total: (performance.now() - t0) / 1000,
    cpu: (cpu.user + cpu.system) / 1e6,
  };
  const { trainFocus } = dual;
  if (!trainFocus) throw new DfanError('INTERNAL', 'dual was not scored on its training videos');

  ctx.log('[4/4] results on the test split; drawing what dual saw');
  const written = await reportStep(ctx, {
    ds,
    scoring,
    regions,
    ceiling,
    mean,
    dual: { ...dual, trainFocus },
    seconds,
  });
  return {
    out: ctx.out,
    summaryMd: written.md,
    summaryHtml: written.html,
    scores: { mean: mean.scores, dual: dual.scores },
    metrics: { mean: mean.metrics, dual: dual.metrics },
    seconds,
    streams: ctx.plan.streams,
    material: ds.material,
    region: regions.description,
    cueCeiling: ceiling,
    pack: ctx.pack,
    trainFocus,
  };
}
