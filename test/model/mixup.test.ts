import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_TRAIN, resolveTrainConfig } from '../../src/model/config.js';
import { mixMatrix } from '../../src/model/masks.js';
import { rng } from '../../src/util/random.js';

test('mixMatrix: each row mixes a video with at most one partner, its own weight ≥ 1 − s/2, rows sum to 1', () => {
  for (const s of [0.4, 1]) {
    const B = 32;
    const m = mixMatrix(B, s, rng(7));
    let mixed = 0;
    for (let b = 0; b < B; b++) {
      const row = Array.from(m.subarray(b * B, (b + 1) * B));
      const nonzero = row.filter((x) => x > 0);
      assert.ok(nonzero.length <= 2, `row ${b} mixes ${nonzero.length} videos`);
      assert.ok(Math.abs(row.reduce((a, x) => a + x, 0) - 1) < 1e-6, `row ${b} sums to 1`);
      assert.ok(row[b] >= 1 - s / 2 - 1e-6 && row[b] <= 1, `own weight ${row[b]} for s = ${s}`);
      if (row[b] < 1) mixed++;
    }
    // a random permutation leaves about one video in place: almost every video is mixed
    assert.ok(mixed >= B - 4, `only ${mixed} of ${B} videos mixed`);
  }
});

test('mixMatrix: strength 0 or a single video is the identity; same seed, same matrix', () => {
  const id = mixMatrix(4, 0, rng(1));
  assert.deepEqual(Array.from(id), [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
  assert.deepEqual(Array.from(mixMatrix(1, 1, rng(1))), [1]);
  assert.deepEqual(mixMatrix(16, 1, rng(3)), mixMatrix(16, 1, rng(3)));
  assert.notDeepEqual(mixMatrix(16, 1, rng(3)), mixMatrix(16, 1, rng(4)));
});

test('mixup is off by default and a strength outside [0, 1] is refused with its name', () => {
  assert.equal(DEFAULT_TRAIN.mixup, 0);
  assert.equal(resolveTrainConfig({ mixup: 1 }).mixup, 1);
  assert.throws(() => resolveTrainConfig({ mixup: 1.5 }), /mixup strength must be in \[0, 1\]/);
  assert.throws(() => resolveTrainConfig({ mixup: -0.1 }), /mixup/);
});
