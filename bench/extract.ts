/**
 * `npm run bench -- extract [--pack default|research] [--runs 3] [--batch 4] [--quick] [--no-batch]`
 *
 * Seconds per 20-s video at T=16 (640×360 and 1280×720), frames/s per backbone, the bare
 * inference time of the same backbones measured in the same run (→ pipeline overhead ratio),
 * throughput of the batch modes (in-process, 2 videos in flight, 2 worker processes) and peak
 * RSS (workers included). CPU-seconds (this process + its finished children: ffmpeg, workers)
 * are printed beside wall time because the machine may be shared. Never fails on time.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FeaturePack } from '../src/backbones/types.js';
import { type ExtractTiming, extractAll, extractVideo, resolvePack } from '../src/features/extract.js';
import { writeFeatures } from '../src/features/store.js';
import { projectRoot } from '../src/version.js';
import { clearProbeCaches, findFfmpeg, probe } from '../src/video/index.js';
import { arg, cpuSeconds, fmt, median, peakRssMB } from './util.js';

/**
 * A 20-s test clip at a realistic web bitrate (x264, capped): uncapped temporal noise would make
 * a ~18 Mbit/s file whose decoding alone costs more than all the backbones.
 */
function makeClip(path: string, size: string, kbps: number): void {
  const { ffmpeg } = findFfmpeg();
  execFileSync(
    ffmpeg,
    [
      ...['-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=s=${size}:d=20:r=30`],
      ...['-f', 'lavfi', '-i', 'sine=frequency=440:d=20', '-vf', 'noise=alls=8:allf=t+u,format=yuv420p'],
      ...['-c:v', 'libx264', '-preset', 'veryfast', '-b:v', `${kbps}k`, '-maxrate', `${kbps}k`],
      ...['-bufsize', `${2 * kbps}k`, '-c:a', 'aac', '-shortest', path],
    ],
    { stdio: 'ignore' },
  );
}

interface BareTiming {
  backbone: string;
  framesPerVideo: number;
  msPerVideo: number;
  /** CPU ms per video (all threads of the process), when known */
  cpuMsPerVideo?: number;
  fps: number;
}

/** Bare inference of the pack's backbones on one video (no decode, no store). */
async function bareInference(packName: string, pack: FeaturePack, clip: string): Promise<BareTiming[]> {
  if (packName === 'research') {
    const t = (pack as unknown as { lastTimings?: Record<string, number> | null }).lastTimings;
    if (!t) return [];
    return [
      {
        backbone: 'mobilenetv2 int8 (object, context)',
        framesPerVideo: t.objectFrames,
        msPerVideo: t.objectMs,
        fps: 0,
      },
      {
        backbone: 'movinet-a0 stream (action)',
        framesPerVideo: t.actionFrames,
        msPerVideo: t.actionMs,
        fps: 0,
      },
      { backbone: 'yamnet (audio, windows)', framesPerVideo: t.audioWindows, msPerVideo: t.audioMs, fps: 0 },
    ].map((b) => ({ ...b, fps: b.framesPerVideo / Math.max(b.msPerVideo / 1000, 1e-9) }));
  }
  const { benchBackbones } = await import('./lib/backbones.js');
  const { decodeSize } = await import('../src/backbones/default/pack.js');
  const { decodeFrames, sampleSnippets } = await import('../src/video/index.js');
  const info = await probe(clip);
  const snippets = sampleSnippets(info.duration, 16, 8, info.fps);
  const frames = await decodeFrames(
    clip,
    snippets.map((s) => s.keyTime),
    { ...decodeSize(info), mode: 'crop' },
    info,
  );
  const timings = await benchBackbones(frames, { repeats: 3 });
  // frames each backbone sees per video in the default pack: one key frame per snippet, except
  // MoveNet (poseFrames = 2: key frame + last clip frame)
  return timings.map((t) => {
    const per = /movenet/i.test(t.backbone) ? 2 * snippets.length : snippets.length;
    return {
      backbone: t.backbone,
      framesPerVideo: per,
      msPerVideo: t.msPerFrame * per,
      cpuMsPerVideo: t.cpuMsPerFrame * per,
      fps: 1000 / t.msPerFrame,
    };
  });
}

export async function run(args: string[]): Promise<void> {
  const packName = arg(args, 'pack', 'default');
  const quick = args.includes('--quick');
  const runs = Number(arg(args, 'runs', quick ? '1' : '3'));
  const batch = Number(arg(args, 'batch', quick ? '2' : '4'));
  const tmp = mkdtempSync(join(tmpdir(), 'dfan-bench-extract-'));
  const la0 = loadavg()[0];
  try {
    const pexels = join(projectRoot(), '..', 'shared', 'media', 'WolfgangLanger_Pexels.mp4');
    const clips: Array<{ name: string; path: string; note: string }> = [];
    if (existsSync(pexels))
      clips.push({ name: '640x360', path: pexels, note: 'WolfgangLanger_Pexels.mp4 (19.7 s)' });
    else {
      makeClip(join(tmp, 'c360.mp4'), '640x360', 1000);
      clips.push({
        name: '640x360',
        path: join(tmp, 'c360.mp4'),
        note: 'lavfi testsrc2 + noise, 20 s, 1 Mbit/s',
      });
    }
    makeClip(join(tmp, 'c720.mp4'), '1280x720', 3000);
    clips.push({
      name: '1280x720',
      path: join(tmp, 'c720.mp4'),
      note: 'lavfi testsrc2 + noise + tone, 20 s, 3 Mbit/s H.264',
    });

    console.log(
      `# dfan extract benchmark — pack ${packName}, T=16 K=8, ${runs} run(s), load average ${fmt(la0, 1)}`,
    );

    // ---- batch throughput: modes of extractAll over `batch` copies of the 640x360 clip
    console.log(`\n## batch of ${batch} videos (${clips[0].name}): seconds per video by mode`);
    console.log('mode                          | wall s/video | CPU s/video | peak RSS MB (main + workers)');
    // worker modes first, so that the main process's peak RSS is that of a process without a pack
    const allModes = [
      { name: '2 workers, 1 in flight each', workers: 2, inflight: 1 },
      { name: '2 workers, 2 in flight each', workers: 2, inflight: 2 },
      { name: 'in process, 1 in flight', workers: 0, inflight: 1 },
      { name: 'in process, 2 in flight', workers: 0, inflight: 2 },
    ];
    const modes = args.includes('--no-batch') ? [] : allModes;
    for (const m of modes) {
      const src = join(tmp, `batch-${m.workers}-${m.inflight}`);
      execFileSync('mkdir', ['-p', src]);
      const items = Array.from({ length: batch }, (_, i) => {
        const p = join(src, `v${i}.mp4`);
        symlinkSync(clips[0].path, p);
        return { key: `v${i}`, path: p };
      });
      const c0 = cpuSeconds();
      const s = await extractAll(items, join(tmp, `out-${m.workers}-${m.inflight}`), {
        pack: packName,
        T: 16,
        K: 8,
        workers: m.workers,
        inflight: m.inflight,
      });
      const cpu = cpuSeconds() - c0;
      const rss = m.workers > 0 ? peakRssMB() + s.peakRssMB.workers.reduce((a, b) => a + b, 0) : peakRssMB();
      const fails = s.failed.length ? ` (${s.failed.length} failed: ${s.failed[0].error})` : '';
      console.log(
        `${m.name.padEnd(29)} | ${fmt(s.wallSeconds / batch).padStart(12)} | ${fmt(cpu / batch).padStart(11)} | ` +
          `${fmt(rss, 0)}${m.workers > 0 ? ` (${fmt(peakRssMB(), 0)} + ${s.peakRssMB.workers.map((w) => fmt(w, 0)).join(' + ')})` : ''}${fails}`,
      );
    }
    // ---- one video at a time, in this process (what `dfan predict` does), file written
    const tLoad = performance.now();
    const pack = await resolvePack(packName);
    console.log(
      `\npack ${pack.id} loaded in ${fmt((performance.now() - tLoad) / 1000)} s; streams: ${pack.streams.map((s) => s.name).join(', ')}`,
    );
    console.log('\n## seconds per video (extract + write the feature file), in process');
    console.log(
      'clip      | wall s (median) | CPU s | decode s* | pack s | bare inference s (CPU s) | overhead × wall (CPU)',
    );
    for (const clip of clips) {
      await extractVideo(clip.path, pack, { T: 16, K: 8 }); // warm-up (caches, JIT)
      const walls: number[] = [];
      const cpus: number[] = [];
      const tims: ExtractTiming[] = [];
      let bare: BareTiming[] = [];
      for (let r = 0; r < runs; r++) {
        clearProbeCaches(); // every run probes and scans the file, as a new video would
        const c0 = cpuSeconds();
        const t0 = performance.now();
        const timing = {} as ExtractTiming;
        const vf = await extractVideo(clip.path, pack, { T: 16, K: 8, timing });
        await writeFeatures(join(tmp, `f-${clip.name}.safetensors`), vf);
        walls.push((performance.now() - t0) / 1000);
        cpus.push(cpuSeconds() - c0);
        tims.push(timing);
        if (packName === 'research') bare = await bareInference(packName, pack, clip.path);
      }
      if (packName !== 'research') bare = await bareInference(packName, pack, clip.path);
      const bareS = bare.reduce((a, b) => a + b.msPerVideo, 0) / 1000;
      const bareCpu = bare.every((b) => b.cpuMsPerVideo !== undefined)
        ? bare.reduce((a, b) => a + (b.cpuMsPerVideo ?? 0), 0) / 1000
        : Number.NaN;
      const wall = median(walls);
      const cpu = median(cpus);
      console.log(
        `${clip.name.padEnd(9)} | ${fmt(wall).padStart(15)} | ${fmt(cpu).padStart(5)} | ` +
          `${fmt(median(tims.map((t) => t.decodeMs)) / 1000).padStart(9)} | ${fmt(median(tims.map((t) => t.packMs)) / 1000).padStart(6)} | ` +
          `${`${fmt(bareS)} (${Number.isFinite(bareCpu) ? fmt(bareCpu) : 'CPU n/a'})`.padStart(24)} | ` +
          `${`${fmt(wall / Math.max(bareS, 1e-9))} (${Number.isFinite(bareCpu) ? fmt(cpu / bareCpu) : 'CPU n/a'})`.padStart(21)}`,
      );
      for (const b of bare) {
        console.log(
          `          backbone ${b.backbone}: ${b.framesPerVideo} frames/video, ${fmt(b.msPerVideo / 1000)} s, ${fmt(b.fps, 1)} frames/s`,
        );
      }
      console.log(`          (${clip.note})`);
    }
    console.log(
      '* decode s: span of the decode calls; a pack that takes frames as they arrive (the default pack) runs inference meanwhile',
    );
    await pack.dispose();
    const rssInProcess = peakRssMB();
    console.log(`peak RSS in process: ${fmt(rssInProcess, 0)} MB`);

    console.log(
      `\nload average ${fmt(la0, 1)} → ${fmt(loadavg()[0], 1)} on ${(await import('node:os')).cpus().length} cores: ` +
        'wall times are inflated when other work shares the machine; CPU s is the load-independent figure.',
    );
    console.log(
      'Targets: default ≤ 4 s, research ≤ 6 s per 20-s video; overhead ≤ 1.25× bare inference; peak RSS ≤ 1.5 GB.\n' +
        'Against a Python pipeline doing the same work: `npm run bench -- peers --only extract`.',
    );
  } finally {
    rmSync(tmp, { recursive: true, force: true, maxRetries: 3 });
  }
}
