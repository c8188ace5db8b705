/**
 * `npm run bench -- video [--runs 3] [--clip FILE] [--threads N]`
 *
 * Frames/s for decoding 16 snippets × 8 frames at 224×224 (centre-crop) from a 20-s 720p H.264
 * clip (generated once into the temp dir), beside plain ffmpeg decoding the same frames with the
 * same filter chain to `-f null`, and beside the other obvious design (one input-seeking ffmpeg
 * per snippet). Medians of the runs, ratio from the same run, peak RSS of node and of ffmpeg.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  clearProbeCaches,
  decodeArgs,
  decodeFrames,
  findFfmpeg,
  planDecode,
  probe,
  resizeFilter,
  sampleSnippets,
} from '../src/video/index.js';
import { lavfiClip, X264_VERYFAST } from '../test/helpers/ffmpeg.js';
import { arg, fmt, median, peakRssMB } from './util.js';

function run(bin: string, args: string[]): Promise<number> {
  return new Promise((res, rej) => {
    const c = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (b) => {
      err = (err + String(b)).slice(-2000);
    });
    c.on('error', rej);
    c.on('close', (code) => (code === 0 ? res(0) : rej(new Error(`${bin} failed: ${err}`))));
  });
}

const TICK = 100; // USER_HZ on Linux

/**
 * Peak RSS (MB) and CPU seconds (user+sys) of our child processes, polled from /proc every 5 ms
 * while `fn` runs, plus this process's own CPU. The last poll before a child exits is what
 * counts, so child CPU is under-counted by at most a few ms per child.
 */
async function measured<T>(fn: () => Promise<T>): Promise<{ value: T; childPeakMB: number; cpuS: number }> {
  let peak = 0;
  const cpu = new Map<string, number>();
  const poll = () => {
    try {
      for (const tid of readdirSync('/proc/self/task')) {
        const kids = readFileSync(`/proc/self/task/${tid}/children`, 'utf8').trim();
        for (const pid of kids ? kids.split(/\s+/) : []) {
          try {
            const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
            if (m) peak = Math.max(peak, Number(m[1]) / 1024);
            const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
            const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
            cpu.set(pid, (Number(f[11]) + Number(f[12])) / TICK);
          } catch {
            /* exited */
          }
        }
      }
    } catch {
      /* not Linux */
    }
  };
  const c0 = process.cpuUsage();
  const iv = setInterval(poll, 5);
  try {
    const value = await fn();
    const own = process.cpuUsage(c0);
    const kids = [...cpu.values()].reduce((a, b) => a + b, 0);
    return { value, childPeakMB: peak, cpuS: (own.user + own.system) / 1e6 + kids };
  } finally {
    clearInterval(iv);
  }
}

function makeClip(): string {
  const dir = join(tmpdir(), 'dfan-bench');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, 'clip-720p-20s-h264.mp4');
  if (existsSync(out)) return out;
  console.log(`generating ${out} (20 s, 1280×720, 30 fps, H.264) …`);
  const tmp = `${out}.part.mp4`;
  lavfiClip(tmp, 'testsrc2=s=1280x720:r=30:d=20,format=yuv420p', [...X264_VERYFAST, '-g', '60']);
  renameSync(tmp, out);
  return out;
}

export async function runBench(args: string[]): Promise<void> {
  const runs = Math.max(1, Number(arg(args, 'runs', '3')));
  const threads = Number(arg(args, 'threads', '0')) || undefined;
  const clip = args.includes('--clip') ? arg(args, 'clip', '') : makeClip();
  const { ffmpeg, source } = findFfmpeg();
  const info = await probe(clip);
  const snippets = sampleSnippets(info.duration, 16, 8, info.fps);
  const times = snippets.flatMap((s) => s.clipTimes); // 128 frames
  const opts = { width: 224, height: 224, mode: 'crop' as const, threads };
  const plan = await planDecode(clip, times, opts, info);
  if (!plan.exact) throw new Error('the benchmark clip has no packet timestamps');
  const nFrames = times.length;

  const rows: Record<string, { t: number[]; rss: number[]; cpu: number[] }> = {
    dfan: { t: [], rss: [], cpu: [] },
    ffmpegNull: { t: [], rss: [], cpu: [] },
    seekPerSnippet: { t: [], rss: [], cpu: [] },
  };
  const ratios: number[] = [];
  const cpuRatios: number[] = [];
  for (let r = 0; r < runs; r++) {
    // dfan: ffprobe packet scan + one ffmpeg + piping + frame assembly, all included
    clearProbeCaches();
    let t0 = performance.now();
    const d = await measured(() => decodeFrames(clip, times, opts, info));
    const tD = (performance.now() - t0) / 1000;
    if (d.value.length !== nFrames) throw new Error('wrong frame count');
    rows.dfan.t.push(tD);
    rows.dfan.rss.push(d.childPeakMB);
    rows.dfan.cpu.push(d.cpuS);

    // plain ffmpeg, same frames, same filter chain, to -f null
    t0 = performance.now();
    const n = await measured(async () => {
      for (const g of plan.exact!.groups) {
        await run(ffmpeg, decodeArgs(clip, g.outs, g.seek, threads, 'null'));
      }
    });
    const tN = (performance.now() - t0) / 1000;
    rows.ffmpegNull.t.push(tN);
    rows.ffmpegNull.rss.push(n.childPeakMB);
    rows.ffmpegNull.cpu.push(n.cpuS);
    ratios.push(tD / tN);
    cpuRatios.push(d.cpuS / n.cpuS);

    // the alternative design: one accurate input-seeking ffmpeg per snippet, 8 frames each
    t0 = performance.now();
    const s = await measured(async () => {
      for (const sn of snippets) {
        await run(ffmpeg, [
          '-hide_banner',
          '-nostdin',
          '-ss',
          sn.clipTimes[0].toFixed(6),
          '-i',
          `file:${clip}`,
          '-map',
          '0:V:0',
          '-vf',
          `${resizeFilter(224, 224, 'crop')},format=rgb24`,
          '-frames:v',
          '8',
          '-f',
          'null',
          '-',
        ]);
      }
    });
    rows.seekPerSnippet.t.push((performance.now() - t0) / 1000);
    rows.seekPerSnippet.rss.push(s.childPeakMB);
    rows.seekPerSnippet.cpu.push(s.cpuS);
  }

  console.log(
    `\nvideo decode: ${nFrames} frames (16 snippets × 8) at 224×224 crop from ${info.width}×${info.height} ` +
      `${fmt(info.duration, 1)} s ${info.codec} @ ${fmt(info.fps, 1)} fps; ffmpeg: ${source} (${ffmpeg}); ` +
      `${runs} runs, medians`,
  );
  const line = (
    name: string,
    t: string,
    fps: string,
    ratio: string,
    cpu: string,
    cpuRatio: string,
    rss: string,
  ) =>
    console.log(
      `${name.padEnd(38)}${t.padStart(8)}${fps.padStart(10)}${ratio.padStart(8)}${cpu.padStart(8)}${cpuRatio.padStart(10)}${rss.padStart(9)}`,
    );
  line('method', 'wall s', 'frames/s', 'ratio', 'CPU s', 'CPU ratio', 'RSS MB');
  const tN = median(rows.ffmpegNull.t);
  const cN = median(rows.ffmpegNull.cpu);
  for (const [name, label] of [
    ['dfan', 'dfan decodeFrames (select, pipe)'],
    ['ffmpegNull', 'plain ffmpeg, same chain, -f null'],
    ['seekPerSnippet', 'ffmpeg -ss per snippet ×16, -f null'],
  ] as const) {
    const t = median(rows[name].t);
    const c = median(rows[name].cpu);
    const ratio = name === 'dfan' ? median(ratios) : t / tN;
    const cRatio = name === 'dfan' ? median(cpuRatios) : c / cN;
    line(
      label,
      fmt(t, 3),
      fmt(nFrames / t, 1),
      `${fmt(ratio)}×`,
      fmt(c, 2),
      `${fmt(cRatio)}×`,
      fmt(Math.max(...rows[name].rss), 0),
    );
  }
  console.log(`wall ratio dfan/ffmpeg per run: ${ratios.map((x) => fmt(x)).join(', ')} (target ≤ 1.5)`);
  console.log(
    `CPU ratio dfan/ffmpeg per run: ${cpuRatios.map((x) => fmt(x)).join(', ')} (dfan CPU = node + ffprobe + ffmpeg)`,
  );
  console.log(
    `load average at the end: ${loadavg()
      .map((x) => fmt(x, 1))
      .join(' ')} on ${cpus().length} cores`,
  );
  console.log(
    `peak RSS: node ${fmt(peakRssMB(), 0)} MB (whole bench process), ffmpeg child ${fmt(Math.max(...rows.dfan.rss), 0)} MB (target ≤ 300 MB each)`,
  );
}

export { runBench as run };
