/**
 * Labelled real photos for the real-imagery focus dataset, found on the machine.
 *
 * Source: Debian's `tuxpaint-stamps-default` (/usr/share/tuxpaint/stamps/<category>/**.png):
 * RGBA cut-outs, most of them real photographs, some drawings. Paths with `cartoon` and the
 * `symbols` tree are skipped, `_mirror` copies too (a mirrored train photo in the test split would
 * leak), and the remaining drawings are filtered by one image statistic, the **flat share**: the
 * share of opaque interior pixels whose right and lower neighbours have (almost) the same colour
 * (|ΔR|+|ΔG|+|ΔB| summed over both ≤ 3). Photographs have sensor noise and texture everywhere
 * (flat share 0–0.26 on the photos checked by eye, e.g. pineapple 0.00, dog 0.00, apricot 0.12,
 * albino peahen 0.26); flat-filled drawings are far above (pizza 0.71, bee 0.99, cartoon hedgehog
 * 0.80, echidna silhouette 1.00). Smoothly shaded renders (a few fish, the orca) pass: the
 * statistic only rejects flat fills.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { PNG } from 'pngjs';
import { rng } from '../util/random.js';

export const TUXPAINT_STAMPS = '/usr/share/tuxpaint/stamps';
export const TUXPAINT_PACKAGE = 'tuxpaint-stamps-default';

/** Demo classes and the stamp folders (relative to the stamps root) that hold their photos. */
export const PHOTO_CLASSES: Array<{ name: string; dirs: string[] }> = [
  { name: 'animal', dirs: ['animals'] },
  { name: 'food', dirs: ['food'] },
  { name: 'plant', dirs: ['plants'] },
  { name: 'vehicle', dirs: ['vehicles', join('military', 'vehicles')] },
];

/** Drawings have a flat share above this; photographs below. */
export const MAX_FLAT_SHARE = 0.5;
/**
 * Stamps smaller than this (longest side, px) or with fewer opaque pixels are too small to show.
 * The fruit and vegetable photos are ~50 px: the cue box is 54–96 px, so they are scaled up
 * less than 2×, and the object map sees the box at ~56 px anyway.
 */
export const MIN_SIDE = 45;
export const MIN_OPAQUE = 700;
/** Opaque pixels over the bounding rectangle: broken cut-outs (a police car of a few specks) are below. */
export const MIN_COVERAGE = 0.15;

export interface PhotoStats {
  width: number;
  height: number;
  /** opaque pixels (alpha ≥ 250) */
  opaque: number;
  /** opaque pixels / (width × height) */
  coverage: number;
  /** share of opaque interior pixels with (almost) the colour of their right and lower neighbours */
  flat: number;
}

export interface Photo {
  /** absolute path of the PNG */
  path: string;
  label: string;
  stats: PhotoStats;
}

/** The statistics of one RGBA PNG (any PNG: pngjs expands it to RGBA). */
export function photoStats(png: { width: number; height: number; data: Uint8Array }): PhotoStats {
  const { width: w, height: h, data: d } = png;
  let opaque = 0;
  let n = 0;
  let flat = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 4;
      if (d[i + 3] < 250) continue;
      opaque++;
      if (x === w - 1 || y === h - 1) continue;
      const r = i + 4;
      const b = i + 4 * w;
      if (d[r + 3] < 250 || d[b + 3] < 250) continue;
      n++;
      let g = 0;
      for (let c = 0; c < 3; c++) g += Math.abs(d[i + c] - d[r + c]) + Math.abs(d[i + c] - d[b + c]);
      if (g <= 3) flat++;
    }
  }
  return { width: w, height: h, opaque, coverage: opaque / (w * h), flat: n ? flat / n : 1 };
}

/** Why a stamp is not used as a photo (null: it is a usable photo). */
export function rejectReason(s: PhotoStats): string | null {
  if (Math.max(s.width, s.height) < MIN_SIDE) return `too small (${s.width}×${s.height})`;
  if (s.opaque < MIN_OPAQUE || s.coverage < MIN_COVERAGE) return 'too few opaque pixels';
  if (s.flat > MAX_FLAT_SHARE) return `a drawing (flat share ${s.flat.toFixed(2)})`;
  return null;
}

export function readPhotoStats(path: string): PhotoStats {
  return photoStats(PNG.sync.read(readFileSync(path)));
}

function walkPngs(dir: string, out: string[]): void {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return;
  }
  for (const name of names) {
    const p = join(dir, name);
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(p);
    } catch {
      continue;
    }
    if (st.isDirectory()) walkPngs(p, out);
    else if (name.toLowerCase().endsWith('.png')) out.push(p);
  }
}

/** Skipped by path: cartoons, the symbols tree, mirrored copies of another stamp. */
export function skipByPath(rel: string): boolean {
  const parts = rel.split(sep);
  const base = parts[parts.length - 1].toLowerCase();
  return (
    parts.some((p) => p.toLowerCase().includes('cartoon')) ||
    parts[0] === 'symbols' ||
    /_mirror\.png$|_flip\.png$/.test(base)
  );
}

export interface PhotoSearch {
  root: string;
  photos: Photo[];
  /** per class: stamps looked at, skipped by path, rejected by the statistics */
  counts: Record<string, { found: number; skipped: number; rejected: number; kept: number }>;
}

/** All usable photos under a tuxpaint-style stamps root, by class (sorted paths: deterministic). */
export function findPhotos(root = TUXPAINT_STAMPS, classes = PHOTO_CLASSES): PhotoSearch {
  const photos: Photo[] = [];
  const counts: PhotoSearch['counts'] = {};
  for (const cls of classes) {
    const c = { found: 0, skipped: 0, rejected: 0, kept: 0 };
    counts[cls.name] = c;
    const files: string[] = [];
    for (const d of cls.dirs) if (existsSync(join(root, d))) walkPngs(join(root, d), files);
    for (const path of files) {
      c.found++;
      if (skipByPath(relative(root, path))) {
        c.skipped++;
        continue;
      }
      let stats: PhotoStats;
      try {
        stats = readPhotoStats(path);
      } catch {
        c.rejected++;
        continue;
      }
      if (rejectReason(stats)) {
        c.rejected++;
        continue;
      }
      c.kept++;
      photos.push({ path, label: cls.name, stats });
    }
  }
  return { root, photos, counts };
}

/**
 * Hold out photos: per class, a seeded shuffle, the last `testFraction` (at least one) go to the
 * test split. Test videos then show photos never seen in training.
 */
export function splitPhotos(
  photos: Photo[],
  testFraction: number,
  seed: number,
): { train: Map<string, Photo[]>; test: Map<string, Photo[]> } {
  const train = new Map<string, Photo[]>();
  const test = new Map<string, Photo[]>();
  const labels = [...new Set(photos.map((p) => p.label))];
  const random = rng(seed + 7919);
  for (const label of labels) {
    const mine = photos.filter((p) => p.label === label);
    for (let i = mine.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [mine[i], mine[j]] = [mine[j], mine[i]];
    }
    const nTest = mine.length < 2 ? 0 : Math.max(1, Math.round(mine.length * testFraction));
    train.set(label, mine.slice(0, mine.length - nTest));
    test.set(label, mine.slice(mine.length - nTest));
  }
  return { train, test };
}

/**
 * A closed-set split: the first `k` training photos of each class (all of them when a class has
 * fewer), shown by the training and the test videos alike. Test videos then ask which class a
 * photo seen in training belongs to, as benchmarks built from a few photos per class do, not
 * which class an unseen photo belongs to.
 */
export function sharePhotos(
  split: { train: Map<string, Photo[]>; test: Map<string, Photo[]> },
  k: number,
): { train: Map<string, Photo[]>; test: Map<string, Photo[]> } {
  if (!Number.isInteger(k) || k < 1)
    throw new RangeError(`shared photos per class must be an integer ≥ 1 (got ${k})`);
  const train = new Map<string, Photo[]>();
  for (const [label, list] of split.train) train.set(label, list.slice(0, k));
  return { train, test: new Map(train) };
}
