import { syntheticSet } from '../research/synthetic.js';
import { loadTf } from '../src/model/backend.js';
import { resolveModelConfig } from '../src/model/config.js';
import { initParams, paramSpecs } from '../src/model/dfan.js';
import { nativeKernels } from '../src/model/engine/native.js';
import { NativeTrainer } from '../src/model/engine/trainer.js';
import { dimsOf, fitPrep } from '../src/model/features.js';
import { loadItems } from '../src/model/train.js';
import { rng } from '../src/util/random.js';

export async function run(args: string[]) {
  const tf = await loadTf();
  const videos = Number(args[0] ?? 320);
  const syn = syntheticSet({
    videos,
    classes: 6,
    T: 16,
    H: 7,
    W: 7,
    C: 128,
    vectors: { context: 404, action: 111, face: 12 },
    cueSnippets: 2,
    cueSide: 2,
    strength: 1,
    testFraction: 0,
    noise: 'uniform',
    seed: 7,
  });
  const streams = ['object', 'context', 'action', 'face'];
  const items = syn.dataset.items;
  const sample = await Promise.all(items.slice(0, 128).map((i) => syn.source.load(i.key)));
  const prep = await fitPrep(tf, sample, streams, 0, 0);
  const set = (await loadItems(tf, syn.source, items, syn.dataset.classes, prep, true)).set;
  const nk = nativeKernels()!;
  for (const variant of ['mean', 'dual'] as const) {
    const cfg = resolveModelConfig({ variant, streams, mapDim: 0 });
    const dims = dimsOf(prep);
    const tr = new NativeTrainer(
      nk,
      cfg,
      dims,
      syn.dataset.classes,
      initParams(paramSpecs(cfg, dims, 6), 0),
      1e-3,
    );
    const random = rng(3);
    const Du = cfg.projDim * 4;
    const times: Record<string, number> = { gather: 0, step: 0 };
    const steps = 40;
    const acc = (globalThis as any).__acc as Record<string, number> | undefined;
    if (acc) for (const k of Object.keys(acc)) delete acc[k];
    const tc0 = nk.threadCpu();
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    for (let s = 0; s < steps; s++) {
      const idx = Array.from({ length: 32 }, () => Math.floor(random() * set.size));
      const t0 = performance.now();
      const b = tr.gather(set, idx, variant === 'dual' ? { p: 0.5, seed: 1 + s } : undefined);
      b.dropMask = Float32Array.from({ length: 32 * Du }, () => (random() < 0.5 ? 0 : 2));
      const t1 = performance.now();
      tr.step(
        b,
        Int32Array.from(idx, (j) => set.labels[j]),
        { weightDecay: 1e-3 },
      );
      times.gather += t1 - t0;
      times.step += performance.now() - t1;
    }
    const c = process.cpuUsage(c0);
    const tc = nk.threadCpu() - tc0;
    console.log(variant, 'thread cpu ms/step', ((tc * 1000) / steps).toFixed(2));
    if (acc)
      console.log(
        Object.fromEntries(Object.entries(acc).map(([k, v]) => [k, ((v * 1000) / steps).toFixed(2)])),
      );
    console.log(
      variant,
      'ms/step wall',
      ((performance.now() - w0) / steps).toFixed(2),
      'cpu',
      ((c.user + c.system) / 1000 / steps).toFixed(2),
      'gather',
      (times.gather / steps).toFixed(2),
      'step',
      (times.step / steps).toFixed(2),
      '→ s/epoch(52)',
      (((c.user + c.system) / 1e6 / steps) * 52).toFixed(3),
    );
  }
}
