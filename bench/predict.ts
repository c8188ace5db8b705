/**
 * `npm run bench -- predict [VIDEO] [--runs 3]`: latency of `dfan predict` on a 20-s clip,
 * cold (a new process each time: node start, model load, features, answer) and warm (through
 * `dfan serve` with the pack loaded and the result cache off), and server throughput with 4
 * concurrent uploads. Prints medians; never fails on time. Targets: cold ≤ 5 s, warm ≤ 3 s.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { startServer } from '../src/app/serve.js';
import { projectRoot } from '../src/version.js';
import { lavfiClip, X264_VERYFAST } from '../test/helpers/ffmpeg.js';
import { fmt, median, peakRssMB } from './util.js';

const GNU_TIME = '/usr/bin/time';

/** Wall seconds of one `dfan predict`, and CPU seconds (user+sys, ffmpeg children included) when GNU time exists. */
function runCold(cli: string, video: string): Promise<{ wall: number; cpu: number | null }> {
  const timed = existsSync(GNU_TIME);
  const [bin, args] = timed
    ? [GNU_TIME, ['-f', 'DFAN_CPU %U %S', process.execPath, cli, 'predict', video, '--json']]
    : [process.execPath, [cli, 'predict', video, '--json']];
  return new Promise((res, rej) => {
    const t0 = performance.now();
    execFile(bin, args, { maxBuffer: 64 << 20 }, (err, _out, stderr) => {
      if (err) return rej(err);
      const m = /DFAN_CPU ([\d.]+) ([\d.]+)/.exec(stderr);
      res({ wall: (performance.now() - t0) / 1000, cpu: m ? Number(m[1]) + Number(m[2]) : null });
    });
  });
}

async function uploadAndWait(base: string, video: Buffer, name: string): Promise<number> {
  const t0 = performance.now();
  const fd = new FormData();
  fd.append('video', new Blob([new Uint8Array(video)], { type: 'video/mp4' }), name);
  const r = await fetch(`${base}/api/jobs`, { method: 'POST', body: fd });
  const job = (await r.json()) as { id: string; status: string; error?: string; message?: string };
  if (r.status >= 400) throw new Error(`upload: ${r.status} ${job.message}`);
  let j = job;
  while (j.status !== 'done' && j.status !== 'error') {
    await new Promise((res) => setTimeout(res, 25));
    j = (await (await fetch(`${base}/api/jobs/${job.id}`)).json()) as typeof job;
  }
  if (j.status === 'error') throw new Error(`job failed: ${j.error}`);
  return (performance.now() - t0) / 1000;
}

export async function run(args: string[]): Promise<void> {
  const runsAt = args.indexOf('--runs');
  const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 3;
  const positional = args.filter((a, i) => !a.startsWith('--') && (runsAt < 0 || i !== runsAt + 1));
  const tmp = await mkdtemp(join(tmpdir(), 'dfan-bench-predict-'));
  try {
    let video = positional[0]
      ? resolve(positional[0])
      : resolve(projectRoot(), '..', 'shared', 'media', 'WolfgangLanger_Pexels.mp4');
    if (!existsSync(video)) {
      video = join(tmp, 'generated-20s.mp4');
      lavfiClip(video, 'testsrc2=s=640x360:d=20:r=25', [...X264_VERYFAST, '-pix_fmt', 'yuv420p']);
    }
    const cli = join(projectRoot(), 'dist', 'src', 'cli.js');
    console.log(
      `dfan predict benchmark — ${basename(video)}, ${cpus().length} cores, load average ${loadavg()[0].toFixed(1)}`,
    );
    console.log('model: built-in zero-shot face-expression model (face stream only), T=16');

    // cold: one new process per run
    const cold: number[] = [];
    const coldCpu: number[] = [];
    for (let i = 0; i < runs; i++) {
      const r = await runCold(cli, video);
      cold.push(r.wall);
      if (r.cpu !== null) coldCpu.push(r.cpu);
    }
    console.log(
      `cold  (new process)       median ${fmt(median(cold))} s   runs ${cold.map((x) => fmt(x)).join(', ')}   target ≤ 5 s` +
        (coldCpu.length ? `   (CPU user+sys median ${fmt(median(coldCpu))} s)` : ''),
    );

    const bytes = await readFile(video);
    // warm, in-process (--workers 0): the server's CPU is the whole job's CPU (ffmpeg aside)
    {
      const server = await startServer({
        host: '127.0.0.1',
        port: 0,
        model: 'default',
        cache: false,
        workers: 0,
      });
      try {
        const warm: number[] = [];
        const warmCpu: number[] = [];
        for (let i = 0; i < runs; i++) {
          const u0 = process.cpuUsage();
          warm.push(await uploadAndWait(server.url, bytes, `warm${i}.mp4`));
          const u = process.cpuUsage(u0);
          warmCpu.push((u.user + u.system) / 1e6);
        }
        console.log(
          `warm  (server, --workers 0, no cache)  median ${fmt(median(warm))} s   runs ${warm.map((x) => fmt(x)).join(', ')}   target ≤ 3 s` +
            `   (server CPU median ${fmt(median(warmCpu))} s, ffmpeg not counted)`,
        );
      } finally {
        await server.close();
      }
    }

    // warm through the default server (one warm worker process per job slot), and throughput
    const t0 = performance.now();
    const server = await startServer({
      host: '127.0.0.1',
      port: 0,
      model: 'default',
      cache: false,
      maxQueued: 8,
    });
    const loadS = (performance.now() - t0) / 1000;
    try {
      const warm: number[] = [];
      for (let i = 0; i < runs; i++) warm.push(await uploadAndWait(server.url, bytes, `warm${i}.mp4`));
      console.log(
        `warm  (server, workers, no cache)      median ${fmt(median(warm))} s   runs ${warm.map((x) => fmt(x)).join(', ')}   target ≤ 3 s` +
          `   (start-up incl. model load + warm-up of ${cpus().length} workers ${fmt(loadS)} s)`,
      );
      const c0 = performance.now();
      const each = await Promise.all(
        [0, 1, 2, 3].map((i) => uploadAndWait(server.url, bytes, `concurrent${i}.mp4`)),
      );
      const wall = (performance.now() - c0) / 1000;
      console.log(
        `4 concurrent uploads      wall ${fmt(wall)} s → ${fmt((4 / wall) * 60, 1)} videos/min; per job ${each.map((x) => fmt(x)).join(', ')} s (${cpus().length} workers)`,
      );
      const cached = await startServer({
        host: '127.0.0.1',
        port: 0,
        model: 'default',
        cache: true,
        warm: false,
        workers: 0,
      });
      try {
        await uploadAndWait(cached.url, bytes, 'first.mp4');
        const hit = await uploadAndWait(cached.url, bytes, 'again.mp4');
        console.log(
          `cached re-upload          ${fmt(hit)} s (same content → cached result; mostly upload + hashing)`,
        );
      } finally {
        await cached.close();
      }
    } finally {
      await server.close();
    }
    console.log(`peak RSS of the bench process (in-process server): ${fmt(peakRssMB(), 0)} MB`);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
