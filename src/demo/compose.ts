/**
 * The pixels of a planned video: one ffmpeg per video (the footage covered and cropped, the photo
 * overlaid in its box, as a cut-out or a card, only while `enable='between(t,a,b)'`), the recipe
 * hash that names the file, and the rendering of a whole plan (cached: finished files are kept,
 * files no plan entry names are removed; temp file + rename).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { DfanError } from '../errors.js';
import { lastErrorLine, runCollect } from '../video/ffmpeg.js';
import type { PreparedFootage } from './footage.js';
import type { FocusSpec, Planned } from './spec.js';

/** The even number nearest x, at least 2 (libx264 wants even frame and box sizes). */
export const even = (x: number) => Math.max(2, Math.round(x / 2) * 2);

/** What determines a video's pixels: its ffmpeg recipe, with the footage named by its source. */
export function recipeId(v: Planned, clip: PreparedFootage, spec: FocusSpec): string {
  const args = renderArgs(v, clip, spec, '').map((a) => (a === clip.path ? clip.source.path : a));
  return createHash('sha256').update(JSON.stringify(args)).digest('hex').slice(0, 10);
}

/** Video files of a demo folder that no plan entry names (another seed's, or half-written). */
export function staleVideos(dir: string, plan: Planned[]): string[] {
  const keep = new Set(plan.map((v) => join(dir, v.file)));
  const root = join(dir, 'videos');
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) =>
      readdirSync(join(root, d.name))
        .filter((f) => /^v\d{4}(-[0-9a-f]+)?\.mp4(\.tmp\.mp4)?$/.test(f))
        .map((f) => join(root, d.name, f)),
    )
    .filter((f) => !keep.has(f));
}

/** The ffmpeg arguments that render one planned video to `out`. */
export function renderArgs(v: Planned, clip: PreparedFootage, spec: FocusSpec, out: string): string[] {
  const { width: W, height: H } = v.frame;
  // cover the frame, zoomed in a little more, then crop at the planned position
  const s = Math.max(W / clip.width, H / clip.height) * v.bg.zoom;
  const sw = Math.max(W, even(clip.width * s));
  const sh = Math.max(H, even(clip.height * s));
  const cx = Math.floor(v.bg.fx * (sw - W));
  const cy = Math.floor(v.bg.fy * (sh - H));
  const { cue, photo } = v;
  const between = `enable='between(t,${cue.start.toFixed(3)},${cue.end.toFixed(3)})'`;
  const bg = `[0:v]scale=${sw}:${sh},crop=${W}:${H}:${cx}:${cy}${v.footage.hflip ? ',hflip' : ''},setsar=1[bg]`;
  const ph = `[1:v]scale=${photo.w}:${photo.h},format=rgba[ph]`;
  const filter = photo.card
    ? [
        bg,
        ph,
        `color=c=${v.colour}:s=${cue.w}x${cue.h}:r=${spec.fps}:d=${spec.duration}[cd]`,
        `[cd][ph]overlay=x=${photo.x - cue.x}:y=${photo.y - cue.y}:shortest=1[card]`,
        `[bg][card]overlay=x=${cue.x}:y=${cue.y}:${between},format=yuv420p[out]`,
      ]
    : [bg, ph, `[bg][ph]overlay=x=${photo.x}:y=${photo.y}:${between},format=yuv420p[out]`];
  return [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-threads',
    '1',
    ...(v.loop ? ['-stream_loop', '-1'] : []),
    '-ss',
    String(v.footage.start),
    '-i',
    clip.path,
    '-loop',
    '1',
    '-framerate',
    String(spec.fps),
    '-t',
    String(spec.duration),
    '-i',
    photo.path,
    '-filter_complex',
    filter.join(';'),
    '-map',
    '[out]',
    '-t',
    String(spec.duration),
    '-r',
    String(spec.fps),
    '-an',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-crf',
    '27',
    '-threads',
    '1',
    '-pix_fmt',
    'yuv420p',
    out,
  ];
}

/** Render the planned videos not on disk yet (`concurrency` ffmpeg at a time; temp file + rename). */
export async function renderVideos(
  dir: string,
  spec: FocusSpec,
  plan: Planned[],
  byPath: Map<string, PreparedFootage>,
  ffmpeg: string,
  opts: { concurrency?: number; onProgress?: (done: number, total: number) => void },
): Promise<void> {
  let done = 0;
  let next = 0;
  const worker = async () => {
    while (next < plan.length) {
      const v = plan[next++];
      const out = join(dir, v.file);
      if (!existsSync(out)) {
        mkdirSync(join(out, '..'), { recursive: true });
        const clip = byPath.get(v.footage.path) as PreparedFootage;
        const r = await runCollect(ffmpeg, renderArgs(v, clip, spec, `${out}.tmp.mp4`), 120_000);
        if (r.code !== 0) {
          throw new DfanError(
            'FFMPEG_FAILED',
            `could not generate a demo video: ${lastErrorLine(r.stderr)}`,
            {
              file: out,
            },
          );
        }
        renameSync(`${out}.tmp.mp4`, out);
      }
      done++;
      opts.onProgress?.(done, plan.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 2) }, worker));
}
