/** The stream check: a vector stream that only noise would be memorised is left out of small-set training. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { syntheticSet } from '../../research/synthetic.js';
import type { VideoFeatures } from '../../src/features/types.js';
import { ridgeLooAccuracies, spdInverse, standardisedMeans } from '../../src/model/ridge.js';
import { checkVectorStreams, permutations } from '../../src/model/stream-check.js';
import { trainRun } from '../../src/model/train-run.js';
import { rng } from '../../src/util/random.js';

/** n videos, k balanced classes; `signal` adds to one channel per class. */
function means(n: number, k: number, D: number, signal: number, seed: number) {
  const random = rng(seed);
  const labels = Array.from({ length: n }, (_, i) => i % k);
  const rows = labels.map((y) =>
    Float64Array.from({ length: D }, (_, c) => (c % k === y && c < 2 * k ? signal : 0) + random() * 2 - 1),
  );
  return { labels, rows };
}

test('spdInverse inverts a positive-definite matrix', () => {
  const A = Float64Array.from([4, 1, 0.5, 1, 3, 0.2, 0.5, 0.2, 2]);
  const inv = spdInverse(A, 3);
  for (let i = 0; i < 3; i++)
    for (let j = 0; j < 3; j++) {
      let s = 0;
      for (let k = 0; k < 3; k++) s += A[i * 3 + k] * inv[k * 3 + j];
      assert.ok(Math.abs(s - (i === j ? 1 : 0)) < 1e-9, `(${i},${j}) = ${s}`);
    }
});

test('the closed-form leave-one-out equals refitting without each video', () => {
  const { labels, rows } = means(18, 3, 5, 1, 3);
  const X = standardisedMeans(rows);
  const lambda = 1;
  const fast = ridgeLooAccuracies(X, [labels], 3, [lambda])[0];
  // brute force: centre on the n−1 others, ridge (kernel form) on them, predict the held-out video
  const n = X.length;
  let trace = 0;
  for (const r of X) for (const v of r) trace += v * v;
  const scale = trace / n;
  let ok = 0;
  for (let i = 0; i < n; i++) {
    const idx = [...Array(n).keys()].filter((j) => j !== i);
    const m = idx.length;
    const K = new Float64Array(m * m);
    for (const [p, a] of idx.entries()) {
      for (const [q, b] of idx.entries()) {
        K[p * m + q] = X[a].reduce((s, v, c) => s + v * X[b][c], 0) + (p === q ? lambda * scale : 0);
      }
    }
    const inv = spdInverse(K, m);
    const prior = [0, 1, 2].map((c) => idx.filter((j) => labels[j] === c).length / n);
    const k = idx.map((j) => X[i].reduce((s, v, c) => s + v * X[j][c], 0));
    const scores = [0, 1, 2].map((c) => {
      const y = idx.map((j) => (labels[j] === c ? 1 : 0) - prior[c]);
      let s = 0;
      for (let p = 0; p < m; p++) for (let q = 0; q < m; q++) s += k[p] * inv[p * m + q] * y[q];
      return s + prior[c];
    });
    if (scores.indexOf(Math.max(...scores)) === labels[i]) ok++;
  }
  // the closed form centres with all n videos (the usual approximation): equal up to a video
  assert.ok(Math.abs(fast - ok / n) <= 1 / n + 1e-9, `closed form ${fast}, refitted ${ok / n}`);
});

test('an informative stream is kept, noise is left out, and shuffled labels do not pass', () => {
  const k = 4;
  const informative = means(96, k, 200, 1.2, 1);
  const noise = means(96, k, 400, 0, 2);
  const checks = checkVectorStreams({ face: informative.rows, context: noise.rows }, informative.labels, k);
  const face = checks.find((c) => c.stream === 'face')!;
  const context = checks.find((c) => c.stream === 'context')!;
  assert.equal(face.kept, true, `face ${face.looAccuracy} vs ${face.threshold}`);
  assert.ok(face.looAccuracy > 0.5);
  assert.equal(context.kept, false, `context ${context.looAccuracy} vs ${context.threshold}`);
  assert.ok(context.threshold >= 0.25 && context.threshold < 0.45, `threshold ${context.threshold}`);
  // the same informative rows under shuffled labels carry nothing
  const [shuffled] = permutations(informative.labels, 1, 99);
  const again = checkVectorStreams({ face: informative.rows }, shuffled, k);
  assert.equal(again[0].kept, false, `shuffled: ${again[0].looAccuracy} vs ${again[0].threshold}`);
  // deterministic
  assert.deepEqual(checkVectorStreams({ context: noise.rows }, informative.labels, k), [context]);
});

test('trainRun on a small set leaves the noise stream out and keeps the one that carries the label', async () => {
  const syn = syntheticSet({
    videos: 60,
    T: 4,
    H: 2,
    W: 2,
    C: 8,
    classes: 3,
    vectors: { action: 16 },
    testFraction: 0,
  });
  const labelOf = new Map(syn.dataset.items.map((i) => [i.key, syn.dataset.classes.indexOf(i.label)]));
  // a `face` stream whose first 3 channels name the class (plus noise): a real signal
  const source = {
    async load(key: string, streams?: string[]): Promise<VideoFeatures> {
      const vf = await syn.source.load(
        key,
        streams?.filter((s) => s !== 'face'),
      );
      if (streams && !streams.includes('face')) return vf;
      const random = rng(key.length * 7919 + (labelOf.get(key) ?? 0) * 31 + Number(key.slice(-3)));
      const T = vf.snippets.length;
      const data = new Float32Array(T * 6);
      for (let t = 0; t < T; t++)
        for (let c = 0; c < 6; c++) data[t * 6 + c] = (c === labelOf.get(key) ? 2 : 0) + random() - 0.5;
      vf.streams.face = { shape: [T, 6], data };
      vf.meta.streams.push({ name: 'face', kind: 'vector', backbone: 'test', description: 'class + noise' });
      return vf;
    },
  };
  const lines: string[] = [];
  const r = await trainRun({
    features: source,
    dataset: syn.dataset,
    model: { variant: 'mean' },
    train: { epochs: 1 },
    log: (l) => lines.push(l),
  });
  const cfg = r.predictor.config;
  assert.deepEqual(cfg.model.streams, ['object', 'face']);
  assert.deepEqual(
    cfg.streamCheck?.map((c) => [c.stream, c.kept]),
    [
      ['action', false],
      ['face', true],
    ],
  );
  assert.ok(
    lines.some((l) => /stream check .*action .*left out/.test(l)),
    lines.join('\n'),
  );
  r.predictor.dispose();

  // asked for, or switched off: every stream stays
  for (const o of [
    { model: { variant: 'mean' as const, streams: ['object', 'action'] } },
    { train: { streamCheck: false } },
  ]) {
    const all = await trainRun({
      features: source,
      dataset: syn.dataset,
      model: { variant: 'mean', ...o.model },
      train: { epochs: 1, ...o.train },
    });
    assert.ok(all.predictor.config.model.streams.includes('action'));
    assert.equal(all.predictor.config.streamCheck, undefined);
    all.predictor.dispose();
  }
});
