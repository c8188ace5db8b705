import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadTf, setFastKernels } from '../../src/model/backend.js';
import { disposeBatch } from '../../src/model/features.js';
import { relErr } from '../helpers/numeric.js';
import { makeModel, tinySet } from './helpers.js';

test('the replacement kernels compute the same products and tanh as the originals', async () => {
  const tf = await loadTf();
  type T = import('@tensorflow/tfjs').Tensor;
  const r = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, 'float32', seed);
  const a3 = r([3, 5, 4], 1);
  const b3 = r([3, 4, 6], 2);
  const bias = r([6], 3);
  const cases: Array<[string, () => T]> = [];
  for (const ta of [false, true]) {
    for (const tb of [false, true]) {
      const a = ta ? a3.transpose([0, 2, 1]) : a3;
      const b = tb ? b3.transpose([0, 2, 1]) : b3;
      const name = `tA=${ta} tB=${tb}`;
      cases.push([name, () => tf.matMul(a, b, ta, tb)]);
      cases.push([
        `fused ${name}`,
        () => tf.fused.matMul({ a, b, transposeA: ta, transposeB: tb, bias, activation: 'relu' }),
      ]);
      cases.push([
        `sliced ${name}`,
        () =>
          tf.matMul(
            a.reshape([15, 4]).slice(0, 5),
            b.reshape(tb ? [18, 4] : [12, 6]).slice(0, tb ? 6 : 4),
            false,
            tb,
          ),
      ]);
    }
  }
  // the shapes of the model's backward pass, where the kernel picks the cheaper identity:
  // dW = Xᵀ·dY with a tall X, dw = Hᵀ·dE with a vector dE, dα = dx̂·Xᵀ with a unit row
  const X = r([300, 24], 4);
  const dY = r([300, 8], 5);
  const dE = r([300, 1], 6);
  const dxh = r([12, 1, 24], 7);
  const Xb = r([12, 25, 24], 8);
  cases.push(['Xᵀ·dY', () => tf.matMul(X, dY, true, false)]);
  cases.push(['dYᵀ·X', () => tf.matMul(dY, X, true, false)]);
  cases.push(['Xᵀ·dE', () => tf.matMul(X, dE, true, false)]);
  cases.push(['dx̂·Xᵀ (batched)', () => tf.matMul(dxh, Xb, false, true)]);
  cases.push(['Xb·dx̂ᵀ (batched)', () => tf.matMul(Xb, dxh, false, true)]);
  cases.push(['Xbᵀ·Xbᵀ', () => tf.matMul(Xb, r([12, 7, 25], 9), true, true)]);
  cases.push(['clone', () => tf.clone(Xb)]);
  cases.push(['tanh', () => tf.tanh(tf.mul(r([1000], 10), 4))]);
  cases.push([
    'tanh at 0 and beyond float range',
    () => tf.tanh(tf.tensor1d([0, -0, 1e-8, 50, -50, 1e30, -1e30])),
  ]);
  // a weight vector used as B forward, then aliased in the backward pass (XNNPACK caches B's packing
  // by buffer): the gradient must match the original kernels
  const Wv = tf.variable(r([24, 8], 11));
  const wv = tf.variable(r([8, 1], 12));
  cases.push([
    'gradient through (X·W)·w',
    () => {
      const { grads } = tf.variableGrads(() => tf.sum(tf.square(tf.matMul(tf.matMul(X, Wv), wv))), [Wv, wv]);
      return tf.concat([grads[Wv.name].reshape([-1]), grads[wv.name].reshape([-1])]);
    },
  ]);
  for (const [name, run] of cases) {
    setFastKernels(tf, false);
    const ref = run().dataSync() as Float32Array;
    setFastKernels(tf, true);
    const got = run().dataSync() as Float32Array;
    assert.equal(got.length, ref.length, name);
    assert.ok(relErr(got, ref) < 1e-5, `${name}: relative error ${relErr(got, ref)}`);
  }
});

test('gradients of the whole model match finite differences (dual, 2 heads, masking, polarity, weight decay, PCA-reduced map scored on 3 of 5 components, focus contrast, temporal evidence)', async () => {
  const { tf, syn, set } = await tinySet({}, 5);
  const classes = syn.dataset.classes;
  const model = makeModel(tf, set, classes, {
    variant: 'dual',
    heads: 2,
    polarityWeight: 0.5,
    positiveClasses: ['class1'],
    spatialHidden: 6,
    spatialScoreDim: 3,
    projDim: 5,
    temporalHidden: 4,
    activation: 'tanh',
    focusContrast: true,
    valueContrast: 'both',
    temporalEvidence: true,
  });
  const idx = [...Array(set.size).keys()];
  const batch = set.batch(tf, idx, { maps: true, scoreDims: model.scoreDims() });
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
  for (const name of [
    'spatial.object.W',
    'spatial.object.U',
    'spatial.object.lambda',
    'spatial.object.kappa',
    'temporal.Q',
    'temporal.v',
    'temporal.mu',
    'temporal.gamma.object',
  ]) {
    assert.ok(
      analytic[name].some((g) => Math.abs(g) > 1e-7),
      `${name} has a non-zero gradient`,
    );
  }
  disposeBatch(batch);
  model.dispose();
});
