/**
 * `npm run bench -- headers [--runs 5] [--files 100]`
 *
 * What reading metadata costs, beside the work it spares:
 *  - `probe` of a 10-minute clip (headers and the first minutes' packets) beside ffmpeg decoding
 *    the whole clip to `-f null`;
 *  - opening a feature store of N files (its index.json) and reading every file's header, beside
 *    reading every file whole.
 * Medians of the runs; each ratio from the same run (interleaved). Never fails on time.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { FeatureStore, readFeatureHeader, readFeatures } from '../src/features/store.js';
import { clearProbeCaches, findFfmpeg, probe } from '../src/video/index.js';
import { sampleFeatures } from '../test/features/helpers.js';
import { ffmpeg } from '../test/helpers/ffmpeg.js';
import { arg, fmt, median, timeIt } from './util.js';

async function probeFigures(dir: string, runs: number): Promise<string> {
  const long = join(dir, 'long.mp4');
  // 600 s at 640×360, 25 fps, of a plain colour: quick to make, 15,000 frames to decode
  ffmpeg([
    ...['-f', 'lavfi', '-i', 'color=c=gray:s=640x360:r=25:d=600'],
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '250', long],
  ]);
  const probeS: number[] = [];
  const decodeS: number[] = [];
  for (let r = 0; r < runs; r++) {
    clearProbeCaches();
    probeS.push(await timeIt(() => probe(long)));
    decodeS.push(
      await timeIt(async () => {
        spawnSync(findFfmpeg().ffmpeg, ['-v', 'error', '-i', long, '-f', 'null', '-'], { stdio: 'ignore' });
      }),
    );
  }
  const p = median(probeS);
  const d = median(decodeS);
  return `probe of a 10-min clip: ${fmt(p * 1000, 0)} ms; ffmpeg decoding it whole: ${fmt(d * 1000, 0)} ms (probe = ${fmt(p / d, 3)}× the decode)`;
}

async function storeFigures(dir: string, runs: number, files: number): Promise<string> {
  const sdir = join(dir, 'store');
  const store = await FeatureStore.open(sdir, { create: true });
  for (let i = 0; i < files; i++) {
    // the default pack's object map: 16 snippets × 16×16 cells × 120 channels (fp16, ~1 MB a file)
    const vf = sampleFeatures(`k/${i}`, 'cfg1', 16, i + 1);
    const map = new Float32Array(16 * 16 * 16 * 120).map((_, j) => Math.sin(j * (i + 1)));
    vf.streams.object = { shape: [16, 16, 16, 120], data: map };
    await store.save(vf);
  }
  await store.flush();
  const headerS: number[] = [];
  const wholeS: number[] = [];
  for (let r = 0; r < runs; r++) {
    headerS.push(
      await timeIt(async () => {
        const s = await FeatureStore.open(sdir);
        for (const k of s.keys()) await readFeatureHeader(s.pathFor(k));
      }),
    );
    wholeS.push(
      await timeIt(async () => {
        for (const k of store.keys()) await readFeatures(store.pathFor(k), { verify: true });
      }),
    );
  }
  const h = median(headerS);
  const w = median(wholeS);
  return `feature store of ${files} files: open + every header ${fmt(h * 1000, 0)} ms; every file read and verified ${fmt(w * 1000, 0)} ms (headers = ${fmt(h / w, 3)}× the whole read)`;
}

export async function run(args: string[]): Promise<void> {
  const runs = Number(arg(args, 'runs', '5'));
  const files = Number(arg(args, 'files', '100'));
  const dir = mkdtempSync(join(tmpdir(), 'dfan-bench-headers-'));
  const la0 = loadavg()[0];
  try {
    console.log(await probeFigures(dir, runs));
    console.log(await storeFigures(dir, runs, files));
    console.log(`medians of ${runs} runs; load average ${fmt(la0, 1)} → ${fmt(loadavg()[0], 1)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
