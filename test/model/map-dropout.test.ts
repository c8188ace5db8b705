/** Map dropout: what a training batch's maps look like with it, and what stays whole. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { disposeBatch } from '../../src/model/features.js';
import { dropInPlace } from '../../src/model/map-dropout.js';
import { maskSeed } from '../../src/model/masks.js';
import { makeModel, tinySet } from './helpers.js';

test('dropInPlace zeroes a share p of the values, scales the rest by 1/(1−p), and repeats for a seed', () => {
  const n = 200_000;
  const drop = (p: number, seed: number) => {
    const a = new Float32Array(n).fill(2);
    dropInPlace(a, n, p, seed);
    return a;
  };
  for (const p of [0.1, 0.3, 0.5]) {
    const a = drop(p, 12345);
    const zero = a.filter((x) => x === 0).length / n;
    assert.ok(Math.abs(zero - p) < 0.01, `p ${p}: ${zero} dropped`);
    assert.ok(
      a.every((x) => x === 0 || Math.abs(x - 2 / (1 - p)) < 1e-5),
      'kept values are scaled',
    );
    const mean = a.reduce((s, x) => s + x, 0) / n;
    assert.ok(Math.abs(mean - 2) < 0.03, `p ${p}: mean ${mean} stays 2`);
  }
  assert.deepEqual(drop(0.3, 7), drop(0.3, 7));
  assert.notDeepEqual(drop(0.3, 7), drop(0.3, 8));
  assert.ok(
    drop(0, 7).every((x) => x === 2),
    'p = 0 changes nothing',
  );
  const rest = new Float32Array(10).fill(1);
  dropInPlace(rest, 4, 0.9, 3);
  assert.ok(
    rest.subarray(4).every((x) => x === 1),
    'only the first n values',
  );
  assert.throws(() => dropInPlace(rest, 4, 1, 3), /\[0, 1\)/);
  assert.ok(maskSeed(() => 0) !== 0, 'a seed is never 0 (xorshift would stay at 0)');
});

test('a batch with map dropout: its maps and scored channels dropped alike, cell means and pooled values whole', async () => {
  const { tf, syn, set } = await tinySet({ C: 12 }, 6);
  const model = makeModel(tf, set, syn.dataset.classes, { variant: 'dual', spatialScoreDim: 3 });
  const idx = [...Array(set.size).keys()];
  const plain = set.batch(tf, idx, { maps: true, scoreDims: model.scoreDims() });
  const dropped = set.batch(tf, idx, {
    maps: true,
    scoreDims: model.scoreDims(),
    mapDrop: { p: 0.5, seed: 99 },
  });
  const m0 = plain.maps.object.dataSync();
  const m1 = dropped.maps.object.dataSync();
  const zeroed = m1.filter((x, i) => x === 0 && m0[i] !== 0).length / m1.length;
  assert.ok(zeroed > 0.4 && zeroed < 0.6, `${zeroed} of the map values dropped`);
  m1.forEach((x, i) => {
    if (x !== 0) assert.ok(Math.abs(x - 2 * m0[i]) < 1e-5 * (1 + Math.abs(x)));
  });
  // the scorer's leading channels are those of the dropped map, not of the stored one
  const [B, T, N, D] = dropped.maps.object.shape;
  const s1 = dropped.scored?.object.dataSync();
  assert.ok(s1);
  for (let cell = 0; cell < B * T * N; cell++)
    for (let c = 0; c < 3; c++) assert.equal(s1[cell * 3 + c], m1[cell * D + c]);
  assert.deepEqual(dropped.cellMeans?.object.dataSync(), plain.cellMeans?.object.dataSync());
  assert.deepEqual(dropped.pooled.object.dataSync(), plain.pooled.object.dataSync());
  disposeBatch(plain);
  disposeBatch(dropped);
  model.dispose();
});
