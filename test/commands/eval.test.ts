/**
 * `dfan eval --run RUN` alone: the run records the dataset it was trained on (config.json
 * `datasetRef`), runs saved before that still evaluate with --dataset, and a dataset that has
 * moved is a typed error that names the recorded file and the fix.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { projectRoot } from '../../src/version.js';
import { syntheticStore } from '../helpers/synthetic-store.js';
import { testDir } from '../helpers/temp.js';

const tmp = testDir('dfan-eval-');
const cli = join(projectRoot(), 'dist', 'src', 'cli.js');
const dfan = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });

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
