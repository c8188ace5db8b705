/**
 * `npm run bench -- schedule`: the training defaults (src/model/schedule.ts) against the rule
 * they replaced (30 epochs, a 10 % validation slice whatever its size, raw validation accuracy,
 * patience 8), as test accuracy mean ± std over seeds, for datasets of several sizes.
 *
 *   --sizes 48,96,192,960   training videos of the synthetic sets (cue in 2 of 16 snippets, 1 of 49 cells)
 *   --seeds 3               training seeds (the validation slice moves with the seed)
 *   --variants mean,dual
 *   --rules before,now      rules side by side: `before` (the rule the defaults replaced: 30 epochs,
 *                           10 % validation whatever its size, raw accuracy, patience 8), `now`
 *                           (today's defaults), `wd1` (today's defaults with weight decay 1/n,
 *                           the automatic weight decay before 2026-12-04), `mix` (today's
 *                           defaults with mixup 1, `--mixup 1`)
 *   --features DIR --dataset CSV   a real feature store and its manifest instead (e.g. the demo's:
 *                           dfan-demo/features, dfan-demo/dataset/manifest.csv)
 */

import { syntheticSet, weakCueSpec } from '../research/synthetic.js';
import { readManifest } from '../src/data/manifest.js';
import type { Dataset } from '../src/data/types.js';
import type { TrainConfig, Variant } from '../src/model/config.js';
import { evaluateRun } from '../src/model/evaluate.js';
import type { FeatureSource } from '../src/model/features.js';
import { trainRun } from '../src/model/train-run.js';
import { arg, fmt } from './util.js';

const RULES: Record<string, { label: string; train: Partial<TrainConfig> }> = {
  before: {
    label: 'before (30 ep, 10 % val, raw acc, patience 8)',
    train: { epochs: 30, patience: 8, minValidation: 0, minSteps: 0, smoothing: 1 },
  },
  now: { label: 'now (defaults, one model)', train: {} },
  ens: { label: 'defaults, ensemble of 2', train: { ensemble: 2 } },
  wd1: { label: 'defaults, weight decay 1/n', train: { weightDecayScale: 1 } },
  mix: { label: 'defaults, mixup 1', train: { mixup: 1 } },
};

interface Case {
  name: string;
  dataset: Dataset;
  features: string | FeatureSource;
  streams?: string[];
}

function meanStd(xs: number[]): string {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, xs.length - 1));
  return `${fmt(m, 3)} ± ${fmt(sd, 3)}`;
}

export async function run(args: string[]): Promise<void> {
  const seeds = Number(arg(args, 'seeds', '3'));
  const variants = arg(args, 'variants', 'mean,dual').split(',') as Variant[];
  const cases: Case[] = [];
  const features = arg(args, 'features', '');
  if (features) {
    const dataset = readManifest(arg(args, 'dataset', ''));
    const streams = arg(args, 'streams', '');
    cases.push({
      name: `${dataset.name} (${dataset.items.filter((i) => i.split === 'train').length} train)`,
      dataset,
      features,
      streams: streams ? streams.split(',') : undefined,
    });
  } else {
    for (const n of arg(args, 'sizes', '48,96,192,960').split(',').map(Number)) {
      const syn = syntheticSet(weakCueSpec(n));
      cases.push({ name: `synthetic, ${n} train`, dataset: syn.dataset, features: syn.source });
    }
  }
  const rules = arg(args, 'rules', 'before,now').split(',');
  for (const r of rules)
    if (!RULES[r]) throw new Error(`unknown rule "${r}" (use ${Object.keys(RULES).join(', ')})`);
  console.log(`test accuracy, mean ± std over ${seeds} seeds; epochs run (median); seconds per run (median)`);
  console.log(
    `| dataset | variant | ${rules.map((r) => RULES[r].label).join(' | ')} | epochs ${rules.join(' / ')} | s ${rules.join(' / ')} |`,
  );
  console.log(`|---|---|${rules.map(() => '---:|').join('')}---:|---:|`);
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const c of cases) {
    for (const variant of variants) {
      const acc = rules.map((): number[] => []);
      const ep = rules.map((): number[] => []);
      const sec = rules.map((): number[] => []);
      for (let seed = 0; seed < seeds; seed++) {
        for (const [k, rule] of rules.entries()) {
          const t0 = performance.now();
          const r = await trainRun({
            features: c.features,
            dataset: c.dataset,
            model: { variant, streams: c.streams },
            // one model per rule unless the rule asks for an ensemble (the default 2 would train each rule twice)
            train: { ensemble: 1, ...RULES[rule].train, seed },
          });
          const ev = await evaluateRun(r.predictor, {
            dataset: c.dataset,
            split: 'test',
            features: c.features,
          });
          acc[k].push(ev.metrics.accuracy);
          ep[k].push(r.curve.length);
          sec[k].push((performance.now() - t0) / 1000);
          r.predictor.dispose();
        }
      }
      console.log(
        `| ${c.name} | ${variant} | ${acc.map(meanStd).join(' | ')} | ${ep.map(med).join(' / ')} | ${sec.map((s) => fmt(med(s), 1)).join(' / ')} |`,
      );
    }
  }
}
