/**
 * `dfan eval --run RUN` alone: the run records the dataset it was trained on (config.json
 * `datasetRef`), runs saved before that still evaluate with --dataset, and a dataset that has
 * moved is a typed error that names the recorded file and the fix. A run trained with
 * --observe-test shows its test-selected figure after the metrics, labelled, on its test videos only.
 */
import assert from 'node:assert/strict';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCliSync } from '../helpers/cli.js';
import { syntheticStore } from '../helpers/synthetic-store.js';
import { testDir } from '../helpers/temp.js';

const tmp = testDir('dfan-eval-');
const dfan = (...args: string[]) => runCliSync(args);

test('dfan eval --run RUN finds the dataset the run was trained on; old and moved ones say what to do', async () => {
  const spec = { videos: 30, T: 4, H: 2, W: 2, C: 8, strength: 4, vectors: { action: 4 } };
  const { syn, features, manifest } = await syntheticStore(tmp, spec);
  const run = join(tmp, 'run');
  const t = dfan('train', '--features', features, '--dataset', manifest, '--out', run, '--epochs', '2');
  assert.equal(t.status, 0, t.stderr);
  assert.match(t.stdout, new RegExp(`next: dfan eval --run ${run}\\n`));
  const cfgFile = join(run, 'config.json');
  const cfg = JSON.parse(readFileSync(cfgFile, 'utf8'));
  assert.deepEqual(cfg.datasetRef, { path: manifest, split: 1 });

  const alone = dfan('eval', '--run', run, '--json');
  assert.equal(alone.status, 0, alone.stderr);
  const given = dfan('eval', '--run', run, '--dataset', manifest, '--json');
  assert.equal(given.status, 0, given.stderr);
  const m = JSON.parse(alone.stdout);
  assert.equal(m.n, syn.dataset.items.filter((i) => i.split === 'test').length);
  assert.deepEqual(m, JSON.parse(given.stdout));

  // the dataset moved: the error names the recorded file and the option that fixes it
  const moved = join(tmp, 'moved.csv');
  renameSync(manifest, moved);
  const lost = dfan('eval', '--run', run);
  assert.equal(lost.status, 1);
  assert.match(lost.stderr, new RegExp(`${manifest}: the dataset this run was trained on has moved`));
  assert.match(lost.stderr, /--dataset/);
  const found = dfan('eval', '--run', run, '--dataset', moved, '--json');
  assert.equal(found.status, 0, found.stderr);
  assert.deepEqual(JSON.parse(found.stdout), m);

  // a run saved before runs recorded their dataset still loads, and asks for --dataset
  const { datasetRef: _, ...old } = cfg;
  writeFileSync(cfgFile, `${JSON.stringify(old, null, 2)}\n`);
  const before = dfan('eval', '--run', run);
  assert.equal(before.status, 2);
  assert.match(before.stderr, /does not record the dataset it was trained on.*--dataset/);
  const oldGiven = dfan('eval', '--run', run, '--dataset', moved, '--json');
  assert.equal(oldGiven.status, 0, oldGiven.stderr);
  assert.deepEqual(JSON.parse(oldGiven.stdout), m);
});

test('dfan train --observe-test: eval prints the test-selected figure after the metrics, labelled, and beside accuracy in the JSON', async () => {
  const dir = join(tmp, 'observed');
  const spec = { videos: 40, T: 4, H: 2, W: 2, C: 8, strength: 2, vectors: { action: 4 }, seed: 5 };
  const { syn, features, manifest } = await syntheticStore(dir, spec);
  const train = (out: string, ...extra: string[]) =>
    dfan(
      'train',
      '--features',
      features,
      '--dataset',
      manifest,
      '--out',
      join(dir, out),
      '--epochs',
      '3',
      '--ensemble',
      '1',
      ...extra,
    );
  const seen = train('seen', '--observe-test');
  assert.equal(seen.status, 0, seen.stderr);
  assert.match(
    seen.stdout,
    /test-selected \(best epoch on the test split, as VAANet\/CTEN code does; not a fair estimate\): \d+\.\d % at epoch \d/,
  );
  assert.match(seen.stderr, /test acc \d+\.\d % \(observed, chooses nothing\)/);
  const plain = train('plain');
  assert.equal(plain.status, 0, plain.stderr);
  assert.ok(
    readFileSync(join(dir, 'seen', 'weights.safetensors')).equals(
      readFileSync(join(dir, 'plain', 'weights.safetensors')),
    ),
  );

  const a = dfan('eval', '--run', join(dir, 'seen'), '--json');
  assert.equal(a.status, 0, a.stderr);
  const b = dfan('eval', '--run', join(dir, 'plain'), '--json');
  const withFigure = JSON.parse(a.stdout);
  const without = JSON.parse(b.stdout);
  assert.equal(without.testSelected, undefined, 'a plain run has no such field');
  const { testSelected, ...metrics } = withFigure;
  assert.deepEqual(metrics, without, 'the Metrics contract is unchanged: the figure is a field beside it');
  const recorded = JSON.parse(readFileSync(join(dir, 'seen', 'config.json'), 'utf8')).result.testSelected;
  assert.deepEqual(testSelected, {
    accuracy: Math.max(...recorded.perEpoch),
    epoch: recorded.epoch,
    n: syn.dataset.items.filter((i) => i.split === 'test').length,
    members: 1,
    note: 'best epoch on the test split, as VAANet/CTEN code does; not a fair estimate',
  });
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'seen', 'eval-test.json'), 'utf8')), withFigure);

  const md = dfan('eval', '--run', join(dir, 'seen'));
  const at = md.stdout.indexOf('**Test-selected** (best epoch on the test split');
  assert.ok(at > md.stdout.indexOf('Confusion matrix'), 'after the honest metrics');
  assert.match(
    md.stdout.slice(at),
    /not a fair estimate\): \d+\.\d % at epoch \d on the same \d+ videos\. .*dfan's own/,
  );
  // not on another split
  const onTrain = dfan('eval', '--run', join(dir, 'seen'), '--split', 'train', '--json');
  assert.equal(onTrain.status, 0, onTrain.stderr);
  assert.equal(JSON.parse(onTrain.stdout).testSelected, undefined);
  // nor on other test videos: one test row fewer
  const rows = readFileSync(manifest, 'utf8').trim().split('\n');
  const fewer = join(dir, 'fewer.csv');
  const firstTest = rows.findIndex((x) => x.endsWith(',test'));
  writeFileSync(fewer, `${rows.filter((_, i) => i !== firstTest).join('\n')}\n`);
  const other = dfan('eval', '--run', join(dir, 'seen'), '--dataset', fewer);
  assert.equal(other.status, 0, other.stderr);
  assert.doesNotMatch(other.stdout, /\*\*Test-selected\*\*/);
  assert.match(
    other.stdout,
    /records a test-selected figure for another set of \d+ test videos: not shown here/,
  );
});
