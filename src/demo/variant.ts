/**
 * One model of the demo: trained with `dfan train`'s defaults into its run folder, evaluated on
 * the test split (dual on its training videos too), and scored for where its focus lands.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Metrics } from '../data/metrics-types.js';
import type { Dataset } from '../data/types.js';
import type { Region } from '../features/types.js';
import type { VideoResult } from '../model/evaluate.js';
import type { TrainResult } from '../model/train-run.js';
import { pct } from './page.js';
import { type FocusScores, fittedWithoutCue, focusScores } from './scores.js';
import type { FocusVideo } from './spec.js';

/** Where a variant's features and runs are, what it reads, and how it speaks. */
export interface VariantPlace {
  featuresDir: string;
  runsDir: string;
  streams: string[];
  seed: number;
  log: (line: string) => void;
  /** transient progress (a line that the next one replaces) */
  progress: (line: string) => void;
}

/** What the scoring of a variant needs to know of the dataset. */
export interface Scoring {
  dataset: Dataset;
  truth: Map<string, FocusVideo>;
  regionOf: (v: FocusVideo) => Region;
}

/** One trained variant, scored on the test split (and dual on its own training videos too). */
export interface VariantOutcome {
  scores: FocusScores;
  metrics: Metrics;
  videos: VideoResult[];
  grid: { H: number; W: number };
  /** dfan train's schedule line, and the ensemble and map-reduction notes ('' when none) */
  schedule: string;
  ensemble: string;
  reduction: string;
  trainFocus: (FocusScores & { fittedWithoutCue: number }) | null;
  /** wall seconds of the training */
  seconds: number;
}

/** Train one variant with `dfan train`'s defaults (src/model/schedule.ts), as `dfan protocol` does. */
async function trainVariant(
  place: VariantPlace,
  variant: 'mean' | 'dual',
  dataset: Dataset,
): Promise<{ result: TrainResult; schedule: string; seconds: number }> {
  const { trainRun } = await import('../model/train-run.js');
  const t0 = performance.now();
  let lastShown = 0;
  let schedule = '';
  const result = await trainRun({
    features: place.featuresDir,
    dataset,
    out: join(place.runsDir, variant),
    model: {
      variant,
      streams: place.streams,
      spatialContext: place.streams.includes('action') ? 'action' : 'mean',
    },
    train: { seed: place.seed },
    log: (line) => {
      if (line.startsWith('ensemble: ')) place.log(`      ${line}`);
      if (line.startsWith('schedule:')) {
        place.log(`      ${line}`);
        schedule = line.slice('schedule: '.length);
      }
    },
    onEpoch: (e) => {
      if (e.epoch - lastShown >= 10 || e.epoch === 1) {
        lastShown = e.epoch;
        place.progress(
          `      epoch ${e.epoch}: loss ${e.loss.toFixed(3)}, train acc ${pct(e.trainAccuracy)}, val acc ${e.valAccuracy === null ? 'n/a' : pct(e.valAccuracy)}`,
        );
      }
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  place.log(
    `      ${variant}: ${result.curve.length} epochs (best ${result.bestEpoch}) in ${seconds.toFixed(1)} s`,
  );
  return { result, schedule, seconds };
}

/** Step 3 for one variant: train, evaluate on the test split, score the focus; the run is disposed. */
export async function runVariant(
  place: VariantPlace,
  variant: 'mean' | 'dual',
  index: number,
  sc: Scoring,
): Promise<VariantOutcome> {
  const { reductionNote } = await import('../model/load.js');
  const { evaluateRun } = await import('../model/evaluate.js');
  place.log(`[3/4] training ${variant} (${index + 1}/2) with dfan train's defaults`);
  const { result, schedule, seconds } = await trainVariant(place, variant, sc.dataset);
  const run = result.predictor;
  const { members, train: trained } = run.config;
  const seeds = Array.from({ length: (members?.length ?? 0) + 1 }, (_, i) => trained.seed + i);
  const ensemble = members?.length
    ? `; an ensemble of ${seeds.length} models (seeds ${seeds.join(', ')}), probabilities and focus averaged`
    : '';
  const { H, W } = run.prep.streams.object;
  // the demo trains with the defaults, so mapDim was automatic
  const note = variant === 'dual' ? reductionNote(run.prep, run.config.model, true) : '';
  const score = (videos: VideoResult[], accuracy: number) =>
    focusScores(videos, sc.truth, { H, W }, accuracy, (_key, v) => sc.regionOf(v));
  const evaluate = (split: 'train' | 'test') =>
    evaluateRun(run, { dataset: sc.dataset, split, features: place.featuresDir });
  let trainFocus: VariantOutcome['trainFocus'] = null;
  if (variant === 'dual') {
    const seen = await evaluate('train');
    trainFocus = {
      ...score(seen.videos, seen.metrics.accuracy),
      fittedWithoutCue: fittedWithoutCue(seen.videos, sc.truth),
    };
  }
  const ev = await evaluate('test');
  writeFileSync(join(place.runsDir, variant, 'eval-test.json'), `${JSON.stringify(ev.metrics, null, 2)}\n`);
  run.dispose();
  return {
    scores: score(ev.videos, ev.metrics.accuracy),
    metrics: ev.metrics,
    videos: ev.videos,
    grid: { H, W },
    schedule,
    ensemble,
    reduction: note ? `; ${note}` : '',
    trainFocus,
    seconds,
  };
}
