import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scoreDimOf } from '../../src/model/architecture.js';
import { DEFAULT_MODEL, VARIANTS } from '../../src/model/config.js';
import { disposeBatch } from '../../src/model/features.js';
import { autoMapDim } from '../../src/model/prep.js';
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
    const batch = set.batch(tf, idx, { maps: true });
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
  assert.deepEqual(model.params['spatial.object.W'].shape, [3, DEFAULT_MODEL.spatialHidden]);
  const idx = [...Array(set.size).keys()];
  const withLead = set.batch(tf, idx, { maps: true, scoreDims: model.scoreDims() });
  const without = set.batch(tf, idx, { maps: true });
  assert.deepEqual(withLead.scored?.object.shape, [set.size, set.T, 9, 3]);
  const a = tf.tidy(() => model.forward(withLead).logits.dataSync());
  const b = tf.tidy(() => model.forward(without).logits.dataSync());
  assert.deepEqual(Array.from(a), Array.from(b));
  // an unreduced map has no order: the scorer reads every channel
  const raw = await tinySet({ C: 12 }, 0);
  const all = makeModel(tf, raw.set, raw.syn.dataset.classes, { variant: 'dual', spatialScoreDim: 3 });
  assert.deepEqual(all.scoreDims(), {});
  assert.deepEqual(all.params['spatial.object.W'].shape, [12, DEFAULT_MODEL.spatialHidden]);
  disposeBatch(withLead);
  disposeBatch(without);
  model.dispose();
  all.dispose();
});

test('automatic map reduction: every channel while the maps fit 1 GB, else the most of 384/256/128 that fit', () => {
  const map = (videos: number, cells: number, C: number) => ({ C, bytesPerChannel: videos * 16 * cells * 4 });
  assert.equal(autoMapDim([map(96, 256, 120)]), 0); // the default pack's CenterNet map on the demo: 189 MB
  assert.equal(autoMapDim([map(96, 196, 1280)]), 384); // research pack on the demo: 1.5 GB → 0.46 GB
  assert.equal(autoMapDim([map(300, 196, 1280)]), 256); // 4.8 GB → 0.96 GB
  assert.equal(autoMapDim([map(1100, 49, 1280)]), 256); // 4.4 GB → 0.88 GB
  assert.equal(autoMapDim([map(1637, 49, 1280)]), 128); // Ekman-6-sized, 7×7 maps: 6.6 GB → 0.66 GB
  assert.equal(autoMapDim([map(5000, 196, 1280)]), 128); // nothing fits: the fewest
  // two map streams share the budget; a narrow one counts only its own channels
  assert.equal(autoMapDim([map(96, 196, 1280), map(96, 196, 64)]), 384);
  assert.equal(autoMapDim([map(96, 196, 1280), map(96, 196, 1280)]), 384); // 2 × 0.46 GB
  assert.equal(autoMapDim([map(150, 196, 1280), map(150, 196, 1280)]), 256); // 2 × 0.72 GB at 384
});

test('automatic score width: the leading 128 components of a map reduced to more, else all', () => {
  const auto = { spatialScoreDim: -1 } as Parameters<typeof scoreDimOf>[0];
  assert.equal(scoreDimOf(auto, { D: 384, ordered: true }), 128);
  assert.equal(scoreDimOf(auto, { D: 128, ordered: true }), 128);
  assert.equal(scoreDimOf(auto, { D: 1280, ordered: false }), 1280); // unreduced: no order to cut
  assert.equal(scoreDimOf({ ...auto, spatialScoreDim: 0 }, { D: 384, ordered: true }), 384);
  assert.equal(scoreDimOf({ ...auto, spatialScoreDim: 64 }, { D: 384, ordered: true }), 64);
});

test('focus contrast: a cell that is the same in every snippet gets no attention from it; padding changes nothing', async () => {
  const { tf, syn, set } = await tinySet();
  const idx = [...Array(set.size).keys()];
  const model = makeModel(tf, set, syn.dataset.classes, {
    variant: 'dual',
    spatialContext: 'none',
    focusContrast: true,
    valueContrast: 'on',
  });
  const batch = set.batch(tf, idx, { maps: true });
  const [B, T, N, D] = batch.maps.object.shape as number[];
  const mask = tf.tensor(set.mask.slice(0, B * T), [B, T, 1, 1]);
  // the cell means are recomputed from the maps and the mask (the batch's precomputed ones are of the unshifted maps)
  const run = (maps: ReturnType<typeof tf.tensor>) => {
    const out = model.forward({ ...batch, cellMeans: undefined, maps: { ...batch.maps, object: maps } });
    return {
      alpha: out.alpha.object.arraySync() as number[][][],
      logits: out.logits.arraySync() as number[][],
    };
  };
  const base = tf.tidy(() => run(batch.maps.object));
  // the FeatureSet's precomputed cell means are the same means
  const pre = tf.tidy(() => model.forward(batch).logits.arraySync() as number[][]);
  for (const [b, row] of base.logits.entries())
    for (const [c, l] of row.entries())
      assert.ok(Math.abs(l - pre[b][c]) < 1e-4, `precomputed x̄: ${l} vs ${pre[b][c]}`);
  // every real snippet of a video gets the same offset per cell: the contrast (λ = κ = 1 at the
  // start) cancels it, so α and the logits stay; padded snippets get noise: nothing may change
  const shifted = tf.tidy(() => {
    const offset = tf.randomNormal([B, 1, N, D], 0, 3, 'float32', 7);
    const noise = tf.randomNormal([B, T, N, D], 0, 5, 'float32', 8);
    const x = tf.add(batch.maps.object, tf.add(tf.mul(offset, mask), tf.mul(noise, tf.sub(1, mask))));
    return run(x);
  });
  for (const [b, video] of base.alpha.entries()) {
    for (const [t, cells] of video.entries()) {
      if (set.mask[b * T + t] === 0) continue;
      for (const [i, a] of cells.entries()) {
        const s = shifted.alpha[b][t][i];
        assert.ok(Math.abs(a - s) < 1e-4, `α[${b}][${t}][${i}] ${a} vs ${s}`);
      }
    }
  }
  for (const [b, row] of base.logits.entries()) {
    for (const [c, l] of row.entries()) {
      const s = shifted.logits[b][c];
      assert.ok(Math.abs(l - s) < 1e-3, `logits[${b}][${c}] ${l} vs ${s}`);
    }
  }
  // and without contrast the same offset does move the spatial focus (the test can fail)
  const plain = makeModel(tf, set, syn.dataset.classes, {
    variant: 'dual',
    spatialContext: 'none',
    focusContrast: false,
    valueContrast: 'off',
  });
  const moved = tf.tidy(() => {
    const offset = tf.randomNormal([B, 1, N, D], 0, 3, 'float32', 7);
    const a0 = plain.forward(batch).alpha.object;
    const a1 = plain.forward({ ...batch, maps: { ...batch.maps, object: tf.add(batch.maps.object, offset) } })
      .alpha.object;
    return tf.max(tf.abs(tf.sub(a0, a1))).dataSync()[0];
  });
  assert.ok(moved > 1e-3, `without contrast α moves (${moved})`);
  mask.dispose();
  disposeBatch(batch);
  model.dispose();
  plain.dispose();
});

test("value contrast 'both': the plain view keeps what is the same in every snippet, the contrasted view drops it", async () => {
  const { tf, syn, set } = await tinySet();
  const idx = [...Array(set.size).keys()];
  const batch = set.batch(tf, idx, { maps: true });
  const [B, T, N, D] = batch.maps.object.shape as number[];
  const mask = tf.tensor(set.mask.slice(0, B * T), [B, T, 1, 1]);
  const cfg = { variant: 'dual', spatialContext: 'none', focusContrast: true } as const;
  const both = makeModel(tf, set, syn.dataset.classes, { ...cfg, valueContrast: 'both' });
  const on = makeModel(tf, set, syn.dataset.classes, { ...cfg, valueContrast: 'on' });
  // the same offset per cell in every real snippet of a video: steady content
  const offset = tf.randomNormal([B, 1, N, D], 0, 3, 'float32', 11);
  const shiftedMaps = tf.add(batch.maps.object, tf.mul(offset, mask));
  const pooledOf = (m: typeof both, maps: typeof shiftedMaps) =>
    tf.tidy(
      () =>
        m.spatial.object
          .forward({ ...batch, cellMeans: undefined, maps: { ...batch.maps, object: maps } })
          .pooled.arraySync() as number[][],
    );
  const maxDiff = (a: number[][], b: number[][], from: number, to: number) => {
    let m = 0;
    a.forEach((row, r) => {
      for (let c = from; c < to; c++) m = Math.max(m, Math.abs(row[c] - b[r][c]));
    });
    return m;
  };
  const b0 = pooledOf(both, batch.maps.object);
  const b1 = pooledOf(both, shiftedMaps);
  assert.equal(b0[0].length, 2 * D, "'both' pools [x̂ ; x̂ᶜ]: twice the channels");
  // real snippets only: padded ones pool zeros either way
  const real = (rows: number[][]) => rows.filter((_, r) => set.mask[r] > 0);
  assert.ok(maxDiff(real(b0), real(b1), 0, D) > 0.1, 'the plain view sees the steady offset');
  assert.ok(maxDiff(real(b0), real(b1), D, 2 * D) < 1e-3, 'the contrasted view does not (κ = 1)');
  const o0 = pooledOf(on, batch.maps.object);
  const o1 = pooledOf(on, shiftedMaps);
  assert.equal(o0[0].length, D);
  assert.ok(maxDiff(real(o0), real(o1), 0, D) < 1e-3, "'on' loses the steady content altogether");
  offset.dispose();
  shiftedMaps.dispose();
  mask.dispose();
  disposeBatch(batch);
  both.dispose();
  on.dispose();
});
