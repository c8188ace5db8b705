/**
 * `npm run bench -- queue [--pack default|FILE] [--videos 8] [--runs 1] [--workers 1,2,4]
 *                         [--concurrency 2] [--overhead-jobs 60] [--queue redis://…]`
 *
 * Videos/min of `dfan extract --queue` with 1, 2 and 4 `dfan worker` processes (each keeping
 * --concurrency videos in flight) against the in-process run (2 in flight) on the same clips,
 * and the per-job queue overhead in ms (a no-op pack: the queue run's wall time per job minus the
 * time spent inside the worker's processor). Every run is cold (fresh pack, fresh workers), the
 * modes are interleaved run by run, and pack loading is outside the timed span in every mode. Starts its own
 * redis-server on a free loopback port unless --queue is given. Prints medians and ratios;
 * never fails on time. On a 2-core machine more workers cannot be faster: the ratio shows the cost.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { extractAll } from '../src/features/extract.js';
import { resolveInput } from '../src/features/inputs.js';
import { EXTRACT_QUEUE, QUEUE_PREFIX } from '../src/queue/connection.js';
import { extractViaQueue } from '../src/queue/enqueue.js';
import { projectRoot } from '../src/version.js';
import { clearProbeCaches } from '../src/video/index.js';
import { lavfiClip, X264_VERYFAST } from '../test/helpers/ffmpeg.js';
import { TestRedis } from '../test/queue/redis.js';
import { arg, fmt, median } from './util.js';

const CLI = join(projectRoot(), 'dist', 'src', 'cli.js');

const NOOP_PACK = `
export function createPack() {
  return {
    id: 'noop@bench',
    streams: [{ name: 'action', kind: 'vector', backbone: 'none', description: 'zeros (queue-overhead bench)' }],
    async extract({ snippets }) {
      return { streams: { action: { shape: [snippets.length, 4], data: new Float32Array(snippets.length * 4) } }, warnings: [] };
    },
    async dispose() {},
  };
}
`;

function lavfi(path: string, source: string, extra: string[] = []): void {
  lavfiClip(path, source, [...extra, ...X264_VERYFAST]);
}

async function startWorkers(
  n: number,
  url: string,
  pack: string,
  concurrency: number,
): Promise<ChildProcess[]> {
  const ws = Array.from({ length: n }, () =>
    spawn(
      process.execPath,
      [
        CLI,
        'worker',
        '--queue',
        url,
        '--pack',
        pack,
        '--only',
        'extract',
        '--concurrency',
        String(concurrency),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    ),
  );
  await Promise.all(
    ws.map(
      (w) =>
        new Promise<void>((resolve, reject) => {
          let out = '';
          const timer = setTimeout(() => reject(new Error(`worker did not start: ${out}`)), 180_000);
          w.stderr?.on('data', (d: Buffer) => {
            out += d.toString();
            if (/taking extract jobs/.test(out)) {
              clearTimeout(timer);
              resolve();
            }
          });
          w.once('exit', (c) => reject(new Error(`worker exited (${c}): ${out}`)));
        }),
    ),
  );
  for (const w of ws) w.removeAllListeners('exit');
  return ws;
}

async function stopWorkers(ws: ChildProcess[]): Promise<void> {
  await Promise.all(
    ws.map(
      (w) =>
        new Promise<void>((resolve) => {
          if (w.exitCode !== null) return resolve();
          const timer = setTimeout(() => w.kill('SIGKILL'), 20_000);
          w.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          w.kill('SIGTERM');
        }),
    ),
  );
}

/** Seconds from "pack loaded" to the end of a local run (2 in flight, as `dfan extract` does). */
async function localRun(
  input: string,
  out: string,
  pack: string,
  inflight: number,
  T: number,
): Promise<number> {
  clearProbeCaches();
  let t0 = 0;
  const s = await extractAll(resolveInput(input).items, out, {
    pack,
    T,
    inflight,
    onReady: () => {
      t0 = performance.now();
    },
  });
  if (s.failed.length) throw new Error(`local run failed: ${s.failed[0].error}`);
  return (performance.now() - t0) / 1000;
}

async function queueRun(input: string, out: string, pack: string, url: string, T: number): Promise<number> {
  const t0 = performance.now();
  const s = await extractViaQueue(resolveInput(input).items, out, { url, pack, T, reconcileMs: 1000 });
  if (s.failed.length) throw new Error(`queue run failed: ${s.failed[0].error}`);
  return (performance.now() - t0) / 1000;
}

export async function run(args: string[]): Promise<void> {
  const pack = arg(args, 'pack', 'default');
  const nVideos = Number(arg(args, 'videos', '8'));
  const runs = Number(arg(args, 'runs', '1'));
  const counts = arg(args, 'workers', '1,2,4').split(',').map(Number);
  const concurrency = Number(arg(args, 'concurrency', '2'));
  const overheadJobs = Number(arg(args, 'overhead-jobs', '60'));
  const T = Number(arg(args, 'T', '16'));
  const tmp = mkdtempSync(join(tmpdir(), 'dfan-bench-queue-'));
  const given = arg(args, 'queue', '');
  const redis = given ? null : await TestRedis.start();
  const url = given || (redis as TestRedis).url;
  const la = [loadavg()[0]];
  try {
    // ---- the clips: the real ones in ../shared/media (cycled), else generated 640×360 ones
    const media = join(projectRoot(), '..', 'shared', 'media');
    const real = existsSync(media)
      ? readdirSync(media)
          .filter((f) => f.endsWith('.mp4'))
          .sort()
      : [];
    const clips = join(tmp, 'clips');
    mkdirSync(clips);
    if (real.length === 0)
      lavfi(join(tmp, 'gen.mp4'), 'testsrc2=s=640x360:d=20:r=30', [
        '-vf',
        'noise=alls=8:allf=t+u',
        '-b:v',
        '1000k',
      ]);
    for (let i = 0; i < nVideos; i++) {
      const src = real.length ? join(media, real[i % real.length]) : join(tmp, 'gen.mp4');
      symlinkSync(src, join(clips, `v${String(i).padStart(3, '0')}.mp4`));
    }
    console.log(
      `# dfan queue benchmark — pack ${pack}, T=${T}, ${nVideos} videos (${real.length ? `../shared/media: ${real.join(', ')}` : 'generated 640×360, 20 s'}), ` +
        `${runs} run(s), worker concurrency ${concurrency}, ${cpus().length} cores, load average ${fmt(la[0], 1)}`,
    );

    // ---- throughput: the modes interleaved run by run (load from others drifts), every run cold
    // (a fresh pack in process, fresh worker processes), pack loading outside the timed span
    const times = new Map<string, number[]>();
    const push = (mode: string, s: number) => times.set(mode, [...(times.get(mode) ?? []), s]);
    const modes = [
      'in process (2 in flight)',
      ...counts.map((n) => `queue, ${n} worker process${n > 1 ? 'es' : ''} × ${concurrency}`),
    ];
    for (let r = 0; r < runs; r++) {
      push(modes[0], await localRun(clips, join(tmp, `local${r}`), pack, 2, T));
      la.push(loadavg()[0]);
      for (const [i, n] of counts.entries()) {
        const ws = await startWorkers(n, url, pack, concurrency);
        try {
          push(modes[i + 1], await queueRun(clips, join(tmp, `q${n}-${r}`), pack, url, T));
        } finally {
          await stopWorkers(ws);
        }
        la.push(loadavg()[0]);
      }
    }
    const rows = modes.map((mode) => ({ mode, s: median(times.get(mode) ?? [Number.NaN]) }));
    const base = rows[0].s;
    console.log('\n| mode | wall s | videos/min | vs in process |\n|---|---:|---:|---:|');
    for (const r of rows)
      console.log(`| ${r.mode} | ${fmt(r.s)} | ${fmt((nVideos / r.s) * 60, 1)} | ${fmt(base / r.s)}× |`);

    // ---- per-job overhead: a no-op pack (probe + hash + write only), one job at a time
    const noop = join(tmp, 'noop-pack.mjs');
    writeFileSync(noop, NOOP_PACK);
    const tiny = join(tmp, 'tiny');
    mkdirSync(tiny);
    lavfi(join(tmp, 'tiny.mp4'), 'testsrc2=s=64x48:d=1:r=10');
    for (let i = 0; i < overheadJobs; i++)
      symlinkSync(join(tmp, 'tiny.mp4'), join(tiny, `t${String(i).padStart(4, '0')}.mp4`));
    const lo: number[] = [];
    const qo: number[] = [];
    const inside: number[] = [];
    const ws = await startWorkers(1, url, noop, 1);
    const q = new Queue(EXTRACT_QUEUE, { connection: { url }, prefix: QUEUE_PREFIX });
    try {
      for (let r = 0; r < Math.max(3, runs); r++) {
        lo.push(await localRun(tiny, join(tmp, `ol${r}`), noop, 1, 4));
        const out = join(tmp, `oq${r}`);
        qo.push(await queueRun(tiny, out, noop, url, 4));
        // time spent inside the worker's processor (probe, hash, no-op pack, atomic write)
        const jobs = (await q.getJobs(['completed'], 0, -1)).filter((j) => j.data.store === out);
        inside.push(jobs.reduce((a, j) => a + ((j.finishedOn ?? 0) - (j.processedOn ?? 0)), 0) / jobs.length);
      }
    } finally {
      await q.close();
      await stopWorkers(ws);
    }
    la.push(loadavg()[0]);
    const perLocal = (median(lo) / overheadJobs) * 1000;
    const perQueue = (median(qo) / overheadJobs) * 1000;
    const perInside = median(inside);
    console.log(
      `\nper-job queue overhead (no-op pack: probe + hash + atomic write; ${overheadJobs} jobs one at a time, ` +
        `1 worker × 1, median of ${lo.length} runs):\n` +
        `  queue run ${fmt(perQueue, 1)} ms/job wall, of which ${fmt(perInside, 1)} ms inside the worker's processor → ` +
        `**${fmt(perQueue - perInside, 1)} ms/job of queue overhead** (enqueue, state checks, hand-over between jobs, events)\n` +
        `  local run (in process, 1 in flight) ${fmt(perLocal, 1)} ms/job for the same jobs`,
    );
    console.log(`load average during the run: ${la.map((x) => fmt(x, 1)).join(' → ')}`);
  } finally {
    await redis?.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}
