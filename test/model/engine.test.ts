import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ModelConfig } from '../../src/model/config.js';
import { nativeKernels, nativeStatus } from '../../src/model/engine/native.js';
import { NativeTrainer } from '../../src/model/engine/trainer.js';
import { disposeBatch } from '../../src/model/features.js';
import { dropInPlace } from '../../src/model/map-dropout.js';
import { mixMatrix } from '../../src/model/mixup.js';
import { streamKeepMask } from '../../src/model/train.js';
import { rng } from '../../src/util/random.js';
import { makeModel, tinySet } from './helpers.js';

const nk = nativeKernels();
const skip = nk ? false : `native kernels not available: ${nativeStatus()} (run node native/build.mjs)`;

/** max |got − ref| relative to the largest |ref| */
function relErr(got: Float32Array, ref: Float32Array): number {
  let scale = 1e-6;
  let err = 0;
  for (let i = 0; i < ref.length; i++) {
    scale = Math.max(scale, Math.abs(ref[i]));
    err = Math.max(err, Math.abs(got[i] - ref[i]));
  }
  return err / scale;
}

type Case = { name: string; cfg: Partial<ModelConfig>; mapDim?: number; train?: boolean };
const CASES: Case[] = [
  { name: 'mean', cfg: { variant: 'mean' } },
  { name: 'temporal, two heads', cfg: { variant: 'temporal', heads: 2 } },
  { name: 'spatial', cfg: { variant: 'spatial' } },
  { name: 'dual defaults', cfg: { variant: 'dual' } },
  { name: 'dual, contrast off', cfg: { variant: 'dual', focusContrast: false, valueContrast: 'off' } },
  { name: 'dual, value contrast on', cfg: { variant: 'dual', valueContrast: 'on' } },
  {
    name: 'dual, evidence, tanh, mean context, 2 heads',
    cfg: { variant: 'dual', temporalEvidence: true, activation: 'tanh', spatialContext: 'mean', heads: 2 },
  },
  { name: 'dual, no context, h 5', cfg: { variant: 'dual', spatialContext: 'none', spatialHidden: 5 } },
  // a PCA-reduced map whose scorer reads the leading 3 of 6 channels
  { name: 'dual, scorer reads k < D', cfg: { variant: 'dual', spatialScoreDim: 3 }, mapDim: 6 },
  {
    name: 'dual training batch: dropout, map dropout, stream dropout, mixup, polarity',
    cfg: {
      variant: 'dual',
      dropout: 0.5,
      mapDropout: 0.3,
      streamDropout: 0.4,
      polarityWeight: 0.5,
      positiveClasses: ['class1'],
    },
    train: true,
  },
];

for (const c of CASES) {
  test(`native head: loss and every gradient as tfjs's (${c.name})`, { skip }, async () => {
    const { tf, syn, set } = await tinySet({ C: 8 }, c.mapDim ?? 0);
    const classes = syn.dataset.classes;
    const model = makeModel(tf, set, classes, { ...c.cfg, spatialHidden: c.cfg.spatialHidden ?? 7 }, 3);
    const values = model.snapshot();
    const trainer = new NativeTrainer(nk!, model.cfg, model.dims, classes, values, 1e-3);
    const idx = [3, 0, 7, 5, 9, 2];
    const B = idx.length;
    const random = rng(11);
    const mapDrop = model.cfg.mapDropout > 0 ? { p: model.cfg.mapDropout, seed: 12345 } : undefined;
    const Du = model.cfg.projDim * model.cfg.streams.length;
    const drop = c.train
      ? Float32Array.from({ length: B * Du * model.K }, () => (random() < 0.5 ? 0 : 2))
      : undefined;
    const streamMask = c.train ? streamKeepMask(B, 3, model.cfg.projDim, 0.4, random) : undefined;
    const mix = c.train ? mixMatrix(B, 0.6, random) : undefined;
    const positive = Float32Array.from(classes, (k) => (model.cfg.positiveClasses.includes(k) ? 1 : 0));
    const labels = Int32Array.from(idx, (j) => set.labels[j]);

    // tfjs: the reference
    const tb = set.batch(tf, idx, {
      maps: true,
      scoreDims: model.scoreDims(),
      dropout: drop && { mask: drop, width: Du * model.K },
      mapDrop,
    });
    if (streamMask) tb.streamMask = tf.tensor(streamMask, [B, Du]);
    if (mix) tb.mix = tf.tensor2d(mix, [B, B]);
    const tfLabels = tf.tensor1d(labels, 'int32');
    const tfPositive = tf.tensor1d(positive);
    const vars = Object.values(model.params);
    const { value, grads } = tf.variableGrads(
      () =>
        model.loss(model.forward(tb).logits, tfLabels, { weightDecay: 0, positive: tfPositive, mix: tb.mix }),
      vars,
    );
    const refLoss = value.dataSync()[0];

    // native: the same batch
    const nb = trainer.gather(set, idx, mapDrop);
    nb.dropMask = drop;
    nb.streamMask = streamMask;
    nb.mix = mix;
    const head = trainer.head;
    const logits = head.forward(trainer.params, nb);
    const refLogits = model.forward(tb).logits.dataSync() as Float32Array;
    assert.ok(relErr(logits, refLogits) < 1e-4, `logits differ: ${relErr(logits, refLogits)}`);
    const { lossAndGradient } = await import('../../src/model/engine/loss.js');
    const dlogits = new Float32Array(B * classes.length);
    const loss = lossAndGradient(logits, labels, B, classes.length, dlogits, {
      mix,
      positive,
      polarityWeight: model.cfg.polarityWeight,
    });
    assert.ok(Math.abs(loss - refLoss) < 1e-4 * Math.max(1, Math.abs(refLoss)), `loss ${loss} vs ${refLoss}`);
    const g: Record<string, Float32Array> = Object.fromEntries(
      Object.entries(trainer.params).map(([k, v]) => [k, new Float32Array(v.length).fill(Number.NaN)]),
    );
    head.backward(trainer.params, g, dlogits);
    for (const [name, v] of Object.entries(model.params)) {
      const ref = grads[v.name].dataSync() as Float32Array;
      const short = name.replace(/^dfan\d+\//, '');
      assert.ok(
        relErr(g[short], ref) < 2e-3,
        `${c.name}: gradient of ${short} differs by ${relErr(g[short], ref)}`,
      );
    }
    for (const t of Object.values(grads)) t.dispose();
    value.dispose();
    disposeBatch(tb);
    tb.mix?.dispose();
    model.dispose();
  });
}

test('native gather draws the same map-dropout mask as the JS one', { skip }, () => {
  const src = Float32Array.from({ length: 5 * 37 }, (_, i) => Math.sin(i) + 2);
  const idx = [4, 1, 1, 3];
  const want = new Float32Array(idx.length * 37);
  idx.forEach((r, j) => {
    want.set(src.subarray(r * 37, (r + 1) * 37), j * 37);
  });
  dropInPlace(want, want.length, 0.3, 987654321);
  const got = new Float32Array(want.length);
  nk!.gather(src, 37, Int32Array.from(idx), got, 0.3, 987654321);
  assert.deepEqual(Array.from(got), Array.from(want));
  assert.throws(() => nk!.gather(src, 37, Int32Array.from([5]), got), /past its length/);
});

test('native training: the same seed and batches give the same numbers, bit for bit', { skip }, async () => {
  const { tf, syn, set } = await tinySet({ C: 8 }, 0);
  const classes = syn.dataset.classes;
  const run = () => {
    const model = makeModel(tf, set, classes, { variant: 'dual', spatialHidden: 7 }, 5);
    const trainer = new NativeTrainer(nk!, model.cfg, model.dims, classes, model.snapshot(), 1e-2);
    model.dispose();
    const losses: number[] = [];
    for (let s = 0; s < 5; s++) {
      const idx = [s % 12, (s + 3) % 12, (s + 7) % 12];
      const labels = Int32Array.from(idx, (j) => set.labels[j]);
      losses.push(
        trainer.step(trainer.gather(set, idx, { p: 0.5, seed: 77 + s }), labels, { weightDecay: 1e-3 }).loss,
      );
    }
    return { losses, W: trainer.values()['spatial.object.W'] };
  };
  const a = run();
  const b = run();
  assert.deepEqual(a.losses, b.losses);
  assert.deepEqual(Array.from(a.W), Array.from(b.W));
  assert.ok(a.losses[4] < a.losses[0], `loss should fall: ${a.losses.join(', ')}`);
});
