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
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodeArgs,
  decodeFrames,
  findFfmpeg,
  planDecode,
  probe,
  resizeFilter,
  sampleSnippets,
} from '../src/video/index.js';
import { fmt, median, peakRssMB } from './util.js';

function arg(args: string[], name: string, def: string): string {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : def;
}

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

/** Peak RSS (MB) of any child process of ours, polled from /proc while `fn` runs. */
async function withChildRss<T>(fn: () => Promise<T>): Promise<{ value: T; childPeakMB: number }> {
  let peak = 0;
  const poll = () => {
    try {
      for (const tid of readdirSync('/proc/self/task')) {
        const kids = readFileSync(`/proc/self/task/${tid}/children`, 'utf8').trim();
        for (const pid of kids ? kids.split(/\s+/) : []) {
          try {
            const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
            if (m) peak = Math.max(peak, Number(m[1]) / 1024);
          } catch {
            /* exited */
          }
        }
      }
    } catch {
      /* not Linux */
    }
  };
  const iv = setInterval(poll, 5);
  try {
    const value = await fn();
    return { value, childPeakMB: peak };
  } finally {
    clearInterval(iv);
  }
}

async function makeClip(): Promise<string> {
  const dir = join(tmpdir(), 'dfan-bench');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, 'clip-720p-20s-h264.mp4');
  if (existsSync(out)) return out;
  const { ffmpeg } = findFfmpeg();
  console.log(`generating ${out} (20 s, 1280×720, 30 fps, H.264) …`);
  const tmp = `${out}.part.mp4`;
  await run(ffmpeg, [
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    'testsrc2=s=1280x720:r=30:d=20,format=yuv420p',
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-g',
    '60',
    tmp,
  ]);
  renameSync(tmp, out);
  return out;
}

export async function runBench(args: string[]): Promise<void> {
  const runs = Math.max(1, Number(arg(args, '--runs', '3')));
  const threads = Number(arg(args, '--threads', '0')) || undefined;
  const clip = args.includes('--clip') ? arg(args, '--clip', '') : await makeClip();
  const { ffmpeg, source } = findFfmpeg();
  const info = await probe(clip);
  const snippets = sampleSnippets(info.duration, 16, 8, info.fps);
  const times = snippets.flatMap((s) => s.clipTimes); // 128 frames
  const opts = { width: 224, height: 224, mode: 'crop' as const, threads };
  const plan = await planDecode(clip, times, opts, info);
  if (!plan.exact) throw new Error('the benchmark clip has no packet timestamps');
  const nFrames = times.length;

  const rows: Record<string, { t: number[]; rss: number[] }> = {
    dfan: { t: [], rss: [] },
    ffmpegNull: { t: [], rss: [] },
    seekPerSnippet: { t: [], rss: [] },
  };
  const ratios: number[] = [];
  for (let r = 0; r < runs; r++) {
    // dfan: ffprobe packet scan + one ffmpeg + piping + frame assembly, all included
    let t0 = performance.now();
    const d = await withChildRss(() => decodeFrames(clip, times, opts, info));
    const tD = (performance.now() - t0) / 1000;
    if (d.value.length !== nFrames) throw new Error('wrong frame count');
    rows.dfan.t.push(tD);
    rows.dfan.rss.push(d.childPeakMB);

    // plain ffmpeg, same frames, same filter chain, to -f null
    t0 = performance.now();
    const n = await withChildRss(async () => {
      for (const g of plan.exact!.groups) {
        await run(ffmpeg, [...decodeArgs(clip, g.filter, g.pts.length, g.seek, threads), '-f', 'null', '-']);
      }
    });
    const tN = (performance.now() - t0) / 1000;
    rows.ffmpegNull.t.push(tN);
    rows.ffmpegNull.rss.push(n.childPeakMB);
    ratios.push(tD / tN);

    // the alternative design: one accurate input-seeking ffmpeg per snippet, 8 frames each
    t0 = performance.now();
    const s = await withChildRss(async () => {
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
  }

  console.log(
    `\nvideo decode: ${nFrames} frames (16 snippets × 8) at 224×224 crop from ${info.width}×${info.height} ` +
      `${fmt(info.duration, 1)} s ${info.codec} @ ${fmt(info.fps, 1)} fps; ffmpeg: ${source} (${ffmpeg}); ` +
      `${runs} runs, medians`,
  );
  const line = (name: string, t: number, fps: string, ratio: string, rss: string) =>
    console.log(
      `${name.padEnd(38)}${t.toFixed(3).padStart(9)}${fps.padStart(10)}${ratio.padStart(9)}${rss.padStart(16)}`,
    );
  console.log(
    `${'method'.padEnd(38)}${'time s'.padStart(9)}${'frames/s'.padStart(10)}${'ratio'.padStart(9)}${'ffmpeg RSS MB'.padStart(16)}`,
  );
  const tN = median(rows.ffmpegNull.t);
  for (const [name, label] of [
    ['dfan', 'dfan decodeFrames (select, pipe)'],
    ['ffmpegNull', 'plain ffmpeg, same chain, -f null'],
    ['seekPerSnippet', 'ffmpeg -ss per snippet ×16, -f null'],
  ] as const) {
    const t = median(rows[name].t);
    const ratio = name === 'dfan' ? median(ratios) : t / tN;
    line(label, t, fmt(nFrames / t, 1), `${fmt(ratio)}×`, fmt(Math.max(...rows[name].rss), 0));
  }
  console.log(`ratio dfan/ffmpeg per run: ${ratios.map((x) => fmt(x)).join(', ')} (target ≤ 1.5)`);
  console.log(
    `peak RSS: node ${fmt(peakRssMB(), 0)} MB (whole bench process), ffmpeg child ${fmt(Math.max(...rows.dfan.rss), 0)} MB (target ≤ 300 MB each)`,
  );
}

export { runBench as run };
