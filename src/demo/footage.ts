/**
 * Real footage behind the demo's cues: video clips (`--footage DIR`, else `../shared/media` beside
 * the project) or, when no clip exists, a slow pan (Ken Burns) across real photographs
 * from Debian's `plasma-workspace-wallpapers` (or any JPEG under /usr/share/backgrounds).
 *
 * Every source is first brought once to a small working copy (10 fps, short side 288, no audio):
 * the per-video compositing then decodes a few hundred small frames instead of 720p.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, statSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { DfanError } from '../errors.js';
import { projectRoot } from '../version.js';
import { findFfmpeg, lastErrorLine, runCollect } from '../video/ffmpeg.js';
import { probe } from '../video/probe.js';
import { even } from './compose.js';

export const WALLPAPER_PACKAGE = 'plasma-workspace-wallpapers';
export const PLASMA_WALLPAPERS = '/usr/share/wallpapers';
export const BACKGROUNDS = '/usr/share/backgrounds';

/**
 * The plasma-workspace-wallpapers (5.27) that are photographs, checked by eye; the others are
 * renders, paintings and illustrations (Altai, Autumn, Canopee, Flow, Kokkini, SafeLanding, ...).
 */
export const PLASMA_PHOTOS = [
  'BytheWater',
  'ColdRipple',
  'ColorfulCups',
  'DarkestHour',
  'EveningGlow',
  'FallenLeaf',
  'Grey',
  'Kite',
  'OneStandsOut',
  'Path',
  'summer_1am',
];

/** Seconds of Ken Burns footage made from one still. */
const STILL_SECONDS = 24;
const VIDEO_EXT = new Set(['.mp4', '.mkv', '.mov', '.webm', '.avi', '.m4v']);

export interface FootageSource {
  kind: 'clip' | 'still';
  path: string;
  /** display size of the source */
  width: number;
  height: number;
  /** seconds (clips) */
  duration: number;
}

/** The folder the demo looks in for clips when --footage is not given: ../shared/media. */
export function defaultFootageDir(): string {
  return resolve(projectRoot(), '..', 'shared', 'media');
}

/** Clips of a folder that ffprobe reads, ≥ 1.5 s and ≥ 96 px on the short side; sorted by name. */
export async function findClips(dir: string): Promise<FootageSource[]> {
  if (!existsSync(dir)) return [];
  const out: FootageSource[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (!VIDEO_EXT.has(extname(name).toLowerCase())) continue;
    const path = join(dir, name);
    try {
      const info = await probe(path);
      const w = info.displayWidth;
      const h = info.displayHeight;
      if (info.duration >= 1.5 && Math.min(w, h) >= 96)
        out.push({ kind: 'clip', path, width: w, height: h, duration: info.duration });
    } catch {
      // unreadable or audio-only: not footage
    }
  }
  return out;
}

/** One image per wallpaper folder (the size nearest 1280 px wide), photographs only. */
export function findWallpapers(
  plasma = PLASMA_WALLPAPERS,
  backgrounds = BACKGROUNDS,
): Array<{ path: string; width: number; height: number }> {
  const out: Array<{ path: string; width: number; height: number }> = [];
  for (const name of PLASMA_PHOTOS) {
    const dir = join(plasma, name, 'contents', 'images');
    if (!existsSync(dir)) continue;
    const sizes = readdirSync(dir)
      .map((f) => ({ f, m: /^(\d+)x(\d+)\.(jpe?g|png)$/i.exec(f) }))
      .filter((x) => x.m)
      .map((x) => ({ path: join(dir, x.f), width: Number(x.m?.[1]), height: Number(x.m?.[2]) }))
      .filter((x) => x.width >= x.height)
      .sort((a, b) => Math.abs(a.width - 1280) - Math.abs(b.width - 1280));
    if (sizes.length) out.push(sizes[0]);
  }
  // GNOME-style folders: JPEGs are (mostly) photographs, PNG/SVG are illustrations
  const walk = (dir: string, depth: number) => {
    if (depth > 3 || !existsSync(dir)) return;
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p, depth + 1);
      else if (/\.jpe?g$/i.test(name) && st.size > 100_000) out.push({ path: p, width: 0, height: 0 });
    }
  };
  walk(backgrounds, 0);
  return out;
}

export interface FootageSearch {
  sources: FootageSource[];
  /** what was used, in one line for the summary */
  description: string;
}

export interface FootageOptions {
  /** --footage: a folder of clips (no fallback when it has none) */
  dir?: string;
  /** where to look without --footage (default ../shared/media) */
  defaultDir?: string;
  /** wallpaper roots (defaults: /usr/share/wallpapers, /usr/share/backgrounds) */
  plasma?: string;
  backgrounds?: string;
}

/**
 * Footage for the demo: the clips of `--footage` (or ../shared/media) when there is one, else the
 * wallpaper photographs (as stills to pan across). Throws MATERIAL_MISSING when neither exists.
 */
export async function findFootage(opts: FootageOptions = {}): Promise<FootageSearch> {
  const { dir } = opts;
  const folder = dir ? resolve(dir) : (opts.defaultDir ?? defaultFootageDir());
  if (dir && !existsSync(folder))
    throw new DfanError('NOT_FOUND', 'the footage folder does not exist', { file: folder });
  const clips = await findClips(folder);
  if (clips.length) {
    return { sources: clips, description: `${clips.length} clips from ${folder}` };
  }
  if (dir) {
    throw new DfanError('MATERIAL_MISSING', 'no readable video clip (≥ 1.5 s) in the footage folder', {
      file: folder,
      hint: 'give a folder of .mp4/.mkv/.mov/.webm clips',
    });
  }
  const walls = findWallpapers(opts.plasma, opts.backgrounds);
  if (walls.length) {
    return {
      sources: walls.map((w) => ({
        kind: 'still' as const,
        path: w.path,
        width: w.width,
        height: w.height,
        duration: STILL_SECONDS,
      })),
      description: `slow pan across ${walls.length} real wallpaper photographs (${WALLPAPER_PACKAGE}; no clip in ${folder})`,
    };
  }
  throw new DfanError(
    'MATERIAL_MISSING',
    `no footage for the demo: no clip in ${folder} and no wallpaper photograph on this machine`,
    {
      hint: `install the wallpapers (apt-get install ${WALLPAPER_PACKAGE}) or pass --footage DIR with video clips`,
    },
  );
}

/**
 * Hold out footage: when there are ≥ 2 sources, every third (by decreasing duration, so that
 * both splits get long and short clips) goes to the test split; else, or when `shared` (test
 * videos over the training clips, as benchmarks cut from a few clips are), both splits share it.
 */
export function splitFootage(
  sources: FootageSource[],
  shared = false,
): { train: FootageSource[]; test: FootageSource[] } {
  if (sources.length < 2 || shared) return { train: sources, test: sources };
  const sorted = [...sources].sort((a, b) => b.duration - a.duration || a.path.localeCompare(b.path));
  const test = sorted.filter((_, i) => i % 3 === 1);
  const train = sorted.filter((_, i) => i % 3 !== 1);
  return { train, test };
}

export interface PreparedFootage {
  source: FootageSource;
  /** the working copy: 10 fps, short side 288 */
  path: string;
  width: number;
  height: number;
  duration: number;
}

const SHORT_SIDE = 288;

/**
 * The working copy of one source in `dir` (reused when present). Clips: 10 fps, short side 288.
 * Stills: a 24-s slow pan across the photo (a 1.5× copy of a 512×288 window), 512×288.
 */
export async function prepareFootage(src: FootageSource, dir: string, fps: number): Promise<PreparedFootage> {
  mkdirSync(dir, { recursive: true });
  // wallpapers share file names (1280x1024.jpg): a hash of the path keeps the copies apart
  const tag = createHash('sha256').update(src.path).digest('hex').slice(0, 8);
  const stem = `${basename(src.path, extname(src.path)).replace(/[^\w.-]+/g, '_')}-${tag}-${fps}fps`;
  const out = join(dir, `${stem}.mp4`);
  let width: number;
  let height: number;
  let args: string[];
  if (src.kind === 'clip') {
    const s = SHORT_SIDE / Math.min(src.width, src.height);
    width = even(src.width * s);
    height = even(src.height * s);
    args = ['-i', src.path, '-an', '-vf', `fps=${fps},scale=${width}:${height},setsar=1`];
  } else {
    width = 512;
    height = SHORT_SIDE;
    // a slow pan over a 1.5× copy: the photo is decoded and scaled once, then repeated by the
    // loop filter (re-decoding a 1280-px JPEG per frame costs ~10× more); crop x/y run per frame
    const T = STILL_SECONDS;
    args = [
      '-i',
      src.path,
      '-vf',
      `scale=768:432:force_original_aspect_ratio=increase,crop=768:432,` +
        `loop=loop=${T * fps - 1}:size=1:start=0,setpts=N/${fps}/TB,` +
        `crop=${width}:${height}:x='(iw-ow)*t/${T}':y='(ih-oh)*(0.5+0.45*sin(6.283*t/${T}))',setsar=1`,
      '-r',
      String(fps),
    ];
  }
  const duration = src.kind === 'clip' ? src.duration : STILL_SECONDS;
  if (existsSync(out)) return { source: src, path: out, width, height, duration };
  const { ffmpeg } = findFfmpeg();
  const r = await runCollect(
    ffmpeg,
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      ...args,
      '-frames:v',
      String(Math.ceil(duration * fps)),
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-crf',
      '20',
      '-pix_fmt',
      'yuv420p',
      `${out}.tmp.mp4`,
    ],
    300_000,
  );
  if (r.code !== 0)
    throw new DfanError('FFMPEG_FAILED', `could not prepare demo footage: ${lastErrorLine(r.stderr)}`, {
      file: src.path,
    });
  renameSync(`${out}.tmp.mp4`, out);
  return { source: src, path: out, width, height, duration };
}
