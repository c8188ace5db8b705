import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type ModelConfig, resolveModelConfig, resolveTrainConfig } from '../../src/model/config.js';
import { nativeAddonPath, nativeKernels, nativeStatus } from '../../src/model/engine/native.js';
import { NativeTrainer } from '../../src/model/engine/trainer.js';
import { disposeBatch } from '../../src/model/features.js';
import { dropInPlace } from '../../src/model/map-dropout.js';
import { mixMatrix, streamKeepMask } from '../../src/model/masks.js';
import { accuracyOf } from '../../src/model/test-selected.js';
import { fitModel } from '../../src/model/train.js';
import { rng } from '../../src/util/random.js';
import { relErr } from '../helpers/numeric.js';
import { makeModel, tinySet } from './helpers.js';

const nk = nativeKernels();
const skip = nk ? false : `native kernels not available: ${nativeStatus()}`;

type Case = { name: string; cfg: Partial<ModelConfig>; mapDim?: number; train?: boolean; C?: number };
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
  // wider than one tile of the kernels: a 40-wide scorer over 300 channels (more than one k-slice)
  { name: 'dual, h 40 over 300 channels', cfg: { variant: 'dual', spatialHidden: 40 }, C: 300 },
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
    const { tf, syn, set } = await tinySet({ C: c.C ?? 8 }, c.mapDim ?? 0);
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
    const tb = set.batch(tf, idx, { maps: true, scoreDims: model.scoreDims(), mapDrop });
    if (drop) tb.dropMask = tf.tensor(drop, [B, Du * model.K]);
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
    model.dispose();
  });
}

test('native head: its options come from the config, never from which parameters are there', {
  skip,
}, async () => {
  const { tf, syn, set } = await tinySet({ C: 8 }, 0);
  const classes = syn.dataset.classes;
  const cfg = {
    variant: 'dual',
    focusContrast: false,
    valueContrast: 'off',
    spatialContext: 'none',
  } as const;
  const model = makeModel(tf, set, classes, { ...cfg, spatialHidden: 7 }, 3);
  const trainer = new NativeTrainer(nk!, model.cfg, model.dims, classes, model.snapshot(), 1e-3);
  model.dispose();
  const idx = [0, 1, 2, 3];
  const head = trainer.head;
  const plain = Float32Array.from(head.forward(trainer.params, trainer.gather(set, idx)));
  // the parameters of options that are off (context U, contrasts λ κ μ, evidence γ), present: unread
  const extra = {
    ...trainer.params,
    'spatial.object.U': new Float32Array(4 * 7).fill(0.5),
    'spatial.object.lambda': new Float32Array(7).fill(3),
    'spatial.object.kappa': new Float32Array(8).fill(3),
    'temporal.mu': new Float32Array(model.cfg.temporalHidden).fill(5),
    'temporal.gamma.object': Float32Array.of(2),
  };
  assert.deepEqual(Array.from(head.forward(extra, trainer.gather(set, idx))), Array.from(plain));
  // a parameter the options need, absent: an error that names it
  const { 'temporal.Q': _q, ...missing } = trainer.params;
  assert.throws(() => head.forward(missing, trainer.gather(set, idx)), /missing parameter temporal\.Q/);
});

test('both engines run one loop: the same first batch, masks and loss; each reproducible; each learns', async () => {
  const { tf, syn, set } = await tinySet({ C: 8, classes: 2, strength: 3 }, 0);
  const classes = syn.dataset.classes;
  // dfan's defaults: dropout 0.5 and map dropout 0.5, drawn by the loop for every batch
  const model = resolveModelConfig({
    variant: 'dual',
    streams: ['object', 'action', 'face'],
    spatialHidden: 7,
  });
  const fit = (engine: 'native' | 'tfjs', epochs: number, maxSteps?: number) => {
    const train = resolveTrainConfig({ epochs, batchSize: 4, valFraction: 0, seed: 2 });
    const r = fitModel(tf, { trainSet: set, valSet: null, classes, model, train, engine, maxSteps });
    // the kept weights (restored into the tfjs model) on the training videos, no dropout
    const seen = r.predictor.predictSet(set, { attention: false });
    r.predictor.dispose();
    return { ...r, accuracy: accuracyOf(seen.probs, set.labels, classes.length) };
  };
  const engines = nk ? (['tfjs', 'native'] as const) : (['tfjs'] as const);
  // one step from the same initial weights: the loss of the same batch under the same masks
  const first = engines.map((e) => fit(e, 1, 1).curve[0].loss);
  if (first.length === 2) assert.ok(Math.abs(first[0] - first[1]) < 1e-4 * first[0], `first loss ${first}`);
  for (const e of engines) {
    const a = fit(e, 25);
    const b = fit(e, 25);
    for (const [name, v] of Object.entries(a.best.values))
      assert.deepEqual(Array.from(b.best.values[name]), Array.from(v), `${e}: ${name} differs run to run`);
    assert.ok(a.accuracy >= 0.9, `${e}: accuracy on the training videos ${a.accuracy}`);
  }
});

test('native gather draws the same map-dropout mask as the JS one', { skip }, () => {
  for (const [per, rows, p] of [
    [37, 4, 0.3],
    [1000, 7, 0.5],
    [5, 3, 0.9],
    [4099, 3, 0.05],
  ] as const) {
    const src = Float32Array.from({ length: 9 * per }, (_, i) => Math.sin(i) + 2);
    const idx = Array.from({ length: rows }, (_, j) => (j * 5 + 1) % 9);
    const want = new Float32Array(rows * per);
    idx.forEach((r, j) => {
      want.set(src.subarray(r * per, (r + 1) * per), j * per);
    });
    const plain = new Float32Array(want);
    dropInPlace(want, want.length, p, 987654321 + per);
    const got = new Float32Array(want.length);
    nk!.gather(src, per, Int32Array.from(idx), got, p, 987654321 + per);
    assert.deepEqual(Array.from(got), Array.from(want), `per ${per}, rows ${rows}, p ${p}`);
    nk!.gather(src, per, Int32Array.from(idx), got);
    assert.deepEqual(Array.from(got), Array.from(plain));
    // the same decisions as bits (what the spatial kernel reads)
    const n = rows * per;
    const ones = new Float32Array(n).fill(1);
    dropInPlace(ones, n, p, 55 + per);
    const bits = new Uint16Array(Math.ceil(n / 16) + 1).fill(0xffff);
    nk!.maskBits(n, p, 55 + per, bits);
    for (let j = 0; j < n; j++) assert.equal((bits[j >> 4] >> (j & 15)) & 1, ones[j] ? 1 : 0, `bit ${j}`);
    for (let j = n; j < bits.length * 16; j++)
      assert.equal((bits[j >> 4] >> (j & 15)) & 1, 0, `bit ${j} past n`);
  }
  assert.throws(
    () => nk!.gather(new Float32Array(10), 5, Int32Array.from([2]), new Float32Array(5)),
    /past its length/,
  );
});

/** C = alpha·op(A)·op(B) + beta·C in float64, for the gemm test */
function refGemm(
  tA: boolean,
  tB: boolean,
  M: number,
  N: number,
  K: number,
  alpha: number,
  A: Float32Array,
  lda: number,
  B: Float32Array,
  ldb: number,
  beta: number,
  C: Float32Array,
  ldc: number,
): Float32Array {
  const out = new Float32Array(C);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++)
        s += (tA ? A[k * lda + i] : A[i * lda + k]) * (tB ? B[j * ldb + k] : B[k * ldb + j]);
      out[i * ldc + j] = alpha * s + (beta ? beta * C[i * ldc + j] : 0);
    }
  return out;
}

test('native gemm: every path (tiles, thin shapes, transposes, strides, accumulate) against float64', {
  skip,
}, () => {
  const random = rng(5);
  const shapes = [
    [1, 1, 1],
    [2, 600, 16],
    [16, 512, 1],
    [64, 1, 512],
    [512, 1, 64],
    [9, 33, 300],
    [49, 32, 128],
    [128, 40, 49],
    [17, 70, 2],
    [30, 6, 513],
  ];
  for (const [M, N, K] of shapes)
    for (const tA of [false, true])
      for (const tB of [false, true]) {
        // A and B inside wider buffers (a column block), C a block of a wider C
        const lda = (tA ? M : K) + 3;
        const ldb = (tB ? K : N) + 2;
        const ldc = N + 5;
        const A = Float32Array.from({ length: (tA ? K : M) * lda }, () => random() - 0.5);
        const B = Float32Array.from({ length: (tB ? N : K) * ldb }, () => random() - 0.5);
        const C = Float32Array.from({ length: M * ldc }, () => random() - 0.5);
        for (const [alpha, beta] of [
          [1, 0],
          [-0.5, 1],
        ]) {
          const want = refGemm(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
          const got = new Float32Array(C);
          nk!.gemm(tA ? 1 : 0, tB ? 1 : 0, M, N, K, alpha, A, 0, lda, B, 0, ldb, beta, got, 0, ldc);
          let err = 0;
          for (let i = 0; i < M; i++)
            for (let j = 0; j < N; j++) err = Math.max(err, Math.abs(got[i * ldc + j] - want[i * ldc + j]));
          assert.ok(
            err < 1e-4 * Math.sqrt(K),
            `M${M} N${N} K${K} tA ${tA} tB ${tB} α ${alpha} β ${beta}: ${err}`,
          );
          // the padding between rows of C is never written
          for (let i = 0; i < M; i++)
            for (let j = N; j < ldc; j++) assert.equal(got[i * ldc + j], C[i * ldc + j]);
        }
      }
  // a batch of products with strides: z_b = β_b · u_b
  const [Bn, T, Du] = [3, 4, 5];
  const beta = Float32Array.from({ length: Bn * T }, () => random());
  const u = Float32Array.from({ length: Bn * T * Du }, () => random());
  const z = new Float32Array(Bn * Du);
  nk!.gemm(0, 0, 1, Du, T, 1, beta, 0, T, u, 0, Du, 0, z, 0, Du, Bn, T, T * Du, Du);
  for (let b = 0; b < Bn; b++)
    for (let j = 0; j < Du; j++) {
      let s = 0;
      for (let t = 0; t < T; t++) s += beta[b * T + t] * u[(b * T + t) * Du + j];
      assert.ok(Math.abs(z[b * Du + j] - s) < 1e-5);
    }
  assert.throws(
    () =>
      nk!.gemm(
        0,
        0,
        2,
        2,
        2,
        1,
        new Float32Array(3),
        0,
        2,
        new Float32Array(4),
        0,
        2,
        0,
        new Float32Array(4),
        0,
        2,
      ),
    /past its length/,
  );
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

// the other instruction sets' kernels (the build makes all of them; the CPU picks one): this file
// again in a child process for each
const child = process.env.DFAN_ENGINE_TEST_ISA;
for (const isa of ['avx2', 'base']) {
  const why = skip || (child ? 'inside the child run' : process.arch !== 'x64' ? 'x86-64 only' : false);
  test(`native kernels compiled for ${isa}: the same tests pass`, { skip: why }, () => {
    const file = fileURLToPath(import.meta.url);
    // NODE_TEST_CONTEXT (set by the runner of this file) would make the child `node --test` run nothing
    execFileSync(process.execPath, ['--test', '--test-concurrency=1', file], {
      env: { ...process.env, NODE_TEST_CONTEXT: undefined, DFAN_NATIVE_ISA: isa, DFAN_ENGINE_TEST_ISA: isa },
      stdio: 'pipe',
    });
    const line = execFileSync(
      process.execPath,
      ['-e', `process.stdout.write(require(${JSON.stringify(nativeAddonPath())}).isa())`],
      { env: { ...process.env, DFAN_NATIVE_ISA: isa } },
    ).toString();
    assert.equal(line, isa);
  });
}
