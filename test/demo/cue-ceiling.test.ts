/** The demo's cue ceiling: cue geometry, pooling, and a ridge classifier that is told where the cue is. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cueCeiling, cueCellWeights, cueFeature, cueSnippets } from '../../src/demo/cue-ceiling.js';
import type { FocusVideo } from '../../src/demo/spec.js';
import type { Region, SnippetTimes } from '../../src/features/types.js';
import { fitRidgeClassifier, fitStandardiser, groupIndices, spdInverse } from '../../src/model/ridge.js';
import { rng } from '../../src/util/random.js';

const whole: Region = [0, 0, 1, 1];
const box = (x: number, y: number, w: number, h: number, width: number, height: number) => ({
  cue: { start: 4, end: 6, x, y, w, h },
  frame: { width, height },
});
const snippets = (T: number): SnippetTimes[] =>
  Array.from({ length: T }, (_, t) => ({ start: t, end: t + 1, keyTime: t + 0.5 }));

test('cueCellWeights: the share of each cell under the box, on 4:3, 16:9 and portrait', () => {
  for (const [width, height] of [
    [320, 240],
    [384, 216],
    [216, 384],
  ]) {
    const H = 8;
    const W = 8;
    const cw = width / W;
    const ch = height / H;
    // a box of 1.5 × 1.5 cells starting at cell (2, 3): one full cell, halves, and a quarter
    const w = cueCellWeights(box(3 * cw, 2 * ch, 1.5 * cw, 1.5 * ch, width, height), H, W, whole);
    assert.ok(Math.abs(w[2 * W + 3] - 1) < 1e-9);
    assert.ok(Math.abs(w[2 * W + 4] - 0.5) < 1e-9);
    assert.ok(Math.abs(w[3 * W + 3] - 0.5) < 1e-9);
    assert.ok(Math.abs(w[3 * W + 4] - 0.25) < 1e-9);
    const total = w.reduce((s, x) => s + x, 0);
    assert.ok(Math.abs(total - 2.25) < 1e-9, `${width}×${height}: ${total}`);
  }
  // a grid spanning the centre square of a 16:9 frame: a box in the left margin covers no cell
  const sq: Region = [(384 - 216) / 2 / 384, 0, 1 - (384 - 216) / 2 / 384, 1];
  assert.equal(
    cueCellWeights(box(0, 0, 60, 50, 384, 216), 7, 7, sq).reduce((s, x) => s + x, 0),
    0,
  );
});

test('cueSnippets: key frames inside the cue interval, else the one nearest its middle', () => {
  assert.deepEqual(cueSnippets(snippets(16), { start: 4, end: 6 }), [4, 5]);
  assert.deepEqual(cueSnippets(snippets(16), { start: 4.6, end: 4.9 }), [4]);
});

test('cueFeature pools the map under the box at the cue snippets, and nothing else', () => {
  const [T, H, W, C] = [8, 4, 4, 3];
  const data = new Float32Array(T * H * W * C).fill(-5);
  // the cue: cells (1,1),(1,2) in snippets 4 and 5 hold [1,2,3]
  for (const t of [4, 5]) for (const i of [1 * W + 1, 1 * W + 2]) data.set([1, 2, 3], (t * H * W + i) * C);
  const v = box(40, 40, 80, 40, 160, 160); // cells of 40×40: exactly (1,1) and (1,2)
  const x = cueFeature({ shape: [T, H, W, C], data }, snippets(T), v, whole);
  assert.deepEqual(Array.from(x), [1, 2, 3]);
});

test('fitRidgeClassifier names held-out rows of separable classes and picks λ by leave-one-out', () => {
  const random = rng(4);
  const proto = [0, 1, 2].map(() => Array.from({ length: 10 }, () => random() * 2 - 1));
  const row = (y: number) => Float64Array.from(proto[y], (p) => 2 * p + (random() - 0.5));
  const labels = Array.from({ length: 30 }, (_, i) => i % 3);
  const st = fitStandardiser(labels.map(row));
  const train = labels.map((y) => st.apply(row(y)));
  const ridge = fitRidgeClassifier(train, labels, 3);
  assert.ok([0.3, 1, 3, 10].includes(ridge.lambda));
  assert.ok(ridge.looAccuracy >= 0.9, `loo ${ridge.looAccuracy}`);
  const test = Array.from({ length: 30 }, (_, i) => i % 3);
  const ok = test.filter((y) => ridge.predict(st.apply(row(y))) === y).length;
  assert.ok(ok >= 27, `${ok}/30`);
});

/** Rows of `photos` random vectors shown `copies` times each (small noise), labels unrelated to them. */
function copiedPhotos(photos: number, copies: number, seed: number) {
  const random = rng(seed);
  const D = 30;
  const X: Float64Array[] = [];
  const labels: number[] = [];
  const keys: string[] = [];
  for (let p = 0; p < photos; p++) {
    const base = Array.from({ length: D }, () => random() * 2 - 1);
    const label = Math.floor(random() * 4);
    for (let k = 0; k < copies; k++) {
      X.push(Float64Array.from(base, (b) => b + 0.05 * (random() - 0.5)));
      labels.push(label);
      keys.push(`photo${p}`);
    }
  }
  const st = fitStandardiser(X);
  return { X: X.map((r) => st.apply(r)), labels, groups: groupIndices(keys) };
}

test('leaving a group out, in closed form, equals refitting without the group', () => {
  const { X, labels, groups } = copiedPhotos(15, 3, 5);
  // groups of 1 to 3 rows: split some photos' copies apart
  const mixed = groups.flatMap((g, i) => (i % 3 === 0 ? g.map((r) => [r]) : [g]));
  const n = X.length;
  const lambda = 1;
  const fast = fitRidgeClassifier(X, labels, 4, [lambda], mixed).looAccuracy;
  let trace = 0;
  for (const r of X) for (const v of r) trace += v * v;
  const scale = trace / n;
  const prior = [0, 1, 2, 3].map((c) => labels.filter((y) => y === c).length / n);
  const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, v, c) => s + v * b[c], 0);
  let ok = 0;
  for (const g of mixed) {
    const rest = [...Array(n).keys()].filter((j) => !g.includes(j));
    const m = rest.length;
    const K = new Float64Array(m * m);
    for (const [p, a] of rest.entries())
      for (const [q, b] of rest.entries()) K[p * m + q] = dot(X[a], X[b]) + (p === q ? lambda * scale : 0);
    const inv = spdInverse(K, m);
    for (const i of g) {
      const k = rest.map((j) => dot(X[i], X[j]));
      const scores = [0, 1, 2, 3].map((c) => {
        let s = 0;
        for (let p = 0; p < m; p++)
          for (let q = 0; q < m; q++)
            s += k[p] * inv[p * m + q] * ((labels[rest[q]] === c ? 1 : 0) - prior[c]);
        return s + prior[c];
      });
      if (scores.indexOf(Math.max(...scores)) === labels[i]) ok++;
    }
  }
  assert.ok(Math.abs(fast - ok / n) < 1e-12, `closed form ${fast}, refitted ${ok / n}`);
});

test('copies of one photo make leave-one-out optimistic; leaving the photo out does not', () => {
  const { X, labels, groups } = copiedPhotos(40, 2, 11);
  const perRow = fitRidgeClassifier(X, labels, 4, [0.3]);
  const perPhoto = fitRidgeClassifier(X, labels, 4, [0.3], groups);
  // the labels carry nothing a new photo could show: only a copy of the same photo gives it away
  assert.ok(perRow.looAccuracy >= 0.6, `leave one row out: ${perRow.looAccuracy}`);
  assert.ok(perPhoto.looAccuracy <= 0.4, `leave one photo out: ${perPhoto.looAccuracy}`);
});

/** Videos whose class is a prototype vector under the cue box at the cue snippets, over noise. */
function cueVideos(n: number, seed: number) {
  const random = rng(seed);
  const [T, H, W, C, k] = [8, 8, 8, 12, 4];
  const classes = ['a', 'b', 'c', 'd'];
  const proto = classes.map(() => Array.from({ length: C }, () => random() * 2 - 1));
  const videos: FocusVideo[] = [];
  const maps = new Map<string, Float32Array>();
  for (let i = 0; i < n; i++) {
    const [width, height] = [320, 240];
    const x = Math.floor(random() * (width * 0.75));
    const y = Math.floor(random() * (height * 0.75));
    const t0 = 1 + Math.floor(random() * (T - 3));
    const v: FocusVideo = {
      key: `v${i}`,
      label: classes[i % k],
      split: i % 3 === 2 ? 'test' : 'train',
      file: `v${i}.mp4`,
      cue: { start: t0, end: t0 + 2, x, y, w: width / 4, h: height / 4 },
      frame: { width, height },
      photo: { path: `p${i % 48}.png`, x, y, w: width / 4, h: height / 4, card: true },
      footage: { path: 'f.mp4', start: 0, hflip: false },
    };
    const w = cueCellWeights(v, H, W, whole);
    const data = new Float32Array(T * H * W * C);
    for (let t = 0; t < T; t++)
      for (let c = 0; c < H * W; c++)
        for (let d = 0; d < C; d++) {
          const cue = t >= t0 && t < t0 + 2 ? w[c] * proto[i % k][d] : 0;
          data[(t * H * W + c) * C + d] = 1.5 * cue + (random() - 0.5);
        }
    videos.push(v);
    maps.set(v.key, data);
  }
  const load = async (v: FocusVideo) => ({
    map: { shape: [T, H, W, C], data: maps.get(v.key)! },
    snippets: snippets(T),
  });
  return { videos, classes, load };
}

test('cueCeiling: told where the cue is it names held-out videos; told a wrong place it is near chance', async () => {
  const { videos, classes, load } = cueVideos(96, 7);
  const p = await cueCeiling(videos, classes, load, () => whole);
  assert.ok(p);
  assert.equal(p.n, 32);
  assert.equal(p.trainN, 64);
  assert.ok(p.accuracy >= 0.9, `accuracy ${p.accuracy}`);
  // the same maps, but the truth points half a frame away: no cue there
  const half = (x: number, side: number) => (x < side * 0.375 ? x + side / 2 : x - side / 2);
  const moved = videos.map((v) => ({ ...v, cue: { ...v.cue, x: half(v.cue.x, v.frame.width) } }));
  const off = await cueCeiling(moved, classes, load, () => whole);
  assert.ok(off);
  assert.ok(off.accuracy <= 0.5, `accuracy with the wrong box ${off.accuracy}`);
});
