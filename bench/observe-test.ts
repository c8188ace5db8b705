/**
 * `npm run bench -- observe-test [--epochs 2] [--repeats 2] [--variants dual] [--grid 7]`
 *
 * What observing the test split costs (`dfan train --observe-test`, on by default in `dfan
 * protocol`): one Ekman-6 split of synthetic features with the default pack's shapes (819 train,
 * 818 test videos × T=16, object map 7×7×1280 reduced to 128, context 404, action 111, face 12),
 * trained without and with the observation, interleaved (plain, observed, plain, …) so that the
 * load on the machine falls on both alike. Prints, per variant, the training seconds per epoch
 * of each, the observation's seconds per epoch, the wall ratio observed / plain and whether the
 * weights came out identical; and the memory the held test set adds. Figures only.
 */
import { packShapedSpec, syntheticSet } from '../research/synthetic.js';
import { loadTf } from '../src/model/backend.js';
import { resolveModelConfig, resolveTrainConfig, type Variant } from '../src/model/config.js';
import type { Dfan } from '../src/model/dfan.js';
import { loadItems } from '../src/model/load.js';
import { fitPrep } from '../src/model/prep.js';
import { fitModel } from '../src/model/train.js';
import { arg, fmt, median, peakRssMB } from './util.js';

function sameWeights(a: Dfan, b: Dfan): boolean {
  const x = a.snapshot();
  const y = b.snapshot();
  return Object.keys(x).every((k) => x[k].length === y[k].length && x[k].every((v, i) => v === y[k][i]));
}

export async function run(args: string[]): Promise<void> {
  const epochs = Number(arg(args, 'epochs', '2'));
  const repeats = Number(arg(args, 'repeats', '2'));
  const variants = arg(args, 'variants', 'dual').split(',') as Variant[];
  const grid = Number(arg(args, 'grid', '7'));
  const tf = await loadTf();
  const syn = syntheticSet(packShapedSpec(1637, grid));
  const streams = ['object', 'context', 'action', 'face'];
  // every other video: 819 train / 818 test, the sizes of the Ekman-6 split
  const trainItems = syn.dataset.items.filter((_, i) => i % 2 === 0);
  const testItems = syn.dataset.items.filter((_, i) => i % 2 === 1);
  console.log(
    `observing the test split: ${trainItems.length} train / ${testItems.length} test synthetic videos × T=16, object ${grid}×${grid}×1280 → 128, context 404, action 111, face 12`,
  );
  console.log('the machine may be loaded by other work: compare the ratios, measured interleaved in one run');
  const sample = await Promise.all(trainItems.slice(0, 128).map((i) => syn.source.load(i.key)));
  const prep = await fitPrep(tf, sample, streams, 128, 0);
  const rss0 = peakRssMB();
  const train = await loadItems(tf, syn.source, trainItems, syn.dataset.classes, prep, true);
  const rss1 = peakRssMB();
  const test = await loadItems(tf, syn.source, testItems, syn.dataset.classes, prep, true);
  const rss2 = peakRssMB();
  console.log(
    `peak RSS: ${fmt(rss0, 0)} MB before loading, ${fmt(rss1, 0)} MB with the training set, ${fmt(rss2, 0)} MB with the test set held too`,
  );

  const rows: string[][] = [];
  const tcfg = resolveTrainConfig({ epochs, batchSize: 32, valFraction: 0, patience: 0 });
  for (const variant of variants) {
    const model = resolveModelConfig({ variant, streams, mapDim: 128 });
    const plain: number[] = [];
    const observed: number[] = [];
    const trainPerEpoch: { plain: number[]; observed: number[] } = { plain: [], observed: [] };
    const observePerEpoch: number[] = [];
    let identical = true;
    for (let r = 0; r < repeats; r++) {
      const fits = [false, true].map((observe) => {
        const t0 = performance.now();
        const fit = fitModel(tf, {
          trainSet: train.set,
          valSet: null,
          classes: syn.dataset.classes,
          model,
          train: tcfg,
          testSet: observe ? test.set : null,
        });
        const wall = (performance.now() - t0) / 1000;
        (observe ? observed : plain).push(wall);
        trainPerEpoch[observe ? 'observed' : 'plain'].push(...fit.curve.map((e) => e.seconds));
        if (observe) observePerEpoch.push(fit.testSeconds / fit.curve.length);
        return fit;
      });
      identical &&= sameWeights(fits[0].model, fits[1].model);
      for (const f of fits) f.predictor.dispose();
    }
    const ratio = median(observed) / median(plain);
    rows.push([
      variant,
      fmt(median(trainPerEpoch.plain), 2),
      fmt(median(trainPerEpoch.observed), 2),
      fmt(median(observePerEpoch), 2),
      `${fmt(ratio, 3)}× (+${fmt(100 * (ratio - 1), 1)} %)`,
      identical ? 'yes' : 'NO',
    ]);
    console.log(
      `  ${variant}: plain ${plain.map((x) => fmt(x, 1)).join(' ')} s, observed ${observed.map((x) => fmt(x, 1)).join(' ')} s`,
    );
  }
  console.log(
    `\n| variant | train s/epoch, plain | train s/epoch, observed run | observation s/epoch (${testItems.length} test videos) | wall observed / plain (${epochs} epochs, median of ${repeats}) | same weights |`,
  );
  console.log('|---|---:|---:|---:|---:|---|');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  console.log(`peak RSS: ${fmt(peakRssMB(), 0)} MB`);
}
