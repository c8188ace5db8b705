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

test('PCA-reduced maps: basis columns are orthonormal principal directions in decreasing variance', async () => {
  const { prep, vfs } = await tinySet({ C: 12 }, 6);
  const sp = prep.streams.object;
  assert.ok(sp.basis, 'the map is reduced');
  const { C, D } = sp;
  const basis = sp.basis!;
  // variance of the centred cells along each column
  const variance = new Float64Array(D);
  for (const vf of vfs) {
    const t = vf.streams.object;
    for (let r = 0; r < t.data.length / C; r++) {
      for (let j = 0; j < D; j++) {
        let p = 0;
        for (let c = 0; c < C; c++) p += (t.data[r * C + c] - sp.mean[c]) * basis[c * D + j];
        variance[j] += p * p;
      }
    }
  }
  for (let j = 1; j < D; j++)
    assert.ok(
      variance[j] <= variance[j - 1] * 1.05,
      `column ${j} variance ${variance[j]} ≤ ${variance[j - 1]}`,
    );
  assert.ok(variance[0] > 1.5 * variance[D - 1], 'the spectrum is not flat');
  for (let i = 0; i < D; i++) {
    for (let j = 0; j < D; j++) {
      let dot = 0;
      for (let c = 0; c < C; c++) dot += basis[c * D + i] * basis[c * D + j];
      assert.ok(Math.abs(dot - (i === j ? 1 : 0)) < 1e-4, `columns ${i}·${j} = ${dot}`);
    }
  }
});

test('the spatial scorer reads the leading principal components: batch-provided or sliced, same outputs', async () => {
  const { tf, syn, set } = await tinySet({ C: 12 }, 6);
  const model = makeModel(tf, set, syn.dataset.classes, { variant: 'dual', spatialScoreDim: 3 });
  assert.deepEqual(model.scoreDims(), { object: 3 });
  assert.deepEqual(model.params['spatial.object.W'].shape, [3, 64]);
  const idx = [...Array(set.size).keys()];
  const withLead = set.batch(tf, idx, true, undefined, 0, model.scoreDims());
  const without = set.batch(tf, idx, true);
  assert.deepEqual(withLead.scored?.object.shape, [set.size, set.T, 9, 3]);
  const a = tf.tidy(() => model.forward(withLead).logits.dataSync());
  const b = tf.tidy(() => model.forward(without).logits.dataSync());
  assert.deepEqual(Array.from(a), Array.from(b));
  // an unreduced map has no order: the scorer reads every channel
  const raw = await tinySet({ C: 12 }, 0);
  const all = makeModel(tf, raw.set, raw.syn.dataset.classes, { variant: 'dual', spatialScoreDim: 3 });
  assert.deepEqual(all.scoreDims(), {});
  assert.deepEqual(all.params['spatial.object.W'].shape, [12, 64]);
  disposeBatch(withLead);
  disposeBatch(without);
  model.dispose();
  all.dispose();
});
