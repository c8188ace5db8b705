/**
 * The plan of a focus dataset (pure, deterministic for a seed and material): per video its class,
 * split, photo, footage clip, frame, cue interval, box, photo rectangle and background, drawn
 * from one seeded generator in a fixed order, and named by the recipe of its pixels.
 */
import { DfanError } from '../errors.js';
import { rng } from '../util/random.js';
import { even, recipeId } from './compose.js';
import type { PreparedFootage } from './footage.js';
import type { Photo } from './photos.js';
import type { FocusSpec, FrameShape, Planned } from './spec.js';

/** Backdrops of the cards: plain, photo-like tones. */
const CARD_COLOURS = ['0xe8e4dc', '0xbcd4e6', '0x8fa876', '0x6e6a64', '0xf4f1ea', '0x30343a', '0xd9c3a0'];

/** The frame shape at `pick` ∈ [0, total share) of the cumulative shares. */
function pickFrame(frames: FrameShape[], pick: number): FrameShape {
  let acc = 0;
  for (const f of frames) {
    acc += f.share;
    if (pick < acc) return f;
  }
  return frames[frames.length - 1];
}

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
