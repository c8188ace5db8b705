/**
 * `npm run bench -- protocol [--videos 1101] [--splits 10] [--channels 256] [--map-dim auto|0|N]
 *                            [--epochs 30] [--variant dual] [--ensemble 1] [--no-test-selected] [--verbose]`
 *
 * The VE-8 protocol (10 random stratified 2:1 splits, train + test per split, mean ± std) on
 * PRECOMPUTED synthetic features for a VE-8-sized set (1,101 videos, 8 classes), shaped like
 * the default pack's streams: object map [16,7,7,C] (C = --channels; the default pack's is 1280,
 * reduced by the model's PCA when it would not fit), context [16,404], action [16,111],
 * face [16,12]. Features are generated once, held in memory (generation time printed apart),
 * and read by the protocol runner through the same FeatureSource interface as a feature store.
 * As `dfan protocol`, the test split is scored after every epoch for the test-selected column
 * unless --no-test-selected. Prints wall time, per-split times and peak RSS. Target: ≤ 15 min.
 * Never fails on time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { syntheticSet } from '../research/synthetic.js';
import type { SplitSource } from '../src/data/open.js';
import { randomSplit } from '../src/data/splits.js';
import type { VideoFeatures } from '../src/features/types.js';
import type { Variant } from '../src/model/config.js';
import type { FeatureSource } from '../src/model/features.js';
import { runProtocol } from '../src/protocol/run.js';
import { arg, fmt, median, peakRssMB } from './util.js';

export async function run(args: string[]): Promise<void> {
  const videos = Number(arg(args, 'videos', '1101'));
  const nSplits = Number(arg(args, 'splits', '10'));
  const C = Number(arg(args, 'channels', '256'));
  const epochs = Number(arg(args, 'epochs', '30'));
  const variant = arg(args, 'variant', 'dual') as Variant;
  // auto: the model reduces a map (PCA) only when the set would not fit in memory; at 256
  // channels it does not (the default pack's 1280-channel map is reduced to 128)
  const mapDimArg = arg(args, 'map-dim', 'auto');
  const mapDim = mapDimArg === 'auto' ? -1 : Number(mapDimArg);
  const verbose = args.includes('--verbose');
  console.log(
    `protocol bench: ${videos} videos, 8 classes, ${nSplits} splits, object [16,7,7,${C}] + context 404 + action 111 + face 12, ${variant}, ≤ ${epochs} epochs`,
  );
  console.log(
    `machine: ${cpus().length} cores, load ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );

  // 1. precompute the features once (not part of the protocol time)
  const tg = performance.now();
  const syn = syntheticSet({
    videos,
    classes: 8,
    T: 16,
    H: 7,
    W: 7,
    C,
    vectors: { context: 404, action: 111, face: 12 },
    cueSnippets: 2,
    cueSide: 2,
    strength: 1.2,
    shortT: 6,
    seed: 11,
  });
  const cache = new Map<string, VideoFeatures>();
  for (const it of syn.dataset.items) cache.set(it.key, await syn.source.load(it.key));
  const genSeconds = (performance.now() - tg) / 1000;
  console.log(
    `features generated in ${fmt(genSeconds, 1)} s (held in memory; peak RSS ${fmt(peakRssMB(), 0)} MB)`,
  );
  const source: FeatureSource = {
    async load(key, streams) {
      const vf = cache.get(key);
      if (!vf) throw new Error(`no features for ${key}`);
      if (!streams) return vf;
      return {
        ...vf,
        streams: Object.fromEntries(Object.entries(vf.streams).filter(([s]) => streams.includes(s))),
      };
    },
  };
  const base = { ...syn.dataset, name: 'synthetic VE-8-sized' };
  const split: SplitSource = {
    name: base.name,
    kind: 'lists',
    classes: base.classes,
    splits: Array.from({ length: nSplits }, (_, k) => k + 1),
    randomSplits: true,
    source: 'synthetic',
    load: (n) => randomSplit(base, n, 0),
  };

  // 2. the protocol
  const out = mkdtempSync(join(tmpdir(), 'dfan-bench-protocol-'));
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const splitCpu: number[] = [];
  const splitCpuTotal = () => splitCpu.reduce((a, b) => a + b, 0);
  const res = await runProtocol({
    target: 'synthetic',
    source: split,
    featureSource: source,
    out,
    variant,
    // one model per split unless --ensemble k: from this in-memory source an ensemble's members
    // would train one after another (from a feature folder, dfan protocol trains them side by side)
    train: { epochs, seed: 0, ensemble: Number(arg(args, 'ensemble', '1')) },
    model: { mapDim },
    testSelected: !args.includes('--no-test-selected'),
    verbose,
    log: (l) => {
      console.log(`  ${l}`);
      if (/: test accuracy /.test(l)) {
        const c = process.cpuUsage(cpu0);
        splitCpu.push((c.user + c.system) / 1e6 - (splitCpu.length ? splitCpuTotal() : 0));
        console.log(
          `    (CPU ${fmt(splitCpu[splitCpu.length - 1], 1)} s for this split; load ${loadavg()[0].toFixed(1)})`,
        );
      }
    },
  });
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const per = res.computed.map((c) => c.seconds);
  const v = res.report.variants[variant];
  console.log('');
  console.log(`per-split seconds: ${per.map((s) => fmt(s, 1)).join(', ')}`);
  console.log(`per-split CPU seconds: ${splitCpu.map((s) => fmt(s, 1)).join(', ')}`);
  console.log(`median split: ${fmt(median(per), 1)} s wall, ${fmt(median(splitCpu), 1)} s CPU`);
  console.log(
    `accuracy (synthetic, meaningless beyond "it learns"): ${fmt(100 * v.mean, 1)} % ± ${fmt(100 * v.std, 1)}`,
  );
  console.log(
    `protocol wall time: ${fmt(wall, 1)} s = ${fmt(wall / 60, 2)} min (target ≤ 15 min), CPU ${fmt(cpuSeconds, 1)} s; peak RSS ${fmt(peakRssMB(), 0)} MB`,
  );
  rmSync(out, { recursive: true, force: true });
}
