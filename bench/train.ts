/**
 * `npm run bench -- train [--videos 1637] [--epochs 2] [--variants mean,temporal,spatial,dual,dual-plain,dual-nodrop] [--spatial-hidden h] [--grid 7] [--engine native|tfjs] [--full]`
 *
 * `--engine`: the training engine (default: native when built, src/model/engine/; tfjs = tfjs-wasm).
 * DFAN training speed on Ekman-6-sized synthetic features: 1,637 videos × T=16 with an object map
 * 7×7×1280, context [404], action [111], face [12] (the default pack's shapes). Prints, per variant,
 * steps/s and seconds per epoch over all 1,637 videos (batch 32; `dual-plain` is dual without focus
 * and value contrast, so the contrast's cost is measured in the same run); the one-off load cost (feature
 * generation standing in for reading files + the 1280→128 map reduction); the speed-up of the
 * tfjs-wasm replacement kernels (transposed products, tanh, identity; see src/model/backend.ts) (dual on
 * the tfjs engine, same steps with and without them, same process); peak RSS.
 * `--grid 14` gives the object map 14×14 cells (the research pack's tiled map) instead of 7×7.
 * `--full` also times a complete training run of one Ekman-6 split (819 train videos, 30 epochs,
 * early stopping off) end to end, reading a feature store on disk. Figures only; nothing fails on time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packShapedSpec, syntheticSet } from '../research/synthetic.js';
import { FeatureStore } from '../src/features/store.js';
import { loadTf, setFastKernels } from '../src/model/backend.js';
import {
  type ModelConfig,
  resolveModelConfig,
  resolveTrainConfig,
  type Variant,
} from '../src/model/config.js';
import { nativeKernels, nativeStatus } from '../src/model/engine/native.js';
import { loadItems } from '../src/model/load.js';
import { fitPrep } from '../src/model/prep.js';
import { fitModel } from '../src/model/train.js';
import { trainRun } from '../src/model/train-run.js';
import { arg, fmt, median, peakRssMB } from './util.js';

/** Variant suffixes: what they turn off (the defaults before 2026-12-05), for ablations in one run. */
const SUFFIXES: Record<string, { label: string; config: Partial<ModelConfig> }> = {
  plain: { label: 'no contrast', config: { focusContrast: false, valueContrast: 'off' } },
  nodrop: { label: 'no map dropout', config: { mapDropout: 0 } },
};

export async function run(args: string[]): Promise<void> {
  const videos = Number(arg(args, 'videos', '1637'));
  const epochs = Number(arg(args, 'epochs', '2'));
  // `<variant>-plain`: the same variant without focus / value contrast (what the contrast costs)
  const variants = arg(args, 'variants', 'mean,temporal,spatial,dual,dual-plain').split(',');
  const full = args.includes('--full');
  const spatialHidden = args.includes('--spatial-hidden')
    ? Number(arg(args, 'spatial-hidden', ''))
    : undefined;
  const grid = Number(arg(args, 'grid', '7'));
  // tfjs for everything, trainRun's worker threads included (they share process.env)
  if (arg(args, 'engine', '') === 'tfjs') process.env.DFAN_ENGINE = 'tfjs';
  const engine = nativeKernels() ? 'native' : 'tfjs';
  const tf = await loadTf();
  const spec = packShapedSpec(videos, grid);
  const syn = syntheticSet(spec);
  const streams = ['object', 'context', 'action', 'face'];
  console.log(
    `DFAN training benchmark: ${videos} synthetic videos × T=16, object ${grid}×${grid}×1280, context 404, action 111, face 12`,
  );
  console.log(
    engine === 'native'
      ? `engine: ${nativeStatus()} (src/model/engine/, one thread)`
      : `engine: tfjs ${tf.version.tfjs}, backend ${tf.getBackend()} (single-threaded SIMD; see src/model/backend.ts)`,
  );
  console.log(
    'wall times depend on other load on the machine; CPU seconds of this process do not (single-threaded)',
  );

  // one-off: generate features (stands in for reading the files), fit the prep, reduce maps to 128
  const t0 = performance.now();
  const items = syn.dataset.items;
  const sample = await Promise.all(items.slice(0, 128).map((i) => syn.source.load(i.key)));
  const prep = await fitPrep(tf, sample, streams, 128, 0);
  const tPrep = (performance.now() - t0) / 1000;
  const loaded = await loadItems(tf, syn.source, items, syn.dataset.classes, prep, true);
  const tLoad = (performance.now() - t0) / 1000;
  const set = loaded.set;
  console.log(
    `load: ${fmt(tLoad, 1)} s for ${set.size} videos (prep fit ${fmt(tPrep, 1)} s; generation + 1280→128 reduction ${fmt(((tLoad - tPrep) * 1000) / set.size, 1)} ms/video); RSS ${fmt(peakRssMB(), 0)} MB`,
  );

  const rows: string[][] = [];
  const tcfg = resolveTrainConfig({ epochs, batchSize: 32, valFraction: 0, patience: 0 });
  const stepsPerEpoch = Math.ceil(set.size / tcfg.batchSize);
  for (const name of variants) {
    const [variant, suffix] = name.split('-') as [Variant, string | undefined];
    const off = suffix === undefined ? undefined : SUFFIXES[suffix];
    if (suffix !== undefined && !off) throw new Error(`--variants: unknown suffix "-${suffix}" in ${name}`);
    const model = resolveModelConfig({ variant, streams, mapDim: 128, spatialHidden, ...off?.config });
    const c0 = process.cpuUsage();
    const fit = fitModel(tf, {
      trainSet: set,
      valSet: null,
      classes: syn.dataset.classes,
      model,
      train: tcfg,
      engine,
    });
    const c1 = process.cpuUsage(c0);
    const cpuPerEpoch = (c1.user + c1.system) / 1e6 / fit.curve.length;
    const secs = fit.curve.map((e) => e.seconds);
    const perEpoch = median(secs);
    rows.push([
      off ? `${variant} (${off.label})` : variant,
      fmt(stepsPerEpoch / perEpoch, 1),
      fmt(perEpoch, 2),
      fmt(cpuPerEpoch, 2),
      secs.map((x) => fmt(x, 2)).join(' '),
      fmt(peakRssMB(), 0),
    ]);
    console.log(`  ${name}: ${fmt(perEpoch, 2)} s/epoch wall, ${fmt(cpuPerEpoch, 2)} s CPU`);
    fit.predictor.dispose();
  }
  console.log(
    '\n| variant | steps/s (batch 32) | s/epoch wall (median) | CPU s/epoch | each epoch (s) | peak RSS MB |',
  );
  console.log('|---|---:|---:|---:|---|---:|');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);

  // kernel speed-up: the same dual steps with and without the replacement kernels
  const steps = Number(arg(args, 'kernel-steps', '8'));
  const dual = resolveModelConfig({ variant: 'dual', streams, mapDim: 128, spatialHidden });
  const timeSteps = (fast: boolean) => {
    setFastKernels(tf, fast);
    const c0 = process.cpuUsage();
    const f = fitModel(tf, {
      trainSet: set,
      valSet: null,
      classes: syn.dataset.classes,
      model: dual,
      train: resolveTrainConfig({ epochs: 1, valFraction: 0 }),
      maxSteps: steps,
      engine: 'tfjs',
    });
    f.predictor.dispose();
    const c = process.cpuUsage(c0);
    return { wall: f.curve[0].seconds / steps, cpu: (c.user + c.system) / 1e6 / steps };
  };
  timeSteps(true); // warm-up
  const fast = [timeSteps(true), timeSteps(true)];
  const slow = [timeSteps(false)];
  setFastKernels(tf, true);
  const w = (xs: Array<{ wall: number; cpu: number }>) => median(xs.map((x) => x.wall));
  const c = (xs: Array<{ wall: number; cpu: number }>) => median(xs.map((x) => x.cpu));
  console.log(
    `\ntfjs-wasm replacement kernels (dual on tfjs, ${steps} steps of batch 32): ${fmt(1 / w(fast), 2)} steps/s with, ${fmt(1 / w(slow), 2)} steps/s without → ${fmt(w(slow) / w(fast), 1)}× faster (CPU time: ${fmt(c(slow) / c(fast), 1)}×)`,
  );

  if (full) {
    // one Ekman-6 split as a user has it: 819 train videos (10 % of them held out for validation)
    // in a feature store on disk (fp16 maps), then `trainRun` end to end: read, fit the PCA,
    // reduce, 30 epochs of dual with no early stop. Writing the store is not timed.
    const ek = syntheticSet({ ...spec, videos: 1637, testFraction: 818 / 1637 });
    const dir = mkdtempSync(join(tmpdir(), 'dfan-bench-train-'));
    try {
      const store = await FeatureStore.open(dir, { create: true });
      const trainItems = ek.dataset.items.filter((i) => i.split === 'train');
      for (const it of trainItems) await store.save(await ek.source.load(it.key));
      await store.flush();
      const t1 = performance.now();
      const c1 = process.cpuUsage();
      const r = await trainRun({
        features: dir,
        dataset: { ...ek.dataset, items: trainItems },
        model: { variant: 'dual', mapDim: 128, spatialHidden },
        train: { epochs: 30, patience: 0 },
      });
      const c = process.cpuUsage(c1);
      console.log(
        `full training of one split from a feature store (dual, ${r.trainSize} train + ${r.valSize} val videos, ${r.curve.length} epochs): ${fmt((performance.now() - t1) / 1000, 1)} s wall, ${fmt((c.user + c.system) / 1e6, 1)} s CPU (load ${fmt(r.loadSeconds, 1)} s, train ${fmt(r.trainSeconds, 1)} s)`,
      );
      r.predictor.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  console.log(`peak RSS: ${fmt(peakRssMB(), 0)} MB`);
}
