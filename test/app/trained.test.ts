/**
 * `--model RUN`: a small DFAN run trained on synthetic features (object map 3×3×4, as the fake
 * pack makes) answers through the same predict path, labelled as a trained run, with its learned
 * temporal and spatial focus in the contract.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { checkPrediction } from '../../src/app/explain.js';
import { packSpecOf } from '../../src/app/run-model.js';
import type { Prediction } from '../../src/app/types.js';
import { runCli } from '../helpers/cli.js';
import { lavfiClip } from '../helpers/ffmpeg.js';
import { testDir } from '../helpers/temp.js';
import { writeFakePack } from './fake-pack.js';

const dir = testDir('dfan-app-trained-');
let runDir = '';
let clip = '';
let fakePack = '';

before(async () => {
  const { syntheticSet } = await import('../../research/synthetic.js');
  const { trainRun } = await import('../../src/model/train-run.js');
  const set = syntheticSet({ videos: 24, classes: 2, T: 16, H: 3, W: 3, C: 4, vectors: {}, seed: 3 });
  runDir = join(dir, 'run-synthetic');
  const res = await trainRun({
    features: set.source,
    dataset: set.dataset,
    out: runDir,
    model: { variant: 'dual' },
    train: { epochs: 2 },
  });
  res.predictor.dispose();
  clip = join(dir, 'clip.mp4');
  lavfiClip(clip, 'testsrc2=s=160x120:d=2:r=10,format=yuv420p');
  fakePack = await writeFakePack(dir);
});

test('pack spec from a run pack id', () => {
  assert.equal(packSpecOf('default@0.1.0'), 'default');
  assert.equal(packSpecOf('research@1'), 'research');
  assert.equal(packSpecOf('packs/my.json'), 'packs/my.json');
});

test('predict --model RUN: trained run, its classes, learned focus, contract invariants', async () => {
  const out = await runCli(['predict', clip, '--model', runDir, '--pack', fakePack, '--json']);
  assert.equal(out.code, 0, out.stderr);
  const p = JSON.parse(out.stdout) as Prediction;
  assert.deepEqual(checkPrediction(p), []);
  assert.equal(p.model.kind, 'trained');
  assert.equal(p.model.name, 'run-synthetic');
  assert.match(p.model.description, /variant dual/);
  assert.deepEqual(p.labels.map((l) => l.label).sort(), ['class0', 'class1']);
  assert.equal(p.snippets.length, 16);
  assert.deepEqual(Object.keys(p.spatial), ['object']);
  assert.equal(p.spatial.object.length, 16);
  assert.equal(p.spatial.object[0].grid.length, 3);
  assert.equal(p.spatial.object[0].grid[0].length, 3);
  // the fake map covers the whole frame: every grid says so, and the stream in words
  for (const g of p.spatial.object) assert.deepEqual(g.region, [0, 0, 1, 1]);
  assert.equal(p.spatialStreams?.[0].spans, 'the whole frame');
  const term = (await runCli(['predict', clip, '--model', runDir, '--pack', fakePack])).stdout;
  assert.match(term, /trained DFAN run/);
  assert.doesNotMatch(term, /ZERO-SHOT/);
});
