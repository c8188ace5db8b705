import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadTf, setFastMatMul } from '../../src/model/backend.js';
import { disposeBatch } from '../../src/model/features.js';
import { makeModel, tinySet } from './helpers.js';

test('the replacement matmul kernels compute the same products as the originals', async () => {
  const tf = await loadTf();
  const a3 = tf.randomNormal([3, 5, 4], 0, 1, 'float32', 1);
  const b3 = tf.randomNormal([3, 4, 6], 0, 1, 'float32', 2);
  const bias = tf.randomNormal([6], 0, 1, 'float32', 3);
  const cases: Array<() => import('@tensorflow/tfjs').Tensor> = [];
  for (const ta of [false, true]) {
    for (const tb of [false, true]) {
      const a = ta ? a3.transpose([0, 2, 1]) : a3;
      const b = tb ? b3.transpose([0, 2, 1]) : b3;
      cases.push(() => tf.matMul(a, b, ta, tb));
      cases.push(() => tf.fused.matMul({ a, b, transposeA: ta, transposeB: tb, bias, activation: 'relu' }));
      cases.push(() =>
        tf.matMul(
          a.reshape([15, 4]).slice(0, 5),
          b.reshape(tb ? [18, 4] : [12, 6]).slice(0, tb ? 6 : 4),
          false,
          tb,
        ),
      );
    }
  }
  for (const run of cases) {
    setFastMatMul(tf, false);
    const ref = run().arraySync();
    setFastMatMul(tf, true);
    const got = run().arraySync();
    assert.deepEqual(got, ref);
  }
});

test('gradients of the whole model match finite differences (dual, 2 heads, masking, polarity, weight decay, PCA-reduced map)', async () => {
  const { tf, syn, set } = await tinySet({}, 5);
  const classes = syn.dataset.classes;
  const model = makeModel(tf, set, classes, {
    variant: 'dual',
    heads: 2,
    polarityWeight: 0.5,
    positiveClasses: ['class1'],
    spatialHidden: 6,
    projDim: 5,
    temporalHidden: 4,
    activation: 'tanh',
  });
  const idx = [...Array(set.size).keys()];
  const batch = set.batch(tf, idx, true);
  const labels = tf.tensor1d(
    idx.map((i) => set.labels[i]),
    'int32',
  );
  const positive = tf.tensor1d(classes.map((c) => (c === 'class1' ? 1 : 0)));
  const lossFn = () => model.loss(model.forward(batch).logits, labels, { weightDecay: 1e-2, positive });
  const { grads } = tf.variableGrads(lossFn, Object.values(model.params));
  const analytic: Record<string, Float32Array> = {};
  for (const [name, v] of Object.entries(model.params))
    analytic[name] = grads[v.name].dataSync() as Float32Array;
  const lossAt = () => tf.tidy(() => lossFn().dataSync()[0]);
  let checked = 0;
  for (const [name, v] of Object.entries(model.params)) {
    const base = v.dataSync().slice() as Float32Array;
    const picks = [
      ...new Set([0, Math.floor(base.length / 2), base.length - 1, Math.floor(base.length / 3)]),
    ];
    for (const j of picks) {
      const probe = (delta: number) => {
        const w = base.slice();
        w[j] += delta;
        tf.tidy(() => v.assign(tf.tensor(w, v.shape)));
        return lossAt();
      };
      // central difference in float32 on a smooth model (tanh projections: no ReLU kinks)
      const eps = 1e-2;
      const numeric = (probe(eps) - probe(-eps)) / (2 * eps);
      tf.tidy(() => v.assign(tf.tensor(base, v.shape)));
      const ana = analytic[name][j];
      const tol = 3e-4 + 2e-2 * Math.max(Math.abs(numeric), Math.abs(ana));
      assert.ok(Math.abs(numeric - ana) <= tol, `${name}[${j}]: analytic ${ana} vs numeric ${numeric}`);
      checked++;
    }
  }
  assert.ok(checked > 40, `checked ${checked} entries`);
  // the spatial and temporal focus actually receive gradient
  for (const name of ['spatial.object.W', 'spatial.object.U', 'temporal.Q', 'temporal.v']) {
    assert.ok(
      analytic[name].some((g) => Math.abs(g) > 1e-7),
      `${name} has a non-zero gradient`,
    );
  }
  disposeBatch(batch);
  model.dispose();
});
