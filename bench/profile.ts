/**
 * `npm run bench -- profile [--videos 256] [--steps 12] [--variants mean,dual]`
 *
 * Where the time of one tfjs training step goes (batch 32, the peers' shapes: T 16, object 7×7
 * reduced to 128 channels, context 404, action 111, face 12, dfan's defaults): JS batch assembly
 * (gather, dropout masks, map dropout, upload), forward + backward (`tf.variableGrads`, split
 * into the kernels' own time and the engine's bookkeeping around them), Adam, read-back, and the
 * garbage collector. Then the heaviest kernels of one step (tf.profile). Figures only.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { syntheticSet } from '../research/synthetic.js';
import { Adam } from '../src/model/adam.js';
import { loadTf } from '../src/model/backend.js';
import { resolveModelConfig, resolveTrainConfig, type Variant } from '../src/model/config.js';
import { Dfan, initParams, paramSpecs } from '../src/model/dfan.js';
import { dimsOf, disposeBatch, fitPrep } from '../src/model/features.js';
import { maskSeed } from '../src/model/map-dropout.js';
import { loadItems } from '../src/model/train.js';
import { rng } from '../src/util/random.js';
import { arg, fmt, median } from './util.js';

export async function run(args: string[]): Promise<void> {
  const videos = Number(arg(args, 'videos', '256'));
  const steps = Number(arg(args, 'steps', '12'));
  const variants = arg(args, 'variants', 'mean,dual').split(',') as Variant[];
  const tf = await loadTf();
  const streams = ['object', 'context', 'action', 'face'];
  const syn = syntheticSet({
    videos,
    classes: 6,
    T: 16,
    H: 7,
    W: 7,
    C: 1280,
    vectors: { context: 404, action: 111, face: 12 },
    cueSnippets: 2,
    cueSide: 2,
    strength: 1,
    testFraction: 0,
    noise: 'uniform',
    seed: 7,
  });
  const items = syn.dataset.items;
  const sample = await Promise.all(items.slice(0, 128).map((i) => syn.source.load(i.key)));
  const prep = await fitPrep(tf, sample, streams, 128, 0);
  const set = (await loadItems(tf, syn.source, items, syn.dataset.classes, prep, true)).set;
  console.log(
    `profile of one training step: ${set.size} videos loaded, batch 32, ${steps} steps per variant`,
  );
  console.log(`tfjs ${tf.version.tfjs} on ${tf.getBackend()}; the machine may be loaded: read the shares`);

  let gcMs = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcMs += e.duration;
  });
  obs.observe({ entryTypes: ['gc'] });

  for (const variant of variants) {
    const mcfg = resolveModelConfig({ variant, streams, mapDim: 128 });
    const tcfg = resolveTrainConfig({});
    const dims = dimsOf(prep);
    const classes = syn.dataset.classes;
    const model = new Dfan(tf, mcfg, dims, classes, initParams(paramSpecs(mcfg, dims, classes.length), 0));
    const adam = new Adam(tf, tcfg.lr);
    const vars = Object.values(model.params);
    const random = rng(1);
    const Du = mcfg.projDim * streams.length * model.K;
    const spatial = variant === 'dual' || variant === 'spatial';
    const phases: Record<string, number[]> = { batch: [], 'forward+backward': [], adam: [], readback: [] };
    const gcs: number[] = [];
    const step = (profile: boolean) => {
      const idx = Array.from({ length: 32 }, () => Math.floor(random() * set.size));
      const g0 = gcMs;
      const t0 = performance.now();
      const drop = new Float32Array(32 * Du);
      for (let j = 0; j < drop.length; j++) drop[j] = random() >= mcfg.dropout ? 2 : 0;
      const batch = set.batch(tf, idx, {
        maps: spatial,
        dropout: { mask: drop, width: Du },
        scoreDims: model.scoreDims(),
        mapDrop: spatial ? { p: mcfg.mapDropout, seed: maskSeed(random) } : undefined,
      });
      const labels = tf.tensor1d(
        idx.map((j) => set.labels[j]),
        'int32',
      );
      const t1 = performance.now();
      const { value, grads } = tf.variableGrads(
        () => model.loss(model.forward(batch).logits, labels, { weightDecay: 1e-3 }),
        vars,
      );
      const t2 = performance.now();
      adam.apply(vars, grads);
      const t3 = performance.now();
      value.dataSync();
      for (const g of Object.values(grads)) g.dispose();
      value.dispose();
      labels.dispose();
      disposeBatch(batch);
      const t4 = performance.now();
      if (!profile) return;
      phases.batch.push(t1 - t0);
      phases['forward+backward'].push(t2 - t1);
      phases.adam.push(t3 - t2);
      phases.readback.push(t4 - t3);
      gcs.push(gcMs - g0);
    };
    for (let i = 0; i < 3; i++) step(false);
    for (let i = 0; i < steps; i++) step(true);
    const total = Object.values(phases).reduce((a, xs) => a + median(xs), 0);
    console.log(`\n${variant}: ${fmt(total, 1)} ms a step (medians), GC ${fmt(median(gcs), 1)} ms a step`);
    for (const [name, xs] of Object.entries(phases))
      console.log(
        `  ${name.padEnd(18)} ${fmt(median(xs), 1).padStart(7)} ms  ${fmt((100 * median(xs)) / total, 0)} %`,
      );

    // one step under tf.profile: each kernel's own time, summed by kernel name
    const info = await tf.profile(() => {
      const idx = Array.from({ length: 32 }, (_, j) => j % set.size);
      const batch = set.batch(tf, idx, { maps: spatial, scoreDims: model.scoreDims() });
      const labels = tf.tensor1d(
        idx.map((j) => set.labels[j]),
        'int32',
      );
      const { value, grads } = tf.variableGrads(
        () => model.loss(model.forward(batch).logits, labels, { weightDecay: 1e-3 }),
        vars,
      );
      value.dispose();
      for (const g of Object.values(grads)) g.dispose();
      labels.dispose();
      disposeBatch(batch);
    });
    const byName = new Map<string, { ms: number; n: number }>();
    let kernelMs = 0;
    for (const k of info.kernels) {
      const ms = Number(k.kernelTimeMs) || 0;
      kernelMs += ms;
      const e = byName.get(k.name) ?? { ms: 0, n: 0 };
      e.ms += ms;
      e.n++;
      byName.set(k.name, e);
    }
    const fb = median(phases['forward+backward']);
    console.log(
      `  forward+backward: ${info.kernels.length} kernel calls, ${fmt(kernelMs, 1)} ms in kernels, ${fmt(Math.max(0, fb - kernelMs), 1)} ms (${fmt((100 * Math.max(0, fb - kernelMs)) / fb, 0)} %) in the engine around them`,
    );
    const top = [...byName.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 10);
    for (const [name, e] of top)
      console.log(`    ${name.padEnd(16)} ${String(e.n).padStart(4)}×  ${fmt(e.ms, 1).padStart(7)} ms`);
    model.dispose();
  }
  obs.disconnect();
}
