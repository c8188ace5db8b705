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
 * portrait. The plan is plan.ts, the pixels compose.ts (one ffmpeg per video). Ground truth goes
 * to truth.json for the temporal hit rate and the spatial pointing accuracy.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DfanError } from '../errors.js';
import { findFfmpeg } from '../video/ffmpeg.js';
import { renderVideos, staleVideos } from './compose.js';
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
import { planFocusDataset } from './plan.js';
import type { FocusDataset, FocusMaterial, FocusSpec, FocusVideo } from './spec.js';

/** How the photos were split, for log lines and tables: undefined when they are held out. */
export function sharedPhotosNote(photos: FocusMaterial['photos']): string | undefined {
  return photos.shared
    ? `shared: test videos show the training photos, ${photos.shared} per class`
    : undefined;
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
