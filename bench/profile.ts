/**
 * `npm run bench -- profile [--videos 320] [--steps 20] [--variants mean,dual] [--engines native,tfjs] [--grid 7] [--channels 128]`
 *
 * Where the time of one training step goes, per engine, on the peers' shapes (bench/peers/train.ts:
 * batch 32, T 16, object 7×7×128, context 404, action 111, face 12, dfan's defaults):
 * - native: CPU time of this thread in each kernel (products, fused spatial focus, gather with map
 *   dropout, Adam, small ones), in the head's JavaScript around them, and in the training loop
 *   (batch order, dropout masks) — by wrapping the kernels during `fitModel` steps;
 * - tfjs: batch assembly, forward + backward (kernels' own time and the engine's bookkeeping
 *   around them), Adam, read-back, garbage collection, and the heaviest kernels of one step.
 * `--grid 16 --channels 120` gives the default pack's object map (the demo's shapes) instead.
 * Thread CPU is used where it can be (the machine may be shared); figures only.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { Adam } from '../src/model/adam.js';
import { initParams } from '../src/model/architecture.js';
import { loadTf, type Tf } from '../src/model/backend.js';
import { resolveModelConfig, resolveTrainConfig, usesSpatial, type Variant } from '../src/model/config.js';
import { Dfan, paramSpecs } from '../src/model/dfan.js';
import { NativeHead } from '../src/model/engine/head.js';
import { nativeKernels, nativeStatus } from '../src/model/engine/native.js';
import { NativeTrainer } from '../src/model/engine/trainer.js';
import { disposeBatch, type FeatureSet } from '../src/model/features.js';
import { attachMasks, drawMasks, type MaskPlan } from '../src/model/masks.js';
import { dimsOf } from '../src/model/prep.js';
import { fitModel } from '../src/model/train.js';
import { rng } from '../src/util/random.js';
import { ekmanSizedSet, STREAMS } from './peers/train.js';
import { arg, fmt, median } from './util.js';

type Fn = (...a: unknown[]) => unknown;

/** Wrap obj[name] to add the calling thread's CPU seconds spent in it to acc[key]. */
function timeCalls(
  obj: Record<string, unknown>,
  name: string,
  key: string,
  acc: Map<string, number>,
  clock: () => number,
) {
  const f = obj[name] as Fn;
  obj[name] = function (this: unknown, ...a: unknown[]) {
    const t0 = clock();
    try {
      return f.apply(this, a);
    } finally {
      acc.set(key, (acc.get(key) ?? 0) + clock() - t0);
    }
  };
  return () => {
    obj[name] = f;
  };
}

function profileNative(tf: Tf, set: FeatureSet, classes: string[], variant: Variant, steps: number) {
  const nk = nativeKernels();
  if (!nk) return console.log(`\n${variant}, native: not available (${nativeStatus()})`);
  const clock = () => nk.threadCpu();
  const acc = new Map<string, number>();
  const kernels = nk as unknown as Record<string, unknown>;
  const undo = [
    ...['gemm', 'spatial', 'gather', 'adam', 'biasAct', 'actGrad', 'colSum'].map((k) =>
      timeCalls(kernels, k, `kernel ${k}`, acc, clock),
    ),
    timeCalls(NativeHead.prototype as never, 'forward', 'head', acc, clock),
    timeCalls(NativeHead.prototype as never, 'backward', 'head', acc, clock),
    timeCalls(NativeTrainer.prototype as never, 'step', 'step', acc, clock),
  ];
  const model = resolveModelConfig({ variant, streams: STREAMS, mapDim: 0 });
  // enough epochs for every step (maxSteps ends the run)
  const train = resolveTrainConfig({ epochs: 1000, batchSize: 32, valFraction: 0, patience: 0 });
  // two runs, of 1 step and of steps + 1: their difference is `steps` steps without the set-up
  const runFor = (maxSteps: number) => {
    acc.clear();
    const t0 = clock();
    fitModel(tf, { trainSet: set, valSet: null, classes, model, train, maxSteps }).predictor.dispose();
    return { total: clock() - t0, acc: new Map(acc) };
  };
  let one: ReturnType<typeof runFor>;
  let many: ReturnType<typeof runFor>;
  try {
    runFor(3); // warm-up
    one = runFor(1);
    many = runFor(steps + 1);
  } finally {
    for (const u of undo) u();
  }
  acc.clear();
  for (const [k, v] of many.acc) acc.set(k, v - (one.acc.get(k) ?? 0));
  acc.set('loop', many.total - one.total);
  const per = (k: string) => ((acc.get(k) ?? 0) * 1000) / steps;
  const kernelKeys = [...acc.keys()].filter((k) => k.startsWith('kernel '));
  const inHead = kernelKeys
    .filter((k) => k !== 'kernel gather' && k !== 'kernel adam')
    .reduce((a, k) => a + per(k), 0);
  const rows: Array<[string, number]> = [
    ...kernelKeys.map((k) => [k, per(k)] as [string, number]),
    ['head JavaScript around the kernels', per('head') - inHead],
    ['step: loss, Adam calls, bookkeeping', per('step') - per('head') - per('kernel adam')],
    ['training loop: order, dropout masks, labels', per('loop') - per('step') - per('kernel gather')],
  ];
  const total = rows.reduce((a, [, v]) => a + v, 0);
  console.log(
    `\n${variant}, native (${nativeStatus()}): ${fmt(total, 2)} ms of thread CPU a step in the training loop`,
  );
  for (const [name, v] of rows.sort((a, b) => b[1] - a[1]))
    console.log(
      `  ${name.padEnd(38)} ${fmt(v, 2).padStart(7)} ms  ${fmt((100 * v) / total, 0).padStart(3)} %`,
    );
}

/** One tfjs step under tf.profile: each kernel's own time, summed by kernel name. */
async function tfjsKernelTable(tf: Tf, set: FeatureSet, model: Dfan, fb: number, spatial: boolean) {
  const vars = Object.values(model.params);
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
  console.log(
    `  forward+backward: ${info.kernels.length} kernel calls, ${fmt(kernelMs, 1)} ms in kernels, ${fmt(Math.max(0, fb - kernelMs), 1)} ms in the engine around them`,
  );
  for (const [name, e] of [...byName.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 8))
    console.log(`    ${name.padEnd(16)} ${String(e.n).padStart(4)}×  ${fmt(e.ms, 1).padStart(7)} ms`);
}

async function profileTfjs(tf: Tf, set: FeatureSet, classes: string[], variant: Variant, steps: number) {
  let gcMs = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcMs += e.duration;
  });
  obs.observe({ entryTypes: ['gc'] });
  const mcfg = resolveModelConfig({ variant, streams: STREAMS, mapDim: 0 });
  const dims = dimsOf(set.prep);
  const model = new Dfan(tf, mcfg, dims, classes, initParams(paramSpecs(mcfg, dims, classes.length), 0));
  const adam = new Adam(tf, 1e-3);
  const vars = Object.values(model.params);
  const random = rng(1);
  const spatial = usesSpatial(variant);
  // the training loop's masks (masks.ts), with the defaults' rates: dropout, map dropout
  const plan: MaskPlan = {
    dropout: mcfg.dropout,
    zWidth: mcfg.projDim * STREAMS.length * model.K,
    mapDropout: mcfg.mapDropout,
    streamDropout: 0,
    streams: STREAMS.length,
    projDim: mcfg.projDim,
    mixup: 0,
  };
  const phases: Record<string, number[]> = { batch: [], 'forward+backward': [], adam: [], readback: [] };
  const gcs: number[] = [];
  const step = (keep: boolean) => {
    const idx = Array.from({ length: 32 }, () => Math.floor(random() * set.size));
    const g0 = gcMs;
    const t0 = performance.now();
    const masks = drawMasks(idx.length, plan, random);
    const batch = set.batch(tf, idx, { maps: spatial, scoreDims: model.scoreDims(), mapDrop: masks.mapDrop });
    attachMasks(tf, batch, masks, plan);
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
    if (!keep) return;
    phases.batch.push(t1 - t0);
    phases['forward+backward'].push(t2 - t1);
    phases.adam.push(t3 - t2);
    phases.readback.push(t4 - t3);
    gcs.push(gcMs - g0);
  };
  for (let i = 0; i < 3; i++) step(false);
  for (let i = 0; i < steps; i++) step(true);
  const total = Object.values(phases).reduce((a, xs) => a + median(xs), 0);
  console.log(
    `\n${variant}, tfjs-wasm: ${fmt(total, 1)} ms a step (wall, medians), GC ${fmt(median(gcs), 1)} ms a step`,
  );
  for (const [name, xs] of Object.entries(phases))
    console.log(
      `  ${name.padEnd(38)} ${fmt(median(xs), 1).padStart(7)} ms  ${fmt((100 * median(xs)) / total, 0).padStart(3)} %`,
    );
  await tfjsKernelTable(tf, set, model, median(phases['forward+backward']), spatial);
  model.dispose();
  obs.disconnect();
}

export async function run(args: string[]): Promise<void> {
  const videos = Number(arg(args, 'videos', '320'));
  const steps = Number(arg(args, 'steps', '20'));
  const variants = arg(args, 'variants', 'mean,dual').split(',') as Variant[];
  const engines = arg(args, 'engines', 'native,tfjs').split(',');
  const tf = await loadTf();
  const grid = Number(arg(args, 'grid', '7'));
  const channels = Number(arg(args, 'channels', '128'));
  const { set, classes } = await ekmanSizedSet(tf, videos, { grid, channels });
  console.log(
    `profile of a training step (batch 32): ${set.size} videos loaded, ${steps} steps per variant and engine`,
  );
  console.log('the machine may be shared: read the shares more than the milliseconds');
  for (const variant of variants) {
    if (engines.includes('native')) profileNative(tf, set, classes, variant, steps);
    if (engines.includes('tfjs')) await profileTfjs(tf, set, classes, variant, steps);
  }
}
