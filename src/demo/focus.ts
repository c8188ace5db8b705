/**
 * The focus dataset of `dfan demo`, on real imagery: 16-s videos of real footage in which the
 * class is carried ONLY by a real photo (animal, food, plant, vehicle) shown small (a box of
 * 1/4 × 1/4 of the frame sides = 1/16 of the area) at a random position for 2 of the 16 snippets.
 *
 * Material (photos.ts, footage.ts): tuxpaint's photo stamps, split per class so that test videos
 * show photos never used in training (or, with `sharedPhotos` k, the same k photos per class as
 * the training videos); clips of ../shared/media (or --footage DIR), held out
 * between train and test, else a Ken Burns pan over real wallpaper photographs. Half the cues
 * are the cut-out over the footage, half a rectangular "card" (the cut-out on a plain backdrop
 * filling the box), so that both kinds of pasted photo are seen. Frames are 16:9, 4:3 and
 * portrait. One ffmpeg per video (overlay with `enable='between(t,a,b)'`). Ground truth goes to
 * truth.json for the temporal hit rate and the spatial pointing accuracy.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DfanError } from '../errors.js';
import { rng } from '../util/random.js';
import { findFfmpeg, lastErrorLine, runCollect } from '../video/ffmpeg.js';
import {
  type FootageSearch,
  findFootage,
  type PreparedFootage,
  prepareFootage,
  splitFootage,
} from './footage.js';
import {
  findPhotos,
  PHOTO_CLASSES,
  type Photo,
  type PhotoSearch,
  sharePhotos,
  splitPhotos,
  TUXPAINT_PACKAGE,
  TUXPAINT_STAMPS,
} from './photos.js';

export interface FrameShape {
  width: number;
  height: number;
  /** share of the videos with this frame size */
  share: number;
}

export interface FocusSpec {
  classes: number;
  perClass: number;
  /** seconds */
  duration: number;
  fps: number;
  /** snippets the features will use (the cue spans 2 of them) */
  T: number;
  testFraction: number;
  seed: number;
  /** frame sizes; the cue box is 1/4 × 1/4 of the frame sides */
  frames: FrameShape[];
  /** share of cues shown as a card (cut-out on a plain backdrop filling the box) */
  cardShare: number;
}

export const DEFAULT_FOCUS: FocusSpec = {
  classes: 4,
  perClass: 36,
  duration: 16,
  fps: 10,
  T: 16,
  testFraction: 1 / 3,
  seed: 0,
  frames: [
    { width: 384, height: 216, share: 0.45 },
    { width: 320, height: 240, share: 0.4 },
    { width: 216, height: 384, share: 0.15 },
  ],
  cardShare: 0.5,
};

export interface FocusVideo {
  key: string;
  label: string;
  split: 'train' | 'test';
  /** path relative to the dataset folder */
  file: string;
  /** cue interval (s) and box (pixels of the frame): the box is 1/4 × 1/4 of the frame sides */
  cue: { start: number; end: number; x: number; y: number; w: number; h: number };
  frame: { width: number; height: number };
  /** the photo drawn inside the box (its fitted rectangle; a card fills the whole box) */
  photo: { path: string; x: number; y: number; w: number; h: number; card: boolean };
  /** the footage: source file, start second in it, mirrored or not */
  footage: { path: string; start: number; hflip: boolean };
}

export interface FocusMaterial {
  photos: {
    source: string;
    /** per class: photos kept, and how many of them went to train / test */
    perClass: Record<
      string,
      { kept: number; train: number; test: number; rejected: number; skipped: number }
    >;
    /** k when test videos show the training photos (k per class); absent when photos are held out */
    shared?: number;
  };
  footage: { description: string; train: string[]; test: string[] };
}

/** How the photos were split, for log lines and tables: undefined when they are held out. */
export function sharedPhotosNote(photos: FocusMaterial['photos']): string | undefined {
  return photos.shared
    ? `shared: test videos show the training photos, ${photos.shared} per class`
    : undefined;
}

export interface FocusDataset {
  dir: string;
  manifest: string;
  classes: string[];
  videos: FocusVideo[];
  spec: FocusSpec;
  material: FocusMaterial;
}

/** Backdrops of the cards: plain, photo-like tones. */
const CARD_COLOURS = ['0xe8e4dc', '0xbcd4e6', '0x8fa876', '0x6e6a64', '0xf4f1ea', '0x30343a', '0xd9c3a0'];

interface Planned extends FocusVideo {
  /** background: zoom over the cover size, crop position (0–1) */
  bg: { zoom: number; fx: number; fy: number };
  colour: string;
  loop: boolean;
}

/** The frame shape at `pick` ∈ [0, total share) of the cumulative shares. */
function pickFrame(frames: FrameShape[], pick: number): FrameShape {
  let acc = 0;
  for (const f of frames) {
    acc += f.share;
    if (pick < acc) return f;
  }
  return frames[frames.length - 1];
}

const even = (x: number) => Math.max(2, Math.round(x / 2) * 2);

/**
 * Plan every video (deterministic for a seed and material): label, split, photo, footage, frame,
 * cue interval, box and photo rectangle.
 */
export function planFocusDataset(
  spec: FocusSpec,
  classes: string[],
  photos: { train: Map<string, Photo[]>; test: Map<string, Photo[]> },
  footage: { train: PreparedFootage[]; test: PreparedFootage[] },
): Planned[] {
  const random = rng(spec.seed + 101);
  const nTrain = Math.round(spec.perClass * (1 - spec.testFraction));
  const used = new Map<string, number>();
  const out: Planned[] = [];
  for (let i = 0; i < spec.perClass; i++) {
    for (let c = 0; c < classes.length; c++) {
      const label = classes[c];
      const split = i < nTrain ? 'train' : 'test';
      const pool = (split === 'train' ? photos.train : photos.test).get(label) ?? [];
      if (!pool.length) throw new DfanError('INTERNAL', `no ${split} photo for class ${label}`);
      // every photo of the pool in turn: all of them are shown, about equally often
      const k = `${label}/${split}`;
      const u = used.get(k) ?? 0;
      used.set(k, u + 1);
      const clips = split === 'train' ? footage.train : footage.test;
      const n = i * classes.length + c;
      out.push(planVideo(spec, random, { n, label, split, photo: pool[u % pool.length], clips }));
    }
  }
  return out;
}

/**
 * One video's plan: its footage clip, frame, cue interval and box, photo rectangle and
 * background, drawn from `random` in a fixed order (the plan of a seed never changes).
 */
function planVideo(
  spec: FocusSpec,
  random: () => number,
  v: { n: number; label: string; split: 'train' | 'test'; photo: Photo; clips: PreparedFootage[] },
): Planned {
  const L = spec.duration / spec.T;
  const clip = v.clips[Math.floor(random() * v.clips.length)];
  const frame = pickFrame(spec.frames, random() * spec.frames.reduce((s, f) => s + f.share, 0));
  const W = frame.width;
  const H = frame.height;
  // the cue covers snippets s and s+1 (their key frames and clip frames), slightly inside
  const s = 1 + Math.floor(random() * (spec.T - 3));
  const start = s * L + 0.04 * L;
  const end = (s + 2) * L - 0.04 * L;
  const bw = even(W / 4);
  const bh = even(H / 4);
  const x = Math.floor(random() * (W - bw + 1));
  const y = Math.floor(random() * (H - bh + 1));
  const card = random() < spec.cardShare;
  // the photo fitted in the box (aspect kept); on a card with a small margin
  const room = card ? 0.88 : 1;
  const a = v.photo.stats.width / v.photo.stats.height;
  const pw = Math.max(2, Math.floor(Math.min(bw * room, bh * room * a)));
  const ph = Math.max(2, Math.floor(Math.min(bh * room, (bw * room) / a)));
  const zoom = 1 + random() * 0.4;
  const fx = random();
  const fy = random();
  const hflip = random() < 0.5;
  const loop = clip.duration < spec.duration + 0.5;
  const startAt = loop
    ? random() * Math.max(0, clip.duration - 0.5)
    : random() * (clip.duration - spec.duration - 0.3);
  const colour = CARD_COLOURS[Math.floor(random() * CARD_COLOURS.length)];
  const planned: Planned = {
    key: '',
    label: v.label,
    split: v.split,
    file: '',
    cue: { start, end, x, y, w: bw, h: bh },
    frame: { width: W, height: H },
    photo: {
      path: v.photo.path,
      x: x + Math.floor((bw - pw) / 2),
      y: y + Math.floor((bh - ph) / 2),
      w: pw,
      h: ph,
      card,
    },
    footage: { path: clip.path, start: Math.round(startAt * 100) / 100, hflip },
    bg: { zoom, fx, fy },
    colour,
    loop,
  };
  // named by its recipe: a folder made with another seed, material or code never passes its
  // videos off as this plan's (they would keep a cached file under another truth)
  planned.file = `videos/${v.label}/v${String(v.n).padStart(4, '0')}-${recipeId(planned, clip, spec)}.mp4`;
  planned.key = planned.file; // the manifest key (the video column as written)
  return planned;
}

/** What determines a video's pixels: its ffmpeg recipe, with the footage named by its source. */
export function recipeId(v: Planned, clip: PreparedFootage, spec: FocusSpec): string {
  const args = renderArgs(v, clip, spec, '').map((a) => (a === clip.path ? clip.source.path : a));
  return createHash('sha256').update(JSON.stringify(args)).digest('hex').slice(0, 10);
}

/** Video files of a demo folder that no plan entry names (another seed's, or half-written). */
function staleVideos(dir: string, plan: Planned[]): string[] {
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

export interface BuildOptions {
  /** folder of video clips (default ../shared/media; wallpapers when it has none) */
  footage?: string;
  /** where to look without `footage` (default ../shared/media) */
  defaultFootage?: string;
  /** test videos over the training videos' footage (default: footage held out like the photos) */
  sharedFootage?: boolean;
  /** k: test videos show the same k photos per class as the training videos (default: photos held out) */
  sharedPhotos?: number;
  /** tuxpaint-style stamps root (default /usr/share/tuxpaint/stamps) */
  stamps?: string;
  /** ffmpeg processes at a time (default 2) */
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
}

/** Find the photos for `n` classes, or say which package to install. */
export function demoPhotos(n: number, root = TUXPAINT_STAMPS): { search: PhotoSearch; classes: string[] } {
  const install = `apt-get install ${TUXPAINT_PACKAGE}`;
  if (!existsSync(root))
    throw new DfanError(
      'MATERIAL_MISSING',
      'no photos for the demo: the tuxpaint photo stamps are not installed',
      {
        file: root,
        hint: `${install} (and plasma-workspace-wallpapers when there is no clip in ../shared/media)`,
      },
    );
  if (n < 2 || n > PHOTO_CLASSES.length)
    throw new DfanError('BAD_ARGUMENT', `the demo supports 2–${PHOTO_CLASSES.length} classes (got ${n})`);
  const search = findPhotos(root);
  const classes = PHOTO_CLASSES.slice(0, n).map((c) => c.name);
  const short = classes.filter((c) => search.photos.filter((p) => p.label === c).length < 2);
  if (short.length)
    throw new DfanError(
      'MATERIAL_MISSING',
      `too few photos for class(es) ${short.join(', ')} (need ≥ 2 each)`,
      {
        file: root,
        hint: `reinstall the stamps: ${install}`,
      },
    );
  return { search, classes };
}

/** The photos and footage of a dataset: found, split between train and test, footage prepared. */
interface Material {
  classes: string[];
  search: PhotoSearch;
  photos: { train: Map<string, Photo[]>; test: Map<string, Photo[]> };
  found: FootageSearch;
  footage: { train: PreparedFootage[]; test: PreparedFootage[] };
  /** working copy path → its prepared footage */
  byPath: Map<string, PreparedFootage>;
}

async function gatherMaterial(dir: string, spec: FocusSpec, opts: BuildOptions): Promise<Material> {
  const { search, classes } = demoPhotos(spec.classes, opts.stamps);
  const heldOut = splitPhotos(
    search.photos.filter((p) => classes.includes(p.label)),
    spec.testFraction,
    spec.seed,
  );
  const photos = opts.sharedPhotos ? sharePhotos(heldOut, opts.sharedPhotos) : heldOut;
  const found = await findFootage({ dir: opts.footage, defaultDir: opts.defaultFootage });
  const split = splitFootage(found.sources, opts.sharedFootage);
  const prepDir = join(dir, 'footage');
  const prepared = new Map<string, PreparedFootage>();
  for (const src of [...split.train, ...split.test]) {
    if (!prepared.has(src.path)) prepared.set(src.path, await prepareFootage(src, prepDir, spec.fps));
  }
  const footage = {
    train: split.train.map((s) => prepared.get(s.path) as PreparedFootage),
    test: split.test.map((s) => prepared.get(s.path) as PreparedFootage),
  };
  const byPath = new Map([...prepared.values()].map((p) => [p.path, p]));
  return { classes, search, photos, found, footage, byPath };
}

/** Render the planned videos not on disk yet (`concurrency` ffmpeg at a time; temp file + rename). */
async function renderVideos(
  dir: string,
  spec: FocusSpec,
  plan: Planned[],
  byPath: Map<string, PreparedFootage>,
  ffmpeg: string,
  opts: BuildOptions,
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

/** What the summary says of the material: photos per class and split, footage per split. */
function describeMaterial(m: Material, opts: BuildOptions): FocusMaterial {
  const perClass: FocusMaterial['photos']['perClass'] = {};
  for (const c of m.classes) {
    const n = m.search.counts[c];
    perClass[c] = {
      kept: n.kept,
      train: m.photos.train.get(c)?.length ?? 0,
      test: m.photos.test.get(c)?.length ?? 0,
      rejected: n.rejected,
      skipped: n.skipped,
    };
  }
  return {
    photos: {
      source: `${m.search.root} (Debian ${TUXPAINT_PACKAGE})`,
      perClass,
      ...(opts.sharedPhotos ? { shared: opts.sharedPhotos } : {}),
    },
    footage: {
      description: `${m.found.description}${opts.sharedFootage && m.found.sources.length > 1 ? ' (shared: test videos over the training clips)' : ''}`,
      train: m.footage.train.map((f) => f.source.path),
      test: m.footage.test.map((f) => f.source.path),
    },
  };
}

/**
 * Write the videos (skipping ones already there), the manifest (video,label,split) and truth.json.
 * `onProgress(done, total)` after each video.
 */
export async function buildFocusDataset(
  dir: string,
  spec: FocusSpec,
  opts: BuildOptions = {},
): Promise<FocusDataset> {
  const { ffmpeg } = findFfmpeg();
  const m = await gatherMaterial(dir, spec, opts);
  const plan = planFocusDataset(spec, m.classes, m.photos, m.footage);
  for (const f of staleVideos(dir, plan)) rmSync(f, { force: true });
  await renderVideos(dir, spec, plan, m.byPath, ffmpeg, opts);

  const manifest = join(dir, 'manifest.csv');
  writeFileSync(
    manifest,
    `video,label,split\n${plan.map((v) => `${v.file},${v.label},${v.split}`).join('\n')}\n`,
  );
  // truth.json names the footage source, not the working copy
  const videos: FocusVideo[] = plan.map(({ bg: _b, colour: _c, loop: _l, ...v }) => ({
    ...v,
    footage: { ...v.footage, path: (m.byPath.get(v.footage.path) as PreparedFootage).source.path },
  }));
  const material = describeMaterial(m, opts);
  writeFileSync(
    join(dir, 'truth.json'),
    `${JSON.stringify({ spec, classes: m.classes, material, videos }, null, 2)}\n`,
  );
  return { dir, manifest, classes: m.classes, videos, spec, material };
}

export function readFocusTruth(dir: string): {
  spec: FocusSpec;
  classes: string[];
  material: FocusMaterial;
  videos: FocusVideo[];
} {
  return JSON.parse(readFileSync(join(dir, 'truth.json'), 'utf8'));
}
