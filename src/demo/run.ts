/**
 * `dfan demo`: the whole pipeline on a focus dataset made on the spot, no download.
 *   1. generate the videos (focus.ts)             OUT/dataset/
 *   2. extract features with the default pack     OUT/features/   (cached: reruns skip finished videos;
 *      another pack: OUT/features-<pack>/, runs in OUT/runs-<pack>/)
 *      and the cue probe: a linear classifier told where and when the photo is (cue-probe.ts)
 *   3. train `mean` and `dual`                    OUT/runs/<variant>/
 *   4. evaluate on the test split: accuracy, temporal hit rate, spatial pointing accuracy, chance levels
 *   5. write OUT/summary.md and OUT/summary.html
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { gridRegion } from '../backbones/preprocess.js';
import { readManifest } from '../data/manifest.js';
import type { Metrics } from '../data/metrics-types.js';
import { DfanError } from '../errors.js';
import { mapRegion } from '../features/region.js';
import type { Region, StreamInfo } from '../features/types.js';
import type { VideoResult } from '../model/evaluate.js';
import { type CueProbe, cueCellWeights, cueProbe, storeMapLoader } from './cue-probe.js';
import {
  buildFocusDataset,
  DEFAULT_FOCUS,
  type FocusMaterial,
  type FocusSpec,
  type FocusVideo,
  sharedPhotosNote,
} from './focus.js';

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

export interface FocusScores {
  accuracy: number;
  /** share of test videos whose top-β snippet overlaps the cue interval */
  temporalHit: number;
  temporalChance: number;
  /** share whose peak α cell at the top-β snippet lies in the cue box, one cell of tolerance */
  pointing: number;
  pointingChance: number;
  /** stricter: peak α cell at the cue snippet inside the cue box (no tolerance) */
  pointingAtCue: number;
  pointingAtCueChance: number;
  n: number;
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
  cueProbe: CueProbe | null;
  /** the pack the features came from */
  pack: string;
  /**
   * dual on its own training videos: where its focus lands on what it was fitted to. A training
   * video whose top snippet misses the photo is fitted on its footage, and the classifier learns
   * from that footage (docs/model.md, "What dual still loses").
   */
  trainFocus: FocusScores & { fittedWithoutCue: number };
}

/** Whether a snippet's span overlaps the cue interval (what the temporal hit counts). */
function onCue(s: { start: number; end: number }, cue: { start: number; end: number }): boolean {
  return s.start < cue.end && s.end > cue.start;
}

/** The snippet with the largest β. */
function topSnippet(v: Pick<VideoResult, 'beta'>): number {
  return v.beta.indexOf(Math.max(...v.beta));
}

function truthOf(truth: Map<string, FocusVideo>, key: string): FocusVideo {
  const t = truth.get(key);
  if (!t) throw new DfanError('INTERNAL', `no ground truth for ${key}`);
  return t;
}

/** Videos classified right although their top-β snippet does not overlap the cue: fitted on something else. */
export function fittedWithoutCue(videos: VideoResult[], truth: Map<string, FocusVideo>): number {
  return videos.filter(
    (v) => v.predicted === v.label && !onCue(v.snippets[topSnippet(v)], truthOf(truth, v.key).cue),
  ).length;
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
 * The region a grid spans when a feature file does not say (files from before regions): the
 * centre square of the frame, as the old centre crop onto a square input.
 */
export function centreSquareRegion(width: number, height: number): Region {
  return gridRegion(width, height, 1, 1, 'crop');
}

/**
 * Cells of an H×W object map that overlap the cue box by ≥ 10 % of a cell, when the grid spans
 * `region` of the frame ([0,0,1,1]: the whole frame stretched to the square input).
 */
export function cueCells(
  v: Pick<FocusVideo, 'cue' | 'frame'>,
  H: number,
  W: number,
  region: Region,
): number[] {
  return [...cueCellWeights(v, H, W, region).entries()].flatMap(([i, w]) => (w >= 0.1 ? [i] : []));
}

/** The cells within `tolerance` cells (Chebyshev distance) of any of `cells`. */
export function dilateCells(cells: number[], H: number, W: number, tolerance = 1): number[] {
  const out = new Set<number>();
  for (const i of cells) {
    const r = Math.floor(i / W);
    const c = i % W;
    for (let dr = -tolerance; dr <= tolerance; dr++)
      for (let dc = -tolerance; dc <= tolerance; dc++) {
        const rr = r + dr;
        const cc = c + dc;
        if (rr >= 0 && rr < H && cc >= 0 && cc < W) out.add(rr * W + cc);
      }
  }
  return [...out].sort((a, b) => a - b);
}

/** Temporal hit rate and spatial pointing accuracy of a run's test predictions, with chance levels. */
export function focusScores(
  videos: VideoResult[],
  truth: Map<string, FocusVideo>,
  grid: { H: number; W: number },
  accuracy: number,
  regionOf: (key: string, v: FocusVideo) => Region = (_k, v) =>
    centreSquareRegion(v.frame.width, v.frame.height),
): FocusScores {
  let hit = 0;
  let point = 0;
  let pointCue = 0;
  let hitChance = 0;
  let pointChance = 0;
  let pointCueChance = 0;
  const peakOf = (alpha: number[] | undefined): number | null => {
    if (!alpha) return null;
    const max = Math.max(...alpha);
    // a uniform α (no spatial focus) has no peak: it never points
    if (max - Math.min(...alpha) < 1e-9) return null;
    return alpha.indexOf(max);
  };
  for (const v of videos) {
    const t = truthOf(truth, v.key);
    const overlaps = v.snippets.map((s) => onCue(s, t.cue));
    const top = topSnippet(v);
    if (overlaps[top]) hit++;
    hitChance += overlaps.filter(Boolean).length / v.snippets.length;
    const cells = cueCells(t, grid.H, grid.W, regionOf(v.key, t));
    const near = dilateCells(cells, grid.H, grid.W, 1);
    pointChance += near.length / (grid.H * grid.W);
    pointCueChance += cells.length / (grid.H * grid.W);
    // the issue's pointing: the peak α cell at the top-β snippet, inside the box ± one cell
    const peak = peakOf(v.alpha.object?.[top]);
    if (peak !== null && near.includes(peak)) point++;
    // the earlier, stricter one: at the cue snippet (key frame inside the cue, nearest its middle), no tolerance
    const mid = (t.cue.start + t.cue.end) / 2;
    let cueSnippet = 0;
    v.snippets.forEach((s, i) => {
      if (Math.abs(s.keyTime - mid) < Math.abs(v.snippets[cueSnippet].keyTime - mid)) cueSnippet = i;
    });
    const peakCue = peakOf(v.alpha.object?.[cueSnippet]);
    if (peakCue !== null && cells.includes(peakCue)) pointCue++;
  }
  const n = videos.length;
  return {
    accuracy,
    temporalHit: hit / n,
    temporalChance: hitChance / n,
    pointing: point / n,
    pointingChance: pointChance / n,
    pointingAtCue: pointCue / n,
    pointingAtCueChance: pointCueChance / n,
    n,
  };
}

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

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

export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const log = opts.log ?? ((l: string) => process.stdout.write(`${l}\n`));
  const out = resolve(opts.out);
  mkdirSync(out, { recursive: true });
  const plan = demoPlan(!!opts.quick, opts.seed ?? 0);
  const packName = opts.pack ?? 'default';
  // another pack gets its own folders: a store never mixes packs, and the default's runs stay
  const suffix = packName === 'default' ? '' : `-${packName.replace(/[^A-Za-z0-9._-]+/g, '_')}`;
  const featuresDir = join(out, `features${suffix}`);
  const runsDir = join(out, `runs${suffix}`);
  if (packName !== 'default') await checkDemoPack(packName);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  // with a live progress line (TTY) every item is shown; in logs, every ~10 %
  const every = (total: number) => Math.max(1, Math.round(total / 10));
  const show = (done: number, total: number) =>
    !!opts.progress || done % every(total) === 0 || done === total;
  const progress =
    opts.progress ??
    ((line: string) => {
      log(line);
    });

  // 1. dataset
  const { spec } = plan;
  const total = spec.classes * spec.perClass;
  const shapes = spec.frames.map((f) => `${f.width}×${f.height}`).join(', ');
  log(
    `[1/4] focus dataset on real imagery: ${spec.classes} classes × ${spec.perClass} videos, ${spec.duration} s at ${spec.fps} fps (${shapes}); ` +
      `the class is a real photo in a box of 1/4 × 1/4 of the frame (1/16 of the area), shown during 2 of ${spec.T} snippets over real footage`,
  );
  const ds = await buildFocusDataset(join(out, 'dataset'), spec, {
    footage: opts.footage,
    sharedFootage: opts.sharedFootage,
    sharedPhotos: opts.sharedPhotos,
    onProgress: (done, n) => {
      if (show(done, n)) progress(`      videos ${done}/${n}`);
    },
  });
  const m = ds.material;
  log(
    `      photos: ${Object.entries(m.photos.perClass)
      .map(([c, n]) => `${c} ${n.train}+${n.test}`)
      .join(', ')} (train+test, ${sharedPhotosNote(m.photos) ?? 'held out'}) from ${m.photos.source}`,
  );
  log(
    `      footage: ${m.footage.description}; ${m.footage.train.length} train / ${m.footage.test.length} test sources`,
  );
  const tData = performance.now();

  // 2. features
  log(`[2/4] features: ${packName} pack, streams ${plan.streams.join(' + ')} (cached in ${featuresDir})`);
  const dataset = readManifest(ds.manifest);
  if (dataset.missing.length)
    throw new DfanError('INTERNAL', `${dataset.missing.length} demo videos are missing`, {
      file: ds.manifest,
    });
  const { extractAll } = await import('../features/extract.js');
  const items = dataset.items.map((i) => ({ key: i.key, path: i.video, source: i.key }));
  const summary = await extractAll(items, featuresDir, {
    pack: packName,
    streams: plan.streams,
    T: spec.T,
    onReady: (r) => {
      if (r.skipped) log(`      ${r.skipped} already extracted, ${r.todo} to do`);
    },
    onProgress: (p) => {
      const d = p.done + p.skipped + p.failed;
      if (p.key && show(d, p.total)) {
        const s = (performance.now() - tData) / 1000;
        progress(
          `      extracted ${d}/${p.total} (${s.toFixed(0)} s${p.failed ? `, ${p.failed} failed` : ''})`,
        );
      }
    },
  });
  if (summary.failed.length) {
    throw new DfanError(
      'SOME_FAILED',
      `${summary.failed.length} demo video(s) failed extraction: ${summary.failed[0].error}`,
    );
  }
  const tExtract = performance.now();

  // 3. train mean and dual; 4. evaluate on the test split
  const { trainRun } = await import('../model/train-run.js');
  const { reductionNote } = await import('../model/load.js');
  const { evaluateRun } = await import('../model/evaluate.js');
  const truth = new Map(ds.videos.map((v) => [v.key, v]));
  const regions = await objectRegions(featuresDir, ds.videos);
  const regionOf = (v: FocusVideo) =>
    regions.byKey.get(v.key) ?? centreSquareRegion(v.frame.width, v.frame.height);
  const probe = await cueProbe(ds.videos, ds.classes, storeMapLoader(featuresDir), regionOf);
  if (probe)
    log(
      `      cue probe (perfect focus, linear): a classifier told where and when each photo is names ${pct(probe.accuracy)} of the test videos (λ ${probe.lambda} by leaving one photo out, ${pct(probe.looAccuracy)} on ${probe.trainN} training videos)`,
    );
  const scores = {} as DemoResult['scores'];
  const metrics = {} as DemoResult['metrics'];
  const examples: Record<string, VideoResult[]> = {};
  let tTrain = 0;
  let schedule = '';
  let ensemble = '';
  let reduction = '';
  let trainFocus: DemoResult['trainFocus'] | null = null;
  for (const [i, variant] of (['mean', 'dual'] as const).entries()) {
    log(`[3/4] training ${variant} (${i + 1}/2) with dfan train's defaults`);
    const t1 = performance.now();
    let lastShown = 0;
    const r = await trainRun({
      features: featuresDir,
      dataset,
      out: join(runsDir, variant),
      // the same training defaults as `dfan train` and `dfan protocol` (src/model/schedule.ts)
      model: {
        variant,
        streams: plan.streams,
        spatialContext: plan.streams.includes('action') ? 'action' : 'mean',
      },
      train: { seed: opts.seed ?? 0 },
      log: (line) => {
        if (line.startsWith('ensemble: ')) log(`      ${line}`);
        if (line.startsWith('schedule:')) {
          log(`      ${line}`);
          schedule = line.slice('schedule: '.length);
        }
      },
      onEpoch: (e) => {
        if (e.epoch - lastShown >= 10 || e.epoch === 1) {
          lastShown = e.epoch;
          progress(
            `      epoch ${e.epoch}: loss ${e.loss.toFixed(3)}, train acc ${pct(e.trainAccuracy)}, val acc ${e.valAccuracy === null ? 'n/a' : pct(e.valAccuracy)}`,
          );
        }
      },
    });
    tTrain += (performance.now() - t1) / 1000;
    log(
      `      ${variant}: ${r.curve.length} epochs (best ${r.bestEpoch}) in ${((performance.now() - t1) / 1000).toFixed(1)} s`,
    );
    const { members, train: trained } = r.predictor.config;
    if (members?.length) {
      const seeds = Array.from({ length: members.length + 1 }, (_, i) => trained.seed + i);
      ensemble = `; an ensemble of ${seeds.length} models (seeds ${seeds.join(', ')}), probabilities and focus averaged`;
    }
    const grid = r.predictor.prep.streams.object;
    if (variant === 'dual') {
      // the demo trains with the defaults, so mapDim was automatic
      const note = reductionNote(r.predictor.prep, r.predictor.config.model, true);
      reduction = note ? `; ${note}` : '';
    }
    if (variant === 'dual') {
      const seen = await evaluateRun(r.predictor, { dataset, split: 'train', features: featuresDir });
      trainFocus = {
        ...focusScores(seen.videos, truth, { H: grid.H, W: grid.W }, seen.metrics.accuracy, (_key, v) =>
          regionOf(v),
        ),
        fittedWithoutCue: fittedWithoutCue(seen.videos, truth),
      };
    }
    const ev = await evaluateRun(r.predictor, { dataset, split: 'test', features: featuresDir });
    scores[variant] = focusScores(
      ev.videos,
      truth,
      { H: grid.H, W: grid.W },
      ev.metrics.accuracy,
      (_key, v) => regionOf(v),
    );
    metrics[variant] = ev.metrics;
    examples[variant] = ev.videos;
    writeFileSync(join(runsDir, variant, 'eval-test.json'), `${JSON.stringify(ev.metrics, null, 2)}\n`);
    r.predictor.dispose();
  }
  const tEnd = performance.now();
  const seconds = {
    dataset: (tData - t0) / 1000,
    extract: (tExtract - tData) / 1000,
    train: tTrain,
    total: (tEnd - t0) / 1000,
    cpu: (() => {
      const c = process.cpuUsage(cpu0);
      return (c.user + c.system) / 1e6;
    })(),
  };

  // 5. summary
  log('[4/4] results on the test split');
  const rows = (['mean', 'dual'] as const).map((v) => {
    const s = scores[v];
    return { v, s };
  });
  const chanceAcc = 1 / ds.classes.length;
  const table = [
    '| model | accuracy | temporal hit rate | spatial pointing |',
    '|---|---:|---:|---:|',
    ...rows.map(
      ({ v, s }) =>
        `| ${v} | ${pct(s.accuracy)} | ${v === 'mean' ? 'n/a (uniform β)' : pct(s.temporalHit)} | ${v === 'mean' ? 'n/a (no spatial focus)' : pct(s.pointing)} |`,
    ),
    ...(probe
      ? [
          `| cue probe: linear classifier told where and when the photo is (not a model: what perfect focus gives a linear classifier on these features) | ${pct(probe.accuracy)} | (given) | (given) |`,
        ]
      : []),
    `| chance | ${pct(chanceAcc)} | ${pct(scores.dual.temporalChance)} | ${pct(scores.dual.pointingChance)} |`,
  ];
  const nTrain = dataset.items.filter((i) => i.split === 'train').length;
  if (!trainFocus) throw new DfanError('INTERNAL', 'dual was not trained');
  const photoLines = Object.entries(m.photos.perClass).map(
    ([c, n]) => `| ${c} | ${n.kept} | ${n.train} | ${n.test} | ${n.rejected} | ${n.skipped} |`,
  );
  const md = [
    "# dfan demo: dual focus on dfan's own real-imagery focus dataset",
    '',
    `**Not an emotion dataset.** These figures are on a focus dataset dfan builds on the spot from real material on this machine: ${total} videos of ${spec.duration} s (${ds.classes.join(', ')}) whose class is visible only as a real photo in a box of 1/4 × 1/4 of the frame sides (1/16 of the area), at a random position, during 2 of ${spec.T} snippets, over real footage (frames ${shapes}; half the photos are cut-outs over the footage, half a card on a plain backdrop). ` +
      `Features: ${packName} pack (${plan.streams.join(' + ')}; object = ${regions.stream}). ` +
      `Trained here on ${nTrain} videos with dfan train's defaults (${schedule}${ensemble}${reduction}), evaluated on ${scores.dual.n} test videos ${m.photos.shared ? `that show the training photos again (${m.photos.shared} per class: known photos, a closed-set test; without --shared-photos the test photos are new)` : 'whose photos were never used in training'}${m.footage.test.length && m.footage.test.join() !== m.footage.train.join() ? ' and whose footage is held out too' : ''}.`,
    '',
    ...table,
    '',
    ...(probe
      ? [
          `- cue probe: each video's object cells under the photo's box (weighted by the share covered), at the snippets showing it, into a ridge classifier fitted on the ${probe.trainN} training videos (λ ${probe.lambda}, chosen by leaving one photo out at a time: ${pct(probe.looAccuracy)}). It is what perfect focus would give a linear classifier on these features: dual − mean is what the focus finds, cue probe − dual what it still loses, 100 % − cue probe what the backbone and ${probe.trainN} training videos do not give.`,
        ]
      : []),
    '- temporal hit rate: share of test videos whose top-weighted snippet (β) overlaps the cue interval.',
    '- spatial pointing: share whose peak cell of α (object map) at the top-β snippet lies in the cue box, with one cell of tolerance; chance = the share of cells within one cell of the box.',
    `- dual on its own ${trainFocus.n} training videos: accuracy ${pct(trainFocus.accuracy)}, temporal hit ${pct(trainFocus.temporalHit)}, pointing ${pct(trainFocus.pointing)}; ${trainFocus.fittedWithoutCue} of them are classified right although their top snippet misses the photo: the head fitted those on their footage, and its classifier learned from that footage (docs/model.md, "What dual still loses").`,
    `- stricter pointing (peak α cell at the cue snippet, inside the box, no tolerance): dual ${pct(scores.dual.pointingAtCue)} (chance ${pct(scores.dual.pointingAtCueChance)}).`,
    `- object grid geometry: ${regions.description}.`,
    `- time: dataset ${seconds.dataset.toFixed(0)} s, features ${seconds.extract.toFixed(0)} s, training ${seconds.train.toFixed(0)} s, total ${seconds.total.toFixed(0)} s (CPU of the dfan process ${seconds.cpu.toFixed(0)} s).`,
    `- runs: ${join(runsDir, 'mean')}, ${join(runsDir, 'dual')} (try \`dfan eval --run ${join(runsDir, 'dual')} --dataset ${ds.manifest}\`).`,
    '',
    '## Material',
    '',
    `Photos: ${m.photos.source}; drawings rejected by their flat share (src/demo/photos.ts), cartoons, symbols and mirrored copies skipped by path. ${m.photos.shared ? `Test videos show the training photos (${m.photos.shared} per class, --shared-photos).` : 'Train and test photos are disjoint.'}`,
    '',
    '| class | photos kept | train | test | rejected | skipped |',
    '|---|---:|---:|---:|---:|---:|',
    ...photoLines,
    '',
    `Footage: ${m.footage.description}. Train: ${m.footage.train.map((f) => basename(f)).join(', ')}; test: ${m.footage.test.map((f) => basename(f)).join(', ')}.`,
    '',
    '## Test videos (dual)',
    '',
    '| video | true | predicted | cue snippets | top-β snippet |',
    '|---|---|---|---|---|',
    ...examples.dual.slice(0, 40).map((v) => {
      const t = truthOf(truth, v.key);
      const cue = v.snippets.flatMap((s, i) => (onCue(s, t.cue) ? [i] : []));
      return `| ${v.key} | ${v.label} | ${v.predicted} | ${cue.join(', ')} | ${topSnippet(v)} |`;
    }),
    '',
  ].join('\n');
  const summaryMd = join(out, 'summary.md');
  writeFileSync(summaryMd, md);
  const summaryHtml = join(out, 'summary.html');
  writeFileSync(summaryHtml, summaryToHtml(md, examples.dual.slice(0, 24), truth));
  return {
    out,
    summaryMd,
    summaryHtml,
    scores,
    metrics,
    seconds,
    streams: plan.streams,
    material: ds.material,
    region: regions.description,
    cueProbe: probe,
    pack: packName,
    trainFocus,
  };
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A self-contained HTML page: the Markdown tables rendered, plus β bars per test video. */
function summaryToHtml(md: string, videos: VideoResult[], truth: Map<string, FocusVideo>): string {
  const body: string[] = [];
  let inTable = false;
  for (const line of md.split('\n')) {
    if (line.startsWith('|')) {
      if (/^\|[-:| ]+\|$/.test(line)) continue;
      const cells = line
        .split('|')
        .slice(1, -1)
        .map((c) => esc(c.trim()));
      if (!inTable) {
        body.push('<table>', `<tr>${cells.map((c) => `<th>${c}</th>`).join('')}</tr>`);
        inTable = true;
      } else body.push(`<tr>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`);
      continue;
    }
    if (inTable) {
      body.push('</table>');
      inTable = false;
    }
    if (line.startsWith('## ')) body.push(`<h2>${esc(line.slice(3))}</h2>`);
    else if (line.startsWith('# ')) body.push(`<h1>${esc(line.slice(2))}</h1>`);
    else if (line.startsWith('- ')) body.push(`<p>• ${esc(line.slice(2))}</p>`);
    else if (line.trim()) body.push(`<p>${esc(line)}</p>`);
  }
  if (inTable) body.push('</table>');
  body.push('<h2>Temporal focus β per test video (dual; cue snippets in orange)</h2>');
  for (const v of videos) {
    const t = truthOf(truth, v.key);
    const max = Math.max(...v.beta, 1e-9);
    const w = 12;
    const bars = v.beta
      .map((b, i) => {
        const s = v.snippets[i];
        const cue = onCue(s, t.cue);
        const h = Math.round((b / max) * 40);
        return `<rect x="${i * w}" y="${40 - h}" width="${w - 2}" height="${h}" fill="${cue ? '#f08000' : '#4060c0'}"/>`;
      })
      .join('');
    body.push(
      `<div class="v"><svg width="${v.beta.length * w}" height="42">${bars}</svg> ${esc(v.key)}: ${esc(v.label)} → ${esc(v.predicted)}</div>`,
    );
  }
  return `<!doctype html><html><head><meta charset="utf-8"><title>dfan demo</title><style>
body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}
td:first-child,th:first-child{text-align:left}.v{margin:4px 0;font-size:13px}svg{vertical-align:middle;background:#f4f4f4}
</style></head><body>${body.join('\n')}</body></html>\n`;
}
