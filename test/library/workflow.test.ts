/**
 * The research workflow through the library, held against the CLI on the same files: `extract`
 * (resumes), `train` (from a manifest path or a Dataset built in code: the same seeded curve;
 * with `observeTest`, the same curve and the test-selected figure),
 * `evaluate` (the metrics `dfan eval --json` prints, from a run folder or a loaded run, whose
 * `predict` on a stored feature file agrees) and a recognizer on the trained run (what
 * `dfan predict --model RUN --json` prints). Generated clips, two classes told apart by colour,
 * through the fake pack: no ../shared needed.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import * as dfan from '../../src/index.js';
import { writeFakePack } from '../app/fake-pack.js';
import { runCli } from '../helpers/cli.js';
import { lavfiClip } from '../helpers/ffmpeg.js';
import { testDir } from '../helpers/temp.js';
import { timeless } from './helpers.js';

const dir = testDir('dfan-library-workflow-');
const feats = join(dir, 'feats');
const manifest = join(dir, 'videos.csv');
const runDir = join(dir, 'run');
let pack = '';
const rows: Array<{ key: string; label: string; split: 'train' | 'test' }> = [];

before(async () => {
  pack = await writeFakePack(dir);
  for (let i = 0; i < 12; i++) {
    const label = i % 2 === 0 ? 'red' : 'blue';
    const key = `clips/${label}-${i}.mp4`;
    // a white box wandering over a coloured field: the colour is the class
    lavfiClip(
      join(dir, key.replace('clips/', '')),
      `color=c=${label}:s=160x120:d=2:r=10,drawbox=x=${10 * i}:y=${5 * i}:w=30:h=30:color=white:t=fill,format=yuv420p`,
    );
    rows.push({ key: key.replace('clips/', ''), label, split: i < 8 ? 'train' : 'test' });
  }
  writeFileSync(
    manifest,
    `video,label,split\n${rows.map((r) => `${r.key},${r.label},${r.split}`).join('\n')}\n`,
  );
});

const TRAIN = { epochs: 3, ensemble: 1, seed: 1 };

test('extract → train → evaluate → predict: the CLI answers, through typed calls', async () => {
  const progress: dfan.ExtractProgress[] = [];
  const first = await dfan.extract(manifest, {
    out: feats,
    pack,
    snippets: 8,
    onProgress: (p) => progress.push(p),
  });
  assert.deepEqual(first.failed, []);
  assert.equal(first.done, rows.length);
  assert.equal(first.packId, 'fake-face@test');
  assert.equal(progress.filter((p) => p.status === 'done').length, rows.length);
  const again = await dfan.extract(manifest, { out: feats, pack, snippets: 8 });
  assert.equal(again.skipped, rows.length, 'a second call resumes: every valid file is kept');
  assert.equal(again.done, 0);

  const epochs: dfan.EpochLog[] = [];
  const lines: string[] = [];
  const trained = await dfan.train({
    features: feats,
    dataset: manifest,
    out: runDir,
    train: TRAIN,
    onEpoch: (e) => epochs.push(e),
    onLog: (l) => lines.push(l),
  });
  trained.predictor.dispose();
  assert.deepEqual(
    epochs.map((e) => e.epoch),
    [1, 2, 3],
  );
  assert.ok(
    lines.some((l) => /epoch/.test(l)),
    'the progress lines `dfan train` prints',
  );
  assert.deepEqual([...trained.classes].sort(), ['blue', 'red']);
  assert.equal(trained.trainSize, 8);

  const cliEval = await runCli(['eval', '--run', runDir, '--dataset', manifest, '--json']);
  assert.equal(cliEval.code, 0, cliEval.stderr);
  const fromFolder = await dfan.evaluate(runDir, { dataset: manifest });
  assert.deepEqual(fromFolder.metrics, JSON.parse(cliEval.stdout));
  assert.equal(fromFolder.metrics.n, 4);
  assert.equal(fromFolder.videos.length, 4);
  // the run records the dataset it was trained on: evaluate(run) alone finds it, as `dfan eval --run` does
  assert.deepEqual((await dfan.evaluate(runDir)).metrics, fromFolder.metrics);
  const cliAlone = await runCli(['eval', '--run', runDir, '--json']);
  assert.equal(cliAlone.code, 0, cliAlone.stderr);
  assert.deepEqual(JSON.parse(cliAlone.stdout), fromFolder.metrics);
  const loaded = await dfan.loadRun(runDir);
  try {
    assert.deepEqual(loaded.classes, trained.classes);
    const fromLoaded = await dfan.evaluate(loaded, { dataset: manifest, split: 'test' });
    assert.deepEqual(fromLoaded.metrics, fromFolder.metrics);
    // from the feature store to one video's answer, with the public API alone
    const store = await dfan.FeatureStore.open(feats);
    const video = fromLoaded.videos[0];
    const one = loaded.predict(await store.load(video.key));
    assert.equal(one.probs.length, 2);
    for (const [c, p] of one.probs.entries())
      assert.ok(Math.abs(p - video.probs[c]) < 1e-5, `${p} vs ${video.probs[c]}`);
  } finally {
    loaded.dispose();
  }

  const clip = join(dir, rows[9].key);
  const cliPredict = await runCli(['predict', clip, '--model', runDir, '--pack', pack, '--json']);
  assert.equal(cliPredict.code, 0, cliPredict.stderr);
  const recognizer = await dfan.createRecognizer({ model: runDir, pack });
  try {
    assert.equal(recognizer.model.kind, 'trained');
    assert.deepEqual(timeless(await recognizer.predict(clip)), timeless(JSON.parse(cliPredict.stdout)));
  } finally {
    await recognizer.dispose();
  }
});

test('train from a Dataset built in code = train from the manifest (same seed, same curve)', async () => {
  const dataset: dfan.Dataset = {
    name: 'videos',
    classes: ['blue', 'red'],
    items: rows.map((r) => ({ ...r, video: join(dir, r.key) })),
    missing: [],
  };
  const a = await dfan.train({ features: feats, dataset, train: TRAIN });
  const b = await dfan.train({ features: feats, dataset: manifest, train: TRAIN });
  // observing the test split changes nothing; evaluate() then gives the figure beside the metrics
  const c = await dfan.train({ features: feats, dataset: manifest, train: TRAIN, observeTest: true });
  const ev = await dfan.evaluate(c.predictor, { dataset: manifest });
  for (const r of [a, b, c]) r.predictor.dispose();
  assert.equal(a.runDir, null, 'no out: the model stays in memory');
  assert.deepEqual(
    a.curve.map((e) => e.loss),
    b.curve.map((e) => e.loss),
  );
  assert.deepEqual(
    c.curve.map((e) => e.loss),
    b.curve.map((e) => e.loss),
  );
  assert.equal(b.testSelected, null);
  assert.equal(c.testSelected?.n, 4);
  assert.deepEqual(ev.testSelected, c.testSelected);
  assert.equal(c.testSelected?.accuracy, Math.max(...c.curve.map((e) => e.testAccuracy ?? -1)));
});
