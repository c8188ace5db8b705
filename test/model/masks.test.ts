/** The training-time masks: each one's law, and the order they are drawn in (part of a run's reproducibility). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_TRAIN, resolveTrainConfig } from '../../src/model/config.js';
import {
  drawMasks,
  dropoutMask,
  type MaskPlan,
  maskSeed,
  mixMatrix,
  streamKeepMask,
} from '../../src/model/masks.js';
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

const plan: MaskPlan = {
  dropout: 0.5,
  zWidth: 6,
  mapDropout: 0.3,
  streamDropout: 0.4,
  streams: 3,
  projDim: 2,
  mixup: 0.5,
};

test('drawMasks: dropout, map-dropout seed, stream keep mask, mixup, in that order from one PRNG', () => {
  const B = 5;
  const got = drawMasks(B, plan, rng(42));
  const r = rng(42);
  assert.deepEqual(got.dropout, dropoutMask(B * plan.zWidth, plan.dropout, r));
  assert.deepEqual(got.mapDrop, { p: plan.mapDropout, seed: maskSeed(r) });
  assert.deepEqual(got.streamKeep, streamKeepMask(B, plan.streams, plan.projDim, plan.streamDropout, r));
  assert.deepEqual(got.mix, mixMatrix(B, plan.mixup, r));
});

test('drawMasks: a mask that is off draws nothing, so the ones after it are unchanged', () => {
  const B = 4;
  const off = drawMasks(B, { ...plan, dropout: 0, streamDropout: 0 }, rng(9));
  assert.equal(off.dropout, undefined);
  assert.equal(off.streamKeep, undefined);
  const r = rng(9);
  assert.equal(off.mapDrop?.seed, maskSeed(r));
  assert.deepEqual(off.mix, mixMatrix(B, plan.mixup, r));
  // one stream: nothing to drop; one video: nothing to mix
  assert.equal(drawMasks(B, { ...plan, streams: 1 }, rng(1)).streamKeep, undefined);
  assert.equal(drawMasks(1, plan, rng(1)).mix, undefined);
  assert.deepEqual(
    drawMasks(B, { ...plan, dropout: 0, mapDropout: 0, streamDropout: 0, mixup: 0 }, rng(1)),
    {},
  );
});

test('dropoutMask and streamKeepMask keep the expected size: 1/(1−p) scaling, at least one stream per video', () => {
  const d = dropoutMask(100_000, 0.3, rng(3));
  assert.ok(d.every((x) => x === 0 || Math.abs(x - 1 / 0.7) < 1e-6));
  const mean = d.reduce((a, x) => a + x, 0) / d.length;
  assert.ok(Math.abs(mean - 1) < 0.02, `mean keep ${mean}`);
  const [B, S, dw] = [2000, 3, 2];
  const m = streamKeepMask(B, S, dw, 0.6, rng(5));
  let dropped = 0;
  for (let b = 0; b < B; b++) {
    const row = m.subarray(b * S * dw, (b + 1) * S * dw);
    const kept = [0, 1, 2].filter((s) => row[s * dw] > 0);
    assert.ok(kept.length >= 1, `video ${b} keeps a stream`);
    for (const s of kept)
      assert.equal(row[s * dw + 1], S / kept.length, 'a kept stream is scaled by S / kept');
    dropped += S - kept.length;
  }
  // p = 0.6, but a video never loses all three: fewer than 0.6 of the streams go
  assert.ok(dropped / (B * S) > 0.45 && dropped / (B * S) < 0.6, `dropped share ${dropped / (B * S)}`);
});
