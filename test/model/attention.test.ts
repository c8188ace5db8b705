import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VARIANTS } from '../../src/model/config.js';
import { disposeBatch } from '../../src/model/features.js';
import { makeModel, tinySet } from './helpers.js';

test('β sums to 1 over real snippets, padded snippets get β = 0; α sums to 1 over cells', async () => {
  const { tf, syn, set } = await tinySet();
  const idx = [...Array(set.size).keys()];
  const mask = set.mask;
  assert.ok(
    mask.some((m) => m === 0),
    'the fixture has padded snippets',
  );
  for (const variant of VARIANTS) {
    const model = makeModel(tf, set, syn.dataset.classes, { variant, heads: 2 });
    const batch = set.batch(tf, idx, true);
    tf.tidy(() => {
      const out = model.forward(batch);
      const beta = out.betaHeads.arraySync() as number[][][];
      beta.forEach((heads, b) => {
        for (const row of heads) {
          assert.ok(Math.abs(row.reduce((a, x) => a + x, 0) - 1) < 1e-5, `${variant}: β sums to 1`);
          row.forEach((v, t) => {
            if (mask[b * set.T + t] === 0) assert.equal(v, 0, `${variant}: padded snippet has β = 0`);
            else assert.ok(v > 0);
          });
        }
      });
      if (variant === 'spatial' || variant === 'dual') {
        const a = out.alpha.object.arraySync() as number[][][];
        for (const video of a)
          for (const cells of video) assert.ok(Math.abs(cells.reduce((x, y) => x + y, 0) - 1) < 1e-5);
        assert.deepEqual(out.alpha.object.shape, [set.size, set.T, 9]);
      } else {
        assert.equal(out.alpha.object, undefined);
      }
      assert.deepEqual(out.logits.shape, [set.size, syn.dataset.classes.length]);
    });
    disposeBatch(batch);
    model.dispose();
  }
});
