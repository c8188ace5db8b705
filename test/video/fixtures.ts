/**
 * Videos generated at test time with ffmpeg's lavfi sources, where the expected pixels are known.
 * Each goes into the folder it is given (tests use test/helpers/temp.ts).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ffmpeg, lavfiClip } from '../helpers/ffmpeg.js';

/** libx264 at its default preset (the pixels these tests expect were measured with it). */
const X264 = ['-c:v', 'libx264'];

/** `-f lavfi -i SOURCE` for each source, in order (inputs 0, 1, …). */
function lavfiInputs(sources: string[]): string[] {
  return sources.flatMap((s) => ['-f', 'lavfi', '-i', s]);
}

/** The colours of the colour clip, one per second, as RGB. */
export const PALETTE: Array<[string, [number, number, number]]> = [
  ['red', [255, 0, 0]],
  ['lime', [0, 255, 0]],
  ['blue', [0, 0, 255]],
  ['white', [255, 255, 255]],
];

/** 4-s, 64×48, 25 fps H.264 clip whose colour changes every second (PALETTE order). */
export function colourClip(dir: string, name = 'colours.mp4', fps = 25): string {
  const out = join(dir, name);
  const concat = `${PALETTE.map((_, i) => `[${i}]`).join('')}concat=n=${PALETTE.length}:v=1,format=yuv420p`;
  ffmpeg([
    ...lavfiInputs(PALETTE.map(([c]) => `color=c=${c}:s=64x48:d=1:r=${fps}`)),
    ...['-filter_complex', concat, ...X264, '-g', '10', out],
  ]);
  return out;
}

/**
 * Variable frame rate: red at 25 fps for 1 s, lime at 2 fps for 1 s, blue at 5 fps for 1 s
 * (frames at 0, 0.04 … 0.96, 1.0, 1.5, 2.0, 2.2 … 2.8).
 */
export function vfrClip(dir: string): string {
  const out = join(dir, 'vfr.mp4');
  const parts = ['red:s=64x48:d=1:r=25', 'lime:s=64x48:d=1:r=2', 'blue:s=64x48:d=1:r=5'];
  ffmpeg([
    ...lavfiInputs(parts.map((p) => `color=c=${p}`)),
    ...['-filter_complex', '[0][1][2]concat=n=3:v=1,format=yuv420p', '-vsync', 'vfr', ...X264, out],
  ]);
  return out;
}

/** 160×120: blue with a white bar over the left 20 columns (shows what crop/letterbox keep). */
export function barClip(dir: string): string {
  const bar = 'drawbox=x=0:y=0:w=20:h=120:color=white:t=fill';
  return lavfiClip(join(dir, 'bar.mp4'), `color=c=blue:s=160x120:d=1:r=10,${bar},format=yuv420p`, X264);
}

/** 120×120 coded with 4:3 pixels (shown 160×120): blue, white bar over the left 15 coded columns. */
export function anamorphicClip(dir: string): string {
  const bar = 'drawbox=x=0:y=0:w=15:h=120:color=white:t=fill';
  return lavfiClip(
    join(dir, 'sar.mp4'),
    `color=c=blue:s=120x120:d=1:r=10,${bar},setsar=4/3,format=yuv420p`,
    X264,
  );
}

/** 320×240 coded, left half red, right half blue, with rotate=90 display metadata. */
export function rotatedClip(dir: string): { plain: string; rotated: string } {
  const plain = join(dir, 'lr.mp4');
  const rotated = join(dir, 'lr-rot.mp4');
  ffmpeg([
    ...lavfiInputs(['color=c=red:s=160x240:d=1:r=10', 'color=c=blue:s=160x240:d=1:r=10']),
    ...['-filter_complex', '[0][1]hstack,format=yuv420p', ...X264, plain],
  ]);
  ffmpeg(['-i', plain, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', rotated]);
  return { plain, rotated };
}

/** 1-s AAC audio only, in an .mp4. */
export function audioOnly(dir: string): string {
  const out = join(dir, 'audio-only.mp4');
  ffmpeg(['-f', 'lavfi', '-i', 'sine=d=1', '-c:a', 'aac', out]);
  return out;
}

/** An MP4 written from zero frames: the container holds nothing, duration 0. */
export function zeroLength(dir: string): string {
  const out = join(dir, 'zero.mp4');
  ffmpeg(['-f', 'lavfi', '-i', 'color=s=64x48:d=1', '-frames:v', '0', '-c:v', 'libx264', out]);
  return out;
}

/** 4-s testsrc clip with the index at the front (faststart), so a cut-off copy still opens. */
export function testsrcClip(dir: string, name = 'testsrc.mp4'): string {
  return lavfiClip(join(dir, name), 'testsrc=s=160x120:r=25:d=4,format=yuv420p', [
    ...X264,
    ...['-g', '25', '-movflags', '+faststart'],
  ]);
}

/** Nearest palette colour name of an RGB pixel. */
export function nearestColour(px: ArrayLike<number>): string {
  let best = '';
  let bd = Number.POSITIVE_INFINITY;
  for (const [name, c] of PALETTE) {
    const d = (px[0] - c[0]) ** 2 + (px[1] - c[1]) ** 2 + (px[2] - c[2]) ** 2;
    if (d < bd) {
      bd = d;
      best = name;
    }
  }
  return best;
}

/** Mean RGB of a packed RGB24 image region (whole image by default). */
export function meanRgb(
  data: Uint8Array,
  width: number,
  x0 = 0,
  y0 = 0,
  w = width,
  h = data.length / 3 / width,
): [number, number, number] {
  const s = [0, 0, 0];
  for (let y = y0; y < y0 + h; y++)
    for (let x = x0; x < x0 + w; x++) for (let k = 0; k < 3; k++) s[k] += data[(y * width + x) * 3 + k];
  return s.map((v) => v / (w * h)) as [number, number, number];
}

export function hasMkfifo(): boolean {
  return spawnSync('mkfifo', ['--version']).status === 0;
}
