/**
 * Bare-inference timing of the default pack's backbones on given frames (no decode, no store):
 * bench/extract.ts divides the pipeline time by these to report overhead as a ratio.
 */
import type { Frame } from '../../src/video/types.js';
import { median } from '../util.js';

export interface BackboneTiming {
  /** e.g. "mobilenet_v2 (onnx)" */
  backbone: string;
  /** streams it feeds */
  streams: string[];
  /** median wall-clock milliseconds per frame */
  msPerFrame: number;
  /** median CPU milliseconds per frame (all threads of this process) */
  cpuMsPerFrame: number;
  frames: number;
}

export interface BenchOptions {
  repeats?: number;
  engine?: 'auto' | 'onnx' | 'tfjs';
  threads?: number;
  batchSize?: number;
}

/** Median wall and CPU milliseconds per item of `fn` over `repeats` runs, after one warm-up run. */
export async function timePerItem(
  items: number,
  repeats: number,
  fn: () => Promise<unknown> | unknown,
): Promise<{ ms: number; cpu: number }> {
  await fn(); // warm-up
  const ms: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await fn();
    ms.push((performance.now() - t0) / items);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000 / items);
  }
  return { ms: median(ms), cpu: median(cpu) };
}

/**
 * Time each default-pack backbone on `frames` (e.g. 16 key frames at the pack's decode size).
 * Models are loaded (and the ONNX conversion cached) before timing starts.
 */
export async function benchBackbones(frames: Frame[], opts: BenchOptions = {}): Promise<BackboneTiming[]> {
  const repeats = opts.repeats ?? 3;
  const n = frames.length;
  const { loadMobilenet, MID_LAYER } = await import('../../src/backbones/default/mobilenet.js');
  const { loadCenternet } = await import('../../src/backbones/default/centernet.js');
  const { loadFaceRunner } = await import('../../src/backbones/default/faces.js');
  const { loadPoseRunner } = await import('../../src/backbones/default/movenet.js');
  const { colourStats, motionStats } = await import('../../src/backbones/default/stats.js');
  const out: BackboneTiming[] = [];
  const runnerOpts = { engine: opts.engine ?? 'auto', threads: opts.threads, batchSize: opts.batchSize };
  const engineName = (e: string) => (e === 'tfjs' ? 'tfjs-wasm' : e);
  const runners: Array<{
    name: string;
    streams: string[];
    load: () => Promise<{ engine: string; run(f: Frame[]): Promise<unknown>; dispose(): Promise<void> }>;
  }> = [
    {
      name: 'centernet backbone (512²)',
      streams: ['object'],
      load: () => loadCenternet(runnerOpts),
    },
    {
      name: 'mobilenet_v2 to block 10',
      streams: ['context'],
      load: () => loadMobilenet({ ...runnerOpts, mapLayer: MID_LAYER }),
    },
    { name: 'blazeface+mesh+emotion', streams: ['face'], load: () => loadFaceRunner(runnerOpts) },
    { name: 'movenet-lightning', streams: ['action'], load: () => loadPoseRunner(runnerOpts) },
  ];
  // one model loaded at a time: load, time, dispose
  for (const r of runners) {
    const runner = await r.load();
    try {
      const t = await timePerItem(n, repeats, () => runner.run(frames));
      out.push({
        backbone: `${r.name} (${engineName(runner.engine)})`,
        streams: r.streams,
        msPerFrame: t.ms,
        cpuMsPerFrame: t.cpu,
        frames: n,
      });
    } finally {
      await runner.dispose();
    }
  }
  const stats = await timePerItem(n, repeats, async () => {
    for (const f of frames) colourStats(f);
    motionStats(frames);
  });
  out.push({
    backbone: 'colour+motion statistics (JS)',
    streams: ['context', 'action'],
    msPerFrame: stats.ms,
    cpuMsPerFrame: stats.cpu,
    frames: n,
  });
  return out;
}
