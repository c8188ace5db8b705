import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildFocusDataset, demoPhotos, readFocusTruth } from '../../src/demo/focus.js';
import { findFootage, PLASMA_PHOTOS, PLASMA_WALLPAPERS, splitFootage } from '../../src/demo/footage.js';
import {
  findPhotos,
  type Photo,
  photoStats,
  readPhotoStats,
  rejectReason,
  sharePhotos,
  splitPhotos,
  TUXPAINT_STAMPS,
} from '../../src/demo/photos.js';
import { runDemo } from '../../src/demo/run.js';
import {
  centreSquareRegion,
  cueCells,
  dilateCells,
  fittedWithoutCue,
  focusScores,
} from '../../src/demo/scores.js';
import { DEFAULT_FOCUS, type FocusVideo } from '../../src/demo/spec.js';
import { isDfanError } from '../../src/errors.js';
import { sampleSnippets } from '../../src/video/snippets.js';
import { ffmpeg, lavfiClip, X264_FAST } from '../helpers/ffmpeg.js';
import { needSlow, sharedPath } from '../helpers/shared.js';
import { testDir } from '../helpers/temp.js';

const tmp = testDir('dfan-demo-');

const noStamps = existsSync(TUXPAINT_STAMPS)
  ? false
  : `skipped: ${TUXPAINT_STAMPS} is absent (apt-get install tuxpaint-stamps-default)`;

test('drawing filter: known photographs are kept, known drawings rejected', { skip: noStamps }, () => {
  for (const photo of [
    'food/fruit/pineapple.png',
    'animals/mammals/dogs/dog.png',
    'food/fruit/apricot.png',
    'animals/birds/penguin.png',
    'vehicles/auto/beetle.png',
  ]) {
    const s = readPhotoStats(join(TUXPAINT_STAMPS, photo));
    assert.equal(rejectReason(s), null, `${photo} is a photo (flat share ${s.flat.toFixed(3)})`);
  }
  for (const drawing of [
    'food/pizza.png',
    'animals/insects/bee.png',
    'animals/mammals/hedgehog.png',
    'clothes/hats/tophat.png',
  ]) {
    const s = readPhotoStats(join(TUXPAINT_STAMPS, drawing));
    assert.match(
      String(rejectReason(s)),
      /drawing/,
      `${drawing} is a drawing (flat share ${s.flat.toFixed(3)})`,
    );
  }
});

test('photo statistics on generated images: flat fills are drawings, noise is not', () => {
  const w = 100;
  const h = 100;
  const flat = new Uint8Array(w * h * 4);
  const noisy = new Uint8Array(w * h * 4);
  let seed = 1;
  for (let i = 0; i < w * h; i++) {
    flat.set([200, 40, 40, 255], i * 4);
    seed = (seed * 1103515245 + 12345) >>> 0;
    noisy.set([100 + (seed % 40), 90 + ((seed >> 8) % 40), 80 + ((seed >> 16) % 40), 255], i * 4);
  }
  assert.match(String(rejectReason(photoStats({ width: w, height: h, data: flat }))), /drawing/);
  assert.equal(rejectReason(photoStats({ width: w, height: h, data: noisy })), null);
  const tiny = photoStats({ width: 40, height: 40, data: noisy.subarray(0, 40 * 40 * 4) });
  assert.match(String(rejectReason(tiny)), /too small/);
});

test('photos: every class has train and test photos, and they are disjoint', { skip: noStamps }, () => {
  const { search, classes } = demoPhotos(4);
  assert.deepEqual(classes, ['animal', 'food', 'plant', 'vehicle']);
  assert.ok(!search.photos.some((p) => /cartoon|\/symbols\/|_mirror/.test(p.path)));
  const split = splitPhotos(search.photos, 1 / 3, 0);
  for (const c of classes) {
    const train = split.train.get(c) ?? [];
    const testP = split.test.get(c) ?? [];
    assert.ok(train.length >= 2 && testP.length >= 1, `${c}: ${train.length} train, ${testP.length} test`);
    const names = new Set(train.map((p) => p.path));
    assert.ok(
      testP.every((p) => !names.has(p.path)),
      `${c}: a test photo is also a training photo`,
    );
  }
  // deterministic for a seed
  const again = splitPhotos(findPhotos().photos, 1 / 3, 0);
  assert.deepEqual(
    again.test.get('food')?.map((p) => p.path),
    split.test.get('food')?.map((p) => p.path),
  );
});

test('sharePhotos: the first k training photos of each class, for train and test alike', () => {
  const photo = (label: string, i: number): Photo => ({
    path: `/stamps/${label}/${i}.png`,
    label,
    stats: { width: 60, height: 60, opaque: 3600, coverage: 1, flat: 0 },
  });
  const split = {
    train: new Map([
      ['animal', [0, 1, 2, 3, 4].map((i) => photo('animal', i))],
      ['food', [0, 1].map((i) => photo('food', i))],
    ]),
    test: new Map([
      ['animal', [5, 6].map((i) => photo('animal', i))],
      ['food', [2].map((i) => photo('food', i))],
    ]),
  };
  const shared = sharePhotos(split, 3);
  const paths = (m: Map<string, Photo[]>, c: string) => (m.get(c) ?? []).map((p) => p.path);
  assert.deepEqual(paths(shared.train, 'animal'), [
    '/stamps/animal/0.png',
    '/stamps/animal/1.png',
    '/stamps/animal/2.png',
  ]);
  assert.deepEqual(paths(shared.test, 'animal'), paths(shared.train, 'animal'));
  // a class with fewer training photos than k keeps them all; the held-out test photos are never used
  assert.deepEqual(paths(shared.test, 'food'), ['/stamps/food/0.png', '/stamps/food/1.png']);
  assert.equal(paths(split.train, 'animal').length, 5, 'the held-out split is left as it was');
  assert.throws(() => sharePhotos(split, 0), /integer ≥ 1/);
  assert.throws(() => sharePhotos(split, 1.5), /integer ≥ 1/);
});

const box = (x: number, y: number, w: number, h: number, width: number, height: number) => ({
  cue: { start: 0, end: 1, x, y, w, h },
  frame: { width, height },
});

test('cueCells on 4:3, 16:9 and portrait: whole frame stretched and centre square', () => {
  const whole: [number, number, number, number] = [0, 0, 1, 1];
  // whole frame stretched: cells are W/7 × H/7 of the frame
  assert.deepEqual(cueCells(box(64, 48, 112, 84, 448, 336), 7, 7, whole), [8, 9, 15, 16]); // 4:3, cell 64×48
  assert.deepEqual(cueCells(box(320, 180, 112, 63, 448, 252), 7, 7, whole), [40, 41, 47, 48]); // 16:9, cell 64×36
  assert.deepEqual(cueCells(box(0, 0, 63, 112, 252, 448), 7, 7, whole), [0, 1, 7, 8]); // portrait, cell 36×64
  // centre square of the short side (today's default pack)
  assert.deepEqual(centreSquareRegion(448, 336), [56 / 448, 0, 1 - 56 / 448, 1]);
  assert.deepEqual(centreSquareRegion(252, 448), [0, 98 / 448, 1, 1 - 98 / 448]);
  const sq43 = centreSquareRegion(448, 336); // cells 48×48 from x = 56
  assert.deepEqual(cueCells(box(0, 0, 112, 84, 448, 336), 7, 7, sq43), [0, 1, 7, 8]);
  assert.deepEqual(
    cueCells(box(0, 0, 56, 84, 448, 336), 7, 7, sq43),
    [],
    'left of the square: not in the grid',
  );
  const sq169 = centreSquareRegion(448, 252); // cells 36×36 from x = 98
  assert.deepEqual(cueCells(box(98, 0, 112, 63, 448, 252), 7, 7, sq169), [0, 1, 2, 3, 7, 8, 9]);
  const sqPortrait = centreSquareRegion(252, 448); // cells 36×36 from y = 98
  assert.deepEqual(cueCells(box(0, 0, 63, 112, 252, 448), 7, 7, sqPortrait), [0, 1]);
  assert.deepEqual(dilateCells([0], 7, 7), [0, 1, 7, 8]);
  assert.equal(dilateCells([24], 7, 7).length, 9);
});

test('focusScores: hit, pointing at the top-β snippet with one cell of tolerance, chance levels', () => {
  const snippets = sampleSnippets(16, 16, 8, 10);
  const v = {
    key: 'a.mp4',
    label: 'x',
    split: 'test' as const,
    file: 'a.mp4',
    ...box(0, 0, 112, 84, 448, 336),
    photo: { path: 'p.png', x: 0, y: 0, w: 112, h: 84, card: false },
    footage: { path: 'f.mp4', start: 0, hflip: false },
  };
  v.cue.start = 4.04;
  v.cue.end = 5.96; // snippets 4 and 5
  const whole = () => [0, 0, 1, 1] as [number, number, number, number];
  const result = (top: number, peak: number, at = top) => {
    const beta = new Array(16).fill(0.01);
    beta[top] = 0.85;
    const alpha = Array.from({ length: 16 }, () => new Array(49).fill(1 / 49));
    alpha[at] = new Array(49).fill(0.01);
    alpha[at][peak] = 0.52;
    return focusScores(
      [{ key: 'a.mp4', label: 'x', predicted: 'x', probs: [1], beta, alpha: { object: alpha }, snippets }],
      new Map([['a.mp4', v]]),
      { H: 7, W: 7 },
      1,
      whole,
    );
  };
  // the box covers cells 0, 1, 7, 8 (cell 64×48); ± one cell adds 2, 9, 14, 15, 16
  const s = result(4, 8);
  assert.equal(s.temporalHit, 1);
  assert.equal(s.pointing, 1);
  assert.equal(s.temporalChance, 2 / 16);
  assert.equal(s.pointingChance, 9 / 49);
  assert.equal(result(5, 16).pointing, 1, 'one cell off the box still points');
  assert.equal(result(5, 24).pointing, 0, 'two cells off does not');
  assert.equal(result(10, 8).temporalHit, 0);
  assert.equal(result(10, 8, 4).pointing, 0, 'the peak is read at the top-β snippet');
  // fitted without the cue: classified right while the top-β snippet misses it
  const out = (top: number, predicted: string) => {
    const beta = new Array(16).fill(0.01);
    beta[top] = 0.85;
    return { key: 'a.mp4', label: 'x', predicted, probs: [1], beta, alpha: {}, snippets };
  };
  const truth = new Map([['a.mp4', v]]);
  assert.equal(fittedWithoutCue([out(10, 'x')], truth), 1);
  assert.equal(fittedWithoutCue([out(4, 'x')], truth), 0, 'on the cue');
  assert.equal(fittedWithoutCue([out(10, 'y')], truth), 0, 'wrong: not fitted');
});

function makeClip(path: string, seconds: number, source: string): void {
  lavfiClip(path, `${source}:d=${seconds}`, [...X264_FAST, '-pix_fmt', 'yuv420p']);
}

/**
 * Still footage, two clips (so one is held out): any change inside the box is the photo. Made once
 * for the file: the generator only reads it.
 */
let stillDir = '';
function stillFootage(): string {
  if (!stillDir) {
    stillDir = join(tmp, 'clips');
    mkdirSync(stillDir, { recursive: true });
    makeClip(join(stillDir, 'a.mp4'), 6, 'smptebars=s=640x360:r=10');
    makeClip(join(stillDir, 'b.mp4'), 4, 'color=c=0x406080:s=480x360:r=10');
  }
  return stillDir;
}

test('generator: the photo is where truth.json says, only in its interval; photos and footage held out', {
  skip: noStamps,
}, async () => {
  const footage = stillFootage();
  const spec = { ...DEFAULT_FOCUS, classes: 2, perClass: 6, duration: 4, T: 4, testFraction: 1 / 3, seed: 3 };
  const ds = await buildFocusDataset(join(tmp, 'ds'), spec, { footage });
  assert.equal(ds.videos.length, 12);
  const manifest = readFileSync(ds.manifest, 'utf8').trim().split('\n');
  assert.equal(manifest[0], 'video,label,split');
  assert.equal(manifest.length, 13);
  const truth = readFocusTruth(ds.dir);
  assert.equal(truth.videos.length, 12);
  // held out: photos and footage of the test videos never appear in training
  const trainPhotos = new Set(truth.videos.filter((v) => v.split === 'train').map((v) => v.photo.path));
  const testVideos = truth.videos.filter((v) => v.split === 'test');
  assert.ok(testVideos.length === 4 && testVideos.every((v) => !trainPhotos.has(v.photo.path)));
  const trainClips = new Set(truth.videos.filter((v) => v.split === 'train').map((v) => v.footage.path));
  assert.ok(
    testVideos.every((v) => !trainClips.has(v.footage.path)),
    'test footage is held out',
  );
  assert.deepEqual(truth.material.footage.test.length, 1);

  const kinds = new Set<string>();
  for (const v of truth.videos) {
    const { width: W, height: H } = v.frame;
    kinds.add(`${W}x${H}`);
    assert.ok(
      Math.abs(v.cue.w - W / 4) <= 1 && Math.abs(v.cue.h - H / 4) <= 1,
      'box is 1/4 × 1/4 of the frame',
    );
    assert.ok(v.cue.x >= 0 && v.cue.y >= 0 && v.cue.x + v.cue.w <= W && v.cue.y + v.cue.h <= H);
    const p = v.photo;
    assert.ok(
      p.x >= v.cue.x && p.y >= v.cue.y && p.x + p.w <= v.cue.x + v.cue.w && p.y + p.h <= v.cue.y + v.cue.h,
    );
  }
  assert.ok(kinds.size >= 2, `several frame shapes: ${[...kinds].join(', ')}`);
  for (const v of truth.videos.slice(0, 4)) await assertPhotoWhereTruthSays(ds.dir, v, 4);
});

test('generator with sharedPhotos: test videos show the training photos, k per class; held out again, they are re-rendered', {
  skip: noStamps,
}, async () => {
  const footage = stillFootage();
  const dir = join(tmp, 'shared-photos');
  const spec = { ...DEFAULT_FOCUS, classes: 2, perClass: 6, duration: 4, T: 4, testFraction: 1 / 3, seed: 5 };
  const ds = await buildFocusDataset(dir, spec, { footage, sharedPhotos: 2 });
  const truth = readFocusTruth(dir);
  assert.equal(truth.material.photos.shared, 2);
  for (const c of ds.classes) {
    const of = (split: string) =>
      new Set(truth.videos.filter((v) => v.label === c && v.split === split).map((v) => v.photo.path));
    const train = of('train');
    const testP = of('test');
    assert.equal(train.size, 2, `${c}: the training videos show 2 photos`);
    assert.ok(
      [...testP].every((p) => train.has(p)),
      `${c}: every test photo is a training photo`,
    );
    assert.deepEqual(truth.material.photos.perClass[c].train, 2);
    assert.deepEqual(truth.material.photos.perClass[c].test, 2);
  }
  for (const v of truth.videos.filter((x) => x.split === 'test').slice(0, 2))
    await assertPhotoWhereTruthSays(dir, v, 4);
  // the same folder without sharedPhotos: the test videos get new photos, so new files
  const held = await buildFocusDataset(dir, spec, { footage });
  assert.equal(readFocusTruth(dir).material.photos.shared, undefined);
  const sharedTest = new Set(ds.videos.filter((v) => v.split === 'test').map((v) => v.file));
  const heldTest = held.videos.filter((v) => v.split === 'test');
  assert.ok(heldTest.every((v) => !sharedTest.has(v.file) && existsSync(join(dir, v.file))));
  const trainPhotos = new Set(held.videos.filter((v) => v.split === 'train').map((v) => v.photo.path));
  assert.ok(heldTest.every((v) => !trainPhotos.has(v.photo.path)));
});

/** Decode a frame inside the cue interval and one after it: the photo's box changes, the rest not. */
async function assertPhotoWhereTruthSays(dir: string, v: FocusVideo, duration: number): Promise<void> {
  const { decodeFrames, probe } = await import('../../src/video/index.js');
  const path = join(dir, v.file);
  const info = await probe(path);
  assert.ok(Math.abs(info.duration - duration) < 0.3);
  assert.equal(info.width, v.frame.width);
  const mid = (v.cue.start + v.cue.end) / 2;
  const [inside, outside] = await decodeFrames(
    path,
    [mid, v.cue.end + 0.5],
    { width: v.frame.width, height: v.frame.height, mode: 'stretch' },
    info,
  );
  const diff = (x0: number, y0: number, x1: number, y1: number) => {
    let s = 0;
    let n = 0;
    for (let y = Math.round(y0); y < Math.round(y1); y++)
      for (let x = Math.round(x0); x < Math.round(x1); x++) {
        const i = (y * inside.width + x) * 3;
        s += Math.abs(inside.data[i] - outside.data[i]) + Math.abs(inside.data[i + 1] - outside.data[i + 1]);
        s += Math.abs(inside.data[i + 2] - outside.data[i + 2]);
        n++;
      }
    return s / n / 3;
  };
  const p = v.photo;
  const inPhoto = diff(p.x + p.w * 0.3, p.y + p.h * 0.3, p.x + p.w * 0.7, p.y + p.h * 0.7);
  // a band of the frame away from the box
  const far =
    v.cue.y > v.frame.height / 2
      ? [0, 0, v.frame.width, 8]
      : [0, v.frame.height - 8, v.frame.width, v.frame.height];
  const elsewhere = diff(far[0], far[1], far[2], far[3]);
  assert.ok(inPhoto > 12, `${v.file}: the photo changes its box (mean Δ ${inPhoto.toFixed(1)})`);
  assert.ok(elsewhere < 4, `${v.file}: nothing changes away from the box (mean Δ ${elsewhere.toFixed(1)})`);
}

test("a demo folder rebuilt with another seed renders that seed's videos (never the cached ones of the first); the same seed reuses them", {
  skip: noStamps,
}, async () => {
  const footage = stillFootage();
  const dir = join(tmp, 'reseed');
  const spec = { ...DEFAULT_FOCUS, classes: 2, perClass: 3, duration: 4, T: 4, testFraction: 1 / 3 };
  const first = await buildFocusDataset(dir, { ...spec, seed: 1 }, { footage });
  const second = await buildFocusDataset(dir, { ...spec, seed: 2 }, { footage });
  // the seeds place the photos differently, so each video of the second plan is its own file
  const firstFiles = new Set(first.videos.map((v) => v.file));
  assert.ok(
    second.videos.every((v) => !firstFiles.has(v.file)),
    'no file name is shared across seeds',
  );
  const truth = readFocusTruth(dir);
  assert.deepEqual(
    truth.videos.map((v) => v.file),
    second.videos.map((v) => v.file),
  );
  for (const v of truth.videos) await assertPhotoWhereTruthSays(dir, v, 4);
  // the first seed's videos are gone; the manifest names only files that exist
  for (const f of firstFiles) assert.ok(!existsSync(join(dir, f)), `${f} removed`);
  // the same plan again renders nothing: every file keeps its modification time
  const mtimes = second.videos.map((v) => statSync(join(dir, v.file)).mtimeMs);
  let rendered = 0;
  const again = await buildFocusDataset(dir, { ...spec, seed: 2 }, { footage, onProgress: () => rendered++ });
  assert.deepEqual(
    again.videos.map((v) => statSync(join(dir, v.file)).mtimeMs),
    mtimes,
  );
  assert.equal(rendered, again.videos.length, 'progress still counts every video');
});

test('clear errors when no material is found', async () => {
  const empty = join(tmp, 'empty');
  mkdirSync(empty, { recursive: true });
  const code = (e: unknown) => (isDfanError(e) ? `${e.code}: ${e.oneLine()}` : String(e));
  await assert.rejects(
    () => findFootage({ defaultDir: empty, plasma: join(empty, 'w'), backgrounds: join(empty, 'b') }),
    (e) => /MATERIAL_MISSING.*plasma-workspace-wallpapers/.test(code(e)),
  );
  await assert.rejects(
    () => findFootage({ dir: empty }),
    (e) => /MATERIAL_MISSING.*no readable video clip/.test(code(e)),
  );
  await assert.rejects(
    () => findFootage({ dir: join(empty, 'nope') }),
    (e) => /NOT_FOUND/.test(code(e)),
  );
  assert.throws(
    () => demoPhotos(4, join(empty, 'stamps')),
    (e) => /MATERIAL_MISSING.*apt-get install tuxpaint-stamps-default/.test(code(e)),
  );
  // footage hold-out needs ≥ 2 sources
  const one = [{ kind: 'clip' as const, path: 'a', width: 1, height: 1, duration: 3 }];
  assert.deepEqual(splitFootage(one), { train: one, test: one });
  // five clips: a third held out by default, all in both splits when shared
  const five = [3, 9, 5, 7, 4].map((duration, i) => ({
    kind: 'clip' as const,
    path: `c${i}`,
    width: 1,
    height: 1,
    duration,
  }));
  const held = splitFootage(five);
  assert.deepEqual(
    held.test.map((c) => c.duration),
    [7, 3],
  );
  assert.equal(held.train.length, 3);
  assert.ok(
    held.train.every((c) => !held.test.includes(c)),
    'held-out clips are not trained on',
  );
  assert.deepEqual(splitFootage(five, true), { train: five, test: five });
});

// End to end on real material, as `npx dfan demo` runs (smaller): dual has to find when and where
// the photo is, mean has no focus to find it with, and the report shows it with these figures.
test('dfan demo --quick end to end: dual finds when and where the photo is, and the summary reports it', {
  skip: needSlow() || noStamps,
  timeout: 3_600_000,
}, async (t) => {
  const r = await runDemo({ out: join(tmp, 'demo'), quick: true, log: () => {} });
  const { mean, dual } = r.scores;
  t.diagnostic(
    `mean ${JSON.stringify(mean)}; dual ${JSON.stringify(dual)}; ceiling ${JSON.stringify(r.cueCeiling)}`,
  );
  assert.deepEqual([mean.n, dual.n, r.trainFocus.n], [15, 15, 30], '45 videos: 15 test, 30 training');
  assert.deepEqual(Object.keys(r.material.photos.perClass), ['animal', 'food', 'plant']);
  // chance levels: the photo shows during 2 of 16 snippets; a third of the videos per class
  assert.equal(dual.temporalChance, 2 / 16);
  assert.ok(
    dual.pointingChance > 0.05 && dual.pointingChance < 0.3,
    `pointing chance ${dual.pointingChance}`,
  );
  // the focus: dual's top snippet and its peak cell land on the photo far above chance (6 of 15
  // or more: a focus landing at random does so with p < 0.01; this seed gives 7 and 9 of 15 here,
  // the full demo 46 and 47 of 48); mean, with a uniform β and no α, never points at it
  assert.ok(dual.temporalHit >= 0.4, `dual temporal hit ${dual.temporalHit} (chance 0.125)`);
  assert.ok(dual.pointing >= 0.4, `dual pointing ${dual.pointing} (chance ${dual.pointingChance})`);
  assert.equal(mean.pointing, 0);
  // the cue ceiling: the features name the photo above chance when told where it is
  assert.ok(
    r.cueCeiling && r.cueCeiling.n === 15 && r.cueCeiling.accuracy > 1 / 3,
    JSON.stringify(r.cueCeiling),
  );
  // the summary says these figures, and the run folders hold what it says
  const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
  const md = readFileSync(r.summaryMd, 'utf8');
  assert.match(md, /not an emotion dataset/i);
  assert.ok(
    md.includes(`| dual | ${pct(dual.accuracy)} | ${pct(dual.temporalHit)} | ${pct(dual.pointing)} |`),
    md,
  );
  assert.ok(md.includes(`| mean | ${pct(mean.accuracy)} |`));
  assert.ok(
    md.includes(`| chance | ${pct(1 / 3)} | ${pct(dual.temporalChance)} | ${pct(dual.pointingChance)} |`),
  );
  assert.match(md, /dual on its own 30 training videos: accuracy [\d.]+ %, temporal hit [\d.]+ %/);
  assert.deepEqual(
    JSON.parse(readFileSync(join(r.out, 'runs', 'dual', 'eval-test.json'), 'utf8')),
    r.metrics.dual,
  );
  // the page shows what dual saw: key frames of its test videos, right and wrong ones
  const html = readFileSync(r.summaryHtml, 'utf8');
  const shown = html.match(/<img class="focus" src="data:image\/png;base64,/g)?.length ?? 0;
  const right = Math.round(dual.accuracy * 15);
  assert.equal(shown, Math.min(3, right) + Math.min(3, 15 - right));
  assert.ok(html.includes(`<td>dual</td><td class="n">${pct(dual.accuracy)}</td>`));
  assert.doesNotMatch(html, /\*\*/);
  assert.equal(r.pack, 'default');
});

test('dfan demo --pack: an unknown pack fails with a hint before any video is made', async () => {
  const out = join(tmp, 'bad-pack');
  await assert.rejects(
    runDemo({ out, pack: 'no-such-pack', log: () => {} }),
    (e: unknown) => isDfanError(e) && /unknown pack "no-such-pack"/.test(e.message) && !!e.hint,
  );
  assert.equal(existsSync(join(out, 'dataset')), false);
});

/**
 * Wallpapers to pan across: Debian's plasma-workspace-wallpapers when installed, else a folder laid
 * out like it (<name>/contents/images/<w>x<h>.jpg, every file named alike) holding stills of the real
 * clips in ../shared/media. A machine has one or the other: .ci/run installs the wallpapers when
 * ../shared/media has no clip.
 */
function wallpaperRoot(): { plasma?: string; what: string } | null {
  if (existsSync(join(PLASMA_WALLPAPERS, 'Path'))) return { what: 'wallpaper photographs' };
  const media = sharedPath('media');
  const clips = existsSync(media)
    ? readdirSync(media)
        .filter((f) => f.endsWith('.mp4'))
        .sort()
    : [];
  if (clips.length < 2) return null;
  const root = join(tmp, 'wallpapers');
  PLASMA_PHOTOS.slice(0, 4).forEach((name, i) => {
    const dir = join(root, name, 'contents', 'images');
    mkdirSync(dir, { recursive: true });
    const clip = join(media, clips[i % clips.length]);
    ffmpeg([
      '-ss',
      '1',
      '-i',
      clip,
      '-frames:v',
      '1',
      '-vf',
      'scale=1280:720',
      '-q:v',
      '3',
      join(dir, '1280x720.jpg'),
    ]);
  });
  return { plasma: root, what: 'wallpaper photographs' };
}

test('no clip: footage falls back to a pan across real wallpaper photographs', async (t) => {
  const walls = wallpaperRoot();
  if (!walls) {
    t.skip(
      `no ${PLASMA_WALLPAPERS} (apt-get install plasma-workspace-wallpapers) and no clips in ${sharedPath('media')}`,
    );
    return;
  }
  const empty = join(tmp, 'no-clips');
  mkdirSync(empty, { recursive: true });
  const found = await findFootage({
    defaultDir: empty,
    plasma: walls.plasma,
    backgrounds: join(empty, 'none'),
  });
  assert.match(found.description, /wallpaper photographs/);
  assert.ok(found.sources.length >= 4 && found.sources.every((s) => s.kind === 'still'));
  const split = splitFootage(found.sources);
  assert.ok(split.test.length >= 1 && split.test.every((s) => !split.train.includes(s)));
  const { prepareFootage } = await import('../../src/demo/footage.js');
  const [a, b] = await Promise.all(
    found.sources.slice(0, 2).map((s) => prepareFootage(s, join(tmp, 'prep'), 10)),
  );
  assert.notEqual(a.path, b.path, 'wallpapers with the same file name get their own working copy');
  const { decodeFrames, probe } = await import('../../src/video/index.js');
  const info = await probe(a.path);
  assert.ok(Math.abs(info.duration - 24) < 0.3);
  const [f1, f2] = await decodeFrames(a.path, [1, 20], { width: 128, height: 72, mode: 'stretch' }, info);
  let d = 0;
  for (let i = 0; i < f1.data.length; i++) d += Math.abs(f1.data[i] - f2.data[i]);
  assert.ok(d / f1.data.length > 2, 'the view moves');
});
