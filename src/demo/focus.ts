/**
 * The focus dataset of `dfan demo`: short videos whose class is carried ONLY by a brief cue
 * (≤ 2 of 16 snippets) in a small region (1/16 of the frame) over a moving, cluttered background.
 *
 * Each video: a Game-of-Life lavfi background (random seed and muted colours) with two grey
 * distractor shapes drifting across it (the same kinds in every class), and the class cue — a
 * shape distinct in colour AND form — overlaid at a random position during a random interval of
 * two snippets (`overlay=enable='between(t,a,b)'`). Everything is generated with ffmpeg lavfi
 * sources and PNGs drawn by shapes.ts; nothing is copied from elsewhere. Ground truth (interval,
 * box) goes to truth.json for the temporal hit rate and the spatial pointing accuracy.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rng } from '../data/splits.js';
import { DfanError } from '../errors.js';
import { findFfmpeg, runCollect } from '../video/ffmpeg.js';
import { type ShapeName, shapePng } from './shapes.js';

export interface CueClass {
  name: string;
  shape: ShapeName;
  rgb: [number, number, number];
}

/** Class cues: each differs from the others in colour and in shape. */
export const CUE_CLASSES: CueClass[] = [
  { name: 'red-disc', shape: 'disc', rgb: [235, 30, 35] },
  { name: 'green-triangle', shape: 'triangle', rgb: [40, 210, 60] },
  { name: 'yellow-star', shape: 'star', rgb: [250, 215, 20] },
  { name: 'blue-square', shape: 'square', rgb: [35, 70, 245] },
  { name: 'magenta-ring', shape: 'ring', rgb: [230, 40, 220] },
  { name: 'cyan-cross', shape: 'cross', rgb: [20, 225, 230] },
];

export interface FocusSpec {
  classes: number;
  perClass: number;
  /** seconds */
  duration: number;
  /** square frame side (pixels); the cue side is size/4 → 1/16 of the frame */
  size: number;
  fps: number;
  /** snippets the features will use (the cue spans 2 of them) */
  T: number;
  testFraction: number;
  seed: number;
}

export const DEFAULT_FOCUS: FocusSpec = {
  classes: 4,
  perClass: 30,
  duration: 8,
  size: 256,
  fps: 10,
  T: 16,
  testFraction: 0.4,
  seed: 0,
};

export interface FocusVideo {
  key: string;
  label: string;
  split: 'train' | 'test';
  /** path relative to the dataset folder */
  file: string;
  /** cue interval (s) and box (pixels of the frame) */
  cue: { start: number; end: number; x: number; y: number; w: number; h: number };
  frame: { width: number; height: number };
}

export interface FocusDataset {
  dir: string;
  manifest: string;
  classes: string[];
  videos: FocusVideo[];
  spec: FocusSpec;
}

const DISTRACTORS: ShapeName[] = ['square', 'disc', 'cross', 'triangle', 'ring', 'star'];

function hex(rgb: number[]): string {
  return `0x${rgb
    .map((v) =>
      Math.max(0, Math.min(255, Math.round(v)))
        .toString(16)
        .padStart(2, '0'),
    )
    .join('')}`;
}

/** Plan every video (deterministic for a seed): label, split, cue interval and box, background. */
export function planFocusDataset(
  spec: FocusSpec,
): Array<FocusVideo & { seed: number; bg: string[]; moves: number[] }> {
  if (spec.classes < 2 || spec.classes > CUE_CLASSES.length) {
    throw new DfanError(
      'BAD_ARGUMENT',
      `the demo supports 2–${CUE_CLASSES.length} classes (got ${spec.classes})`,
    );
  }
  const random = rng(spec.seed + 101);
  const L = spec.duration / spec.T;
  const cue = spec.size / 4;
  const out: Array<FocusVideo & { seed: number; bg: string[]; moves: number[] }> = [];
  for (let i = 0; i < spec.perClass; i++) {
    for (let c = 0; c < spec.classes; c++) {
      const cls = CUE_CLASSES[c];
      const n = i * spec.classes + c;
      // the cue covers snippets k and k+1 (their key frames and clip frames), slightly inside
      const k = 1 + Math.floor(random() * (spec.T - 3));
      const start = k * L + 0.04 * L;
      const end = (k + 2) * L - 0.04 * L;
      // keep the cue inside the 7/8 centre crop the 2-D backbones see
      const margin = spec.size / 16;
      const x = Math.round(margin + random() * (spec.size - 2 * margin - cue));
      const y = Math.round(margin + random() * (spec.size - 2 * margin - cue));
      const base = 40 + random() * 60;
      const bg = [
        hex([base + random() * 40, base + random() * 40, base + random() * 40]),
        hex([base * 0.4, base * 0.4, base * 0.5]),
        hex([120 + random() * 100, 120 + random() * 100, 120 + random() * 100]),
      ];
      const moves = Array.from({ length: 8 }, () => random());
      const file = `videos/${cls.name}/v${String(n).padStart(4, '0')}.mp4`;
      out.push({
        key: file, // the manifest key (the video column as written)
        label: cls.name,
        split: i < Math.round(spec.perClass * (1 - spec.testFraction)) ? 'train' : 'test',
        file,
        cue: { start, end, x, y, w: cue, h: cue },
        frame: { width: spec.size, height: spec.size },
        seed: Math.floor(random() * 1e9),
        bg,
        moves,
      });
    }
  }
  return out;
}

/**
 * Write the videos (skipping ones already there), the manifest (video,label,split) and truth.json.
 * `onProgress(done, total)` after each video.
 */
export async function buildFocusDataset(
  dir: string,
  spec: FocusSpec,
  onProgress?: (done: number, total: number) => void,
): Promise<FocusDataset> {
  const { ffmpeg } = findFfmpeg();
  const plan = planFocusDataset(spec);
  const classes = CUE_CLASSES.slice(0, spec.classes).map((c) => c.name);
  const assets = join(dir, 'assets');
  mkdirSync(assets, { recursive: true });
  const cue = spec.size / 4;
  for (const c of CUE_CLASSES.slice(0, spec.classes)) {
    const p = join(assets, `${c.name}.png`);
    if (!existsSync(p)) writeFileSync(p, shapePng(c.shape, c.rgb, cue));
  }
  const dsz = Math.round(spec.size * 0.17);
  DISTRACTORS.forEach((s, i) => {
    const p = join(assets, `distractor-${s}.png`);
    const g = 150 + i * 15;
    if (!existsSync(p)) writeFileSync(p, shapePng(s, [g, g, g], dsz));
  });
  let done = 0;
  for (const v of plan) {
    const out = join(dir, v.file);
    if (!existsSync(out)) {
      mkdirSync(join(out, '..'), { recursive: true });
      const m = v.moves;
      const d1 = DISTRACTORS[Math.floor(m[0] * DISTRACTORS.length)];
      const d2 = DISTRACTORS[Math.floor(m[1] * DISTRACTORS.length)];
      const span = spec.size - dsz;
      // distractors drift on slow sinusoids across the whole frame
      const path = (a: number, b: number) =>
        `'${(span / 2).toFixed(0)}+${(span / 2).toFixed(0)}*sin(${(0.4 + a).toFixed(3)}*t+${(6.28 * b).toFixed(3)})'`;
      const filter = [
        `[0:v]format=rgb24[bg]`,
        `[bg][1:v]overlay=x=${path(m[2], m[3])}:y=${path(m[4] * 0.7, m[5])}[b1]`,
        `[b1][2:v]overlay=x=${path(m[6] * 0.8, m[7])}:y=${path(m[3] * 0.9, m[2])}[b2]`,
        `[b2][3:v]overlay=x=${v.cue.x}:y=${v.cue.y}:enable='between(t,${v.cue.start.toFixed(3)},${v.cue.end.toFixed(3)})',format=yuv420p[out]`,
      ].join(';');
      const args = [
        '-hide_banner',
        '-loglevel',
        'error',
        '-y',
        '-f',
        'lavfi',
        '-i',
        `life=s=${spec.size}x${spec.size}:mold=10:r=${spec.fps}:ratio=${(0.2 + m[0] * 0.3).toFixed(2)}:seed=${v.seed % 2147483647}:life_color=${v.bg[2]}:death_color=${v.bg[1]}:mold_color=${v.bg[0]}`,
        '-loop',
        '1',
        '-framerate',
        String(spec.fps),
        '-i',
        join(assets, `distractor-${d1}.png`),
        '-loop',
        '1',
        '-framerate',
        String(spec.fps),
        '-i',
        join(assets, `distractor-${d2}.png`),
        '-loop',
        '1',
        '-framerate',
        String(spec.fps),
        '-i',
        join(assets, `${v.label}.png`),
        '-filter_complex',
        filter,
        '-map',
        '[out]',
        '-t',
        String(spec.duration),
        '-r',
        String(spec.fps),
        '-c:v',
        'libx264',
        '-preset',
        'ultrafast',
        '-crf',
        '26',
        '-pix_fmt',
        'yuv420p',
        `${out}.tmp.mp4`,
      ];
      const r = await runCollect(ffmpeg, args, 120_000);
      if (r.code !== 0) {
        throw new DfanError(
          'FFMPEG_FAILED',
          `could not generate a demo video: ${r.stderr.trim().split('\n').pop()}`,
          {
            file: out,
          },
        );
      }
      const { renameSync } = await import('node:fs');
      renameSync(`${out}.tmp.mp4`, out);
    }
    done++;
    onProgress?.(done, plan.length);
  }
  const manifest = join(dir, 'manifest.csv');
  writeFileSync(
    manifest,
    `video,label,split\n${plan.map((v) => `${v.file},${v.label},${v.split}`).join('\n')}\n`,
  );
  const videos: FocusVideo[] = plan.map(({ seed: _s, bg: _b, moves: _m, ...v }) => v);
  writeFileSync(join(dir, 'truth.json'), `${JSON.stringify({ spec, classes, videos }, null, 2)}\n`);
  return { dir, manifest, classes, videos, spec };
}

export function readFocusTruth(dir: string): { spec: FocusSpec; classes: string[]; videos: FocusVideo[] } {
  return JSON.parse(readFileSync(join(dir, 'truth.json'), 'utf8'));
}
