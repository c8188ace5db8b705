import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { syntheticSet } from '../../research/synthetic.js';
import { evaluateRun } from '../../src/model/evaluate.js';
import { loadRun } from '../../src/model/run.js';
import { trainRun } from '../../src/model/train-run.js';
import { testDir } from '../helpers/temp.js';

const tmp = testDir('dfan-model-');

test('overfits a tiny training set to 100 %', async () => {
  const syn = syntheticSet({ videos: 12, T: 4, H: 2, W: 2, C: 8, classes: 3, strength: 1, testFraction: 0 });
  const r = await trainRun({
    features: syn.source,
    dataset: syn.dataset,
    model: { variant: 'dual', dropout: 0 },
    train: { epochs: 150, batchSize: 12, lr: 1e-2, valFraction: 0, weightDecay: 0, ensemble: 1 },
  });
  const last = r.curve[r.curve.length - 1];
  assert.equal(last.trainAccuracy, 1, `train accuracy ${last.trainAccuracy}`);
  const ev = await evaluateRun(r.predictor, { dataset: syn.dataset, split: 'train', features: syn.source });
  assert.equal(ev.metrics.accuracy, 1);
  r.predictor.dispose();
});

test('save → load gives identical outputs; same seed → identical metrics; another seed differs', async () => {
  const syn = syntheticSet({
    videos: 60,
    T: 6,
    H: 3,
    W: 3,
    C: 16,
    shortT: 3,
    vectors: { action: 4, face: 3 },
  });
  const opts = (seed: number, out?: string) => ({
    features: syn.source,
    dataset: syn.dataset,
    out,
    model: { variant: 'dual' as const, heads: 2 },
    train: { epochs: 4, batchSize: 8, seed },
  });
  const a = await trainRun(opts(3, join(tmp, 'a')));
  const b = await trainRun(opts(3, join(tmp, 'b')));
  const c = await trainRun(opts(4));
  assert.deepEqual(
    a.curve.map((e) => [e.loss, e.valAccuracy]),
    b.curve.map((e) => [e.loss, e.valAccuracy]),
  );
  assert.notDeepEqual(
    a.curve.map((e) => e.loss),
    c.curve.map((e) => e.loss),
  );
  const wa = readFileSync(join(tmp, 'a', 'weights.safetensors'));
  const wb = readFileSync(join(tmp, 'b', 'weights.safetensors'));
  assert.ok(wa.equals(wb), 'identical weight files');
  const evA = await evaluateRun(a.predictor, { dataset: syn.dataset, features: syn.source });
  const evB = await evaluateRun(b.predictor, { dataset: syn.dataset, features: syn.source });
  assert.deepEqual(evA.metrics, evB.metrics);

  const loaded = await loadRun(join(tmp, 'a'));
  assert.deepEqual(loaded.classes, syn.dataset.classes);
  assert.equal(loaded.config.model.variant, 'dual');
  const evL = await evaluateRun(loaded, { dataset: syn.dataset, features: syn.source });
  assert.deepEqual(evL.metrics, evA.metrics);
  assert.deepEqual(evL.videos, evA.videos);
  // one video through predict(): same numbers as the batched path, β of padded snippets = 0
  const key = evA.videos.find((v) => v.beta.some((x) => x === 0))?.key ?? evA.videos[0].key;
  const vf = await syn.source.load(key);
  const p1 = a.predictor.predict(vf);
  const p2 = loaded.predict(vf);
  assert.deepEqual(p2, p1);
  const ref = evA.videos.find((v) => v.key === key)!;
  for (const [i, x] of p1.probs.entries()) assert.ok(Math.abs(x - ref.probs[i]) < 1e-5);
  assert.ok(Math.abs(p1.beta.reduce((s, x) => s + x, 0) - 1) < 1e-5);
  assert.equal(p1.alpha.object.data.length, 6 * 9);
  for (const f of ['config.json', 'labels.json', 'curve.json', 'curve.csv']) readFileSync(join(tmp, 'a', f));
  const csv = readFileSync(join(tmp, 'a', 'curve.csv'), 'utf8')
    .trim()
    .split('\n');
  assert.equal(csv.length, a.curve.length + 1);
  for (const r of [a, b, c]) r.predictor.dispose();
  loaded.dispose();
});

test('a run saved before the later options (contrast, temporal evidence, map dropout, scorer width) loads them as off', async () => {
  const syn = syntheticSet({ videos: 24, T: 4, H: 2, W: 2, C: 8, vectors: { action: 4 } });
  const out = join(tmp, 'older');
  const r = await trainRun({
    features: syn.source,
    dataset: syn.dataset,
    out,
    model: {
      variant: 'dual',
      focusContrast: false,
      valueContrast: 'off',
      temporalEvidence: false,
      mapDropout: 0,
      spatialScoreDim: 0,
    },
    train: { epochs: 2, ensemble: 1 },
  });
  // config.json as dfan wrote it before those options existed
  const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  for (const k of ['focusContrast', 'valueContrast', 'temporalEvidence', 'mapDropout', 'spatialScoreDim'])
    delete cfg.model[k];
  writeFileSync(join(out, 'config.json'), JSON.stringify(cfg));
  const loaded = await loadRun(out);
  assert.equal(loaded.model.arch.temporal?.focusContrast, false);
  assert.equal(loaded.model.arch.streams[0].spatial?.valueContrast, 'off');
  const [a, b] = await Promise.all(
    [r.predictor, loaded].map((p) => evaluateRun(p, { dataset: syn.dataset, features: syn.source })),
  );
  assert.deepEqual(b.videos, a.videos);
  r.predictor.dispose();
  loaded.dispose();
});

test('focus dataset (features): dual beats mean, temporal hit rate and spatial pointing well above chance', async () => {
  const syn = syntheticSet({ videos: 180, T: 8, H: 4, W: 4, C: 32, strength: 3, seed: 5 });
  const results: Record<string, { acc: number; hit: number; point: number }> = {};
  for (const variant of ['mean', 'dual'] as const) {
    const r = await trainRun({
      features: syn.source,
      dataset: syn.dataset,
      model: { variant },
      train: { epochs: 30, batchSize: 16, lr: 3e-3, patience: 30, ensemble: 1 },
    });
    const ev = await evaluateRun(r.predictor, { dataset: syn.dataset, features: syn.source });
    let hit = 0;
    let point = 0;
    for (const v of ev.videos) {
      const truth = syn.truth.get(v.key)!;
      const top = v.beta.indexOf(Math.max(...v.beta));
      if (truth.snippets.includes(top)) hit++;
      const grid = v.alpha.object[truth.snippets[0]];
      if (truth.cells.includes(grid.indexOf(Math.max(...grid)))) point++;
    }
    results[variant] = {
      acc: ev.metrics.accuracy,
      hit: hit / ev.videos.length,
      point: point / ev.videos.length,
    };
    r.predictor.dispose();
  }
  const chanceHit = 1 / 8;
  const chancePoint = 1 / 16;
  assert.ok(results.dual.acc > results.mean.acc + 0.1, JSON.stringify(results));
  assert.ok(results.dual.hit > 3 * chanceHit, `temporal hit rate ${results.dual.hit} vs chance ${chanceHit}`);
  assert.ok(results.dual.point > 5 * chancePoint, `pointing ${results.dual.point} vs chance ${chancePoint}`);
});
