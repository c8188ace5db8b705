/**
 * Evaluation of a trained run on one split: metrics (src/data/metrics.ts) plus, per video, the
 * probabilities and focus (β, α) that the demo and the key-clip analysis measure, and, beside
 * them, the run's recorded test-selected figure when this evaluation is on the very test videos
 * it was observed on.
 */

import { argmax, computeMetrics, type Metrics } from '../data/metrics.js';
import type { Dataset, SplitName } from '../data/types.js';
import { DfanError } from '../errors.js';
import type { SnippetTimes } from '../features/types.js';
import { loadTf } from './backend.js';
import { usesSpatial } from './config.js';
import type { FeatureSource } from './features.js';
import { loadItems, storeSource } from './load.js';
import type { LoadedRun } from './run.js';
import { keysTag, type TestSelected } from './test-selected.js';

export interface VideoResult {
  key: string;
  label: string;
  predicted: string;
  probs: number[];
  /** temporal focus [T] */
  beta: number[];
  /** spatial focus per map stream, [T][H·W] row-major cells */
  alpha: Record<string, number[][]>;
  snippets: SnippetTimes[];
}

export interface EvalResult {
  metrics: Metrics;
  videos: VideoResult[];
  skipped: Array<{ key: string; reason: string }>;
  split: SplitName;
  /**
   * the run's test-selected figure (best epoch chosen on the test split, as the public VAANet/CTEN
   * code reports; not a fair estimate), when training observed these same test videos; else null.
   * Never part of `metrics`.
   */
  testSelected: TestSelected | null;
}

export async function evaluateRun(
  run: LoadedRun,
  opts: {
    dataset: Dataset;
    split?: SplitName;
    features?: string | FeatureSource;
    log?: (line: string) => void;
  },
): Promise<EvalResult> {
  const split = opts.split ?? 'test';
  const features = opts.features ?? run.config.features;
  if (!features) {
    throw new DfanError('BAD_ARGUMENT', 'no feature folder given and the run does not record one', {
      hint: 'pass --features DIR',
    });
  }
  const source = typeof features === 'string' ? await storeSource(features) : features;
  const items = [...opts.dataset.items, ...opts.dataset.missing].filter((i) => i.split === split);
  if (!items.length)
    throw new DfanError('BAD_MANIFEST', `dataset "${opts.dataset.name}" has no "${split}" items`);
  // the full maps only for a spatial focus: the other variants read each map's mean over cells
  const keepMaps = usesSpatial(run.model.cfg.variant);
  const { set, skipped } = await loadItems(await loadTf(), source, items, run.classes, run.prep, keepMaps, {
    log: opts.log,
    what: split,
  });
  const p = run.predictSet(set);
  const k = run.classes.length;
  const T = set.T;
  const truth: number[] = [];
  const pred: number[] = [];
  const videos: VideoResult[] = [];
  for (let i = 0; i < set.size; i++) {
    const probs = Array.from(p.probs.subarray(i * k, (i + 1) * k));
    const arg = argmax(probs);
    truth.push(set.labels[i]);
    pred.push(arg);
    const alpha: VideoResult['alpha'] = {};
    for (const [name, a] of Object.entries(p.alpha)) {
      const sp = run.prep.streams[name];
      const N = sp.H * sp.W;
      alpha[name] = Array.from({ length: T }, (_, t) =>
        Array.from(a.subarray((i * T + t) * N, (i * T + t + 1) * N)),
      );
    }
    videos.push({
      key: set.keys[i],
      label: run.classes[set.labels[i]],
      predicted: run.classes[arg],
      probs,
      beta: Array.from(p.beta.subarray(i * T, (i + 1) * T)),
      alpha,
      snippets: set.snippets[i],
    });
  }
  const recorded = run.config.result?.testSelected;
  const testSelected =
    split === 'test' && recorded && recorded.testKeys === keysTag(set.keys) ? recorded : null;
  return { metrics: computeMetrics(run.classes, truth, pred), videos, skipped, split, testSelected };
}
