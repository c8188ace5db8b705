/**
 * The test-selected figure (src/model/test-selected.ts): an observation of the test split after
 * each epoch that changes nothing (byte-identical weights with and without it, single models and
 * ensembles in worker threads), and whose figure is the maximum over epochs of the test accuracy
 * as an independent evaluation of the model after each epoch measures it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { syntheticSet } from '../../research/synthetic.js';
import { evaluateRun } from '../../src/model/evaluate.js';
import { loadRun } from '../../src/model/run.js';
import {
  accuracyOf,
  keysTag,
  selectOnTest,
  TEST_SELECTED_NOTE,
  type TestObservation,
} from '../../src/model/test-selected.js';
import { type TrainRunOptions, trainRun } from '../../src/model/train-run.js';
import { syntheticStore } from '../helpers/synthetic-store.js';
import { testDir } from '../helpers/temp.js';

const tmp = testDir('dfan-test-selected-');

/** An observation of 3 videos, 2 classes (labels 0, 1, 1); rows = probabilities per epoch. */
const obs = (epochs: number[][][], keys = ['a', 'b', 'c']): TestObservation => ({
  keys,
  labels: [0, 1, 1],
  classes: 2,
  probs: epochs.map((rows) => Float32Array.from(rows.flat())),
});

test('selectOnTest: the first epoch with the best accuracy; an ensemble averages its members per epoch', () => {
  const right = [0.9, 0.1, 0.2, 0.8, 0.3, 0.7]; // 3 / 3
  const one = [0.9, 0.1, 0.6, 0.4, 0.3, 0.7]; // 2 / 3
  const none = [0.1, 0.9, 0.6, 0.4, 0.8, 0.2]; // 0 / 3
  const rows = (p: number[]) => [p.slice(0, 2), p.slice(2, 4), p.slice(4)];
  const single = selectOnTest([obs([none, right, one, right].map(rows))]);
  assert.deepEqual(single?.perEpoch, [0, 1, 2 / 3, 1]);
  assert.equal(single?.accuracy, 1);
  assert.equal(single?.epoch, 2, 'a later tie does not replace the first best epoch (`if acc > best`)');
  assert.equal(single?.members, 1);
  assert.equal(single?.n, 3);
  assert.equal(single?.note, TEST_SELECTED_NOTE);
  assert.equal(single?.testKeys, keysTag(['c', 'b', 'a']), 'the keys tag ignores order');

  // video b: member A says 0 (0.6), member B says 1 (0.9): the mean says 1 (right), neither alone is
  const A = obs([
    [
      [0.8, 0.2],
      [0.6, 0.4],
      [0.2, 0.8],
    ],
  ]);
  const B = obs([
    [
      [0.4, 0.6],
      [0.1, 0.9],
      [0.2, 0.8],
    ],
    [
      [0.9, 0.1],
      [0.1, 0.9],
      [0.2, 0.8],
    ],
  ]);
  assert.equal(accuracyOf(A.probs[0], A.labels, 2), 2 / 3);
  assert.equal(accuracyOf(B.probs[0], B.labels, 2), 2 / 3);
  const ens = selectOnTest([A, B]);
  assert.deepEqual(ens?.perEpoch, [1], 'only the epochs every member trained');
  assert.equal(ens?.members, 2);
  assert.throws(
    () =>
      selectOnTest([
        A,
        obs(
          [
            [
              [1, 0],
              [0, 1],
              [0, 1],
            ],
          ],
          ['a', 'c', 'b'],
        ),
      ]),
    /different test videos/,
  );
  assert.equal(selectOnTest([]), null);
  assert.equal(selectOnTest([obs([], [])]), null);
});

const SPEC = { videos: 60, T: 5, H: 3, W: 3, C: 12, strength: 2, vectors: { action: 4 }, seed: 4 };

/** The run's files as bytes, and its config and curve with the observation taken out. */
function runFiles(dir: string) {
  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  const curve = JSON.parse(readFileSync(join(dir, 'curve.json'), 'utf8')) as Array<Record<string, unknown>>;
  const { testSelected, seconds: _s, ...result } = cfg.result;
  return {
    weights: readFileSync(join(dir, 'weights.safetensors')),
    testSelected,
    result,
    train: cfg.train,
    model: cfg.model,
    members: cfg.members,
    curve: curve.map(({ seconds: _t, testAccuracy: _a, ...e }) => e),
    testAccuracy: curve.map((e) => e.testAccuracy),
  };
}

test('observing the test split changes nothing: byte-identical weights, curve and selection (validation and early stopping on)', async () => {
  const syn = syntheticSet(SPEC);
  const opts = (out: string, observeTest: boolean): TrainRunOptions => ({
    features: syn.source,
    dataset: syn.dataset,
    out: join(tmp, out),
    model: { variant: 'dual' },
    // a validation slice of 8 chooses the epoch, patience 2 stops early: both must see the same
    train: {
      epochs: 12,
      batchSize: 8,
      seed: 3,
      ensemble: 1,
      valFraction: 0.2,
      minValidation: 5,
      patience: 2,
    },
    observeTest,
  });
  const plain = await trainRun(opts('plain', false));
  const seen = await trainRun(opts('seen', true));
  assert.ok(plain.curve.length < 12, `early stopping ended the run (${plain.curve.length} epochs)`);
  const a = runFiles(join(tmp, 'plain'));
  const b = runFiles(join(tmp, 'seen'));
  assert.ok(a.weights.equals(b.weights), 'identical weight files');
  assert.deepEqual(b.curve, a.curve);
  assert.deepEqual(b.result, a.result);
  assert.deepEqual(b.train, a.train, 'the option is not part of the training config');
  assert.equal(a.testSelected, undefined, 'a plain run records no test-selected figure');
  assert.ok(a.testAccuracy.every((x) => x === undefined));
  assert.ok(b.testAccuracy.every((x) => typeof x === 'number'));
  assert.ok(!readFileSync(join(tmp, 'plain', 'curve.csv'), 'utf8').includes('test_accuracy'));
  assert.match(readFileSync(join(tmp, 'seen', 'curve.csv'), 'utf8'), /^epoch,.*,test_accuracy,seconds\n/);
  assert.equal(b.testSelected.accuracy, Math.max(...(b.testAccuracy as number[])));
  assert.equal(seen.testSelected?.n, syn.dataset.items.filter((i) => i.split === 'test').length);

  // the kept weights are those of the best validation epoch: evaluated now, they score what the
  // observation recorded for that epoch
  const ev = await evaluateRun(seen.predictor, { dataset: syn.dataset, features: syn.source });
  assert.equal(ev.metrics.accuracy, b.testAccuracy[seen.bestEpoch - 1]);
  for (const r of [plain, seen]) r.predictor.dispose();
});

test('the figure is the best of the per-epoch test accuracies that independent evaluations measure (single model)', async () => {
  const syn = syntheticSet(SPEC);
  // no validation: the run keeps its last epoch's weights (averageLast 1 below 15 epochs), so a run
  // stopped after e epochs IS the observed run after epoch e, evaluated by another path
  const opts = (epochs: number, observeTest: boolean): TrainRunOptions => ({
    features: syn.source,
    dataset: syn.dataset,
    model: { variant: 'dual' },
    train: { epochs, batchSize: 8, seed: 1, ensemble: 1, valFraction: 0 },
    observeTest,
  });
  const E = 5;
  const seen = await trainRun(opts(E, true));
  const independent: number[] = [];
  for (let e = 1; e <= E; e++) {
    const r = await trainRun(opts(e, false));
    independent.push(
      (await evaluateRun(r.predictor, { dataset: syn.dataset, features: syn.source })).metrics.accuracy,
    );
    r.predictor.dispose();
  }
  assert.deepEqual(seen.testSelected?.perEpoch, independent);
  assert.deepEqual(
    seen.curve.map((e) => e.testAccuracy),
    independent,
  );
  assert.equal(seen.testSelected?.accuracy, Math.max(...independent));
  assert.equal(seen.testSelected?.epoch, independent.indexOf(Math.max(...independent)) + 1);
  assert.ok(new Set(independent).size > 1, `accuracy moves over the epochs: ${independent}`);
  seen.predictor.dispose();
});

test('an ensemble in worker threads: the same members byte for byte, and the figure is the ensemble’s per epoch', async () => {
  const { syn, features } = await syntheticStore(join(tmp, 'store'), SPEC);
  const opts = (epochs: number, out: string | undefined, observeTest: boolean): TrainRunOptions => ({
    features,
    dataset: syn.dataset,
    out: out && join(tmp, out),
    model: { variant: 'dual' },
    train: { epochs, batchSize: 8, seed: 2, ensemble: 2, valFraction: 0 },
    observeTest,
  });
  const E = 4;
  const plain = await trainRun(opts(E, 'ens-plain', false));
  const seen = await trainRun(opts(E, 'ens-seen', true));
  for (const sub of ['', join('members', '1')]) {
    const a = runFiles(join(tmp, 'ens-plain', sub));
    const b = runFiles(join(tmp, 'ens-seen', sub));
    assert.ok(a.weights.equals(b.weights), `identical weights ${sub || 'first member'}`);
    assert.deepEqual(b.curve, a.curve);
  }
  const run = runFiles(join(tmp, 'ens-seen'));
  assert.deepEqual(run.members, ['members/1']);
  assert.equal(run.testSelected.members, 2, 'the run records the ensemble’s figure');
  assert.deepEqual(run.testSelected, seen.testSelected);
  const member = runFiles(join(tmp, 'ens-seen', 'members', '1'));
  assert.equal(member.testSelected.members, 1, 'a member records its own');
  const loaded = await loadRun(join(tmp, 'ens-seen'));
  assert.deepEqual(loaded.config.result.testSelected, seen.testSelected);
  loaded.dispose();

  // independently: the ensemble stopped after e epochs, evaluated as it predicts (members averaged)
  const independent: number[] = [];
  for (let e = 1; e <= E; e++) {
    const r = await trainRun(opts(e, undefined, false));
    independent.push((await evaluateRun(r.predictor, { dataset: syn.dataset, features })).metrics.accuracy);
    r.predictor.dispose();
  }
  assert.deepEqual(seen.testSelected?.perEpoch, independent);
  assert.equal(seen.testSelected?.accuracy, Math.max(...independent));
  for (const r of [plain, seen]) r.predictor.dispose();
});
