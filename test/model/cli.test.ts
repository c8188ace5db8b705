import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCliSync } from '../helpers/cli.js';
import { syntheticStore } from '../helpers/synthetic-store.js';
import { testDir } from '../helpers/temp.js';

const tmp = testDir('dfan-cli-');
const dfan = (...args: string[]) => runCliSync(args);

test('dfan train → dfan eval on a feature store and a CSV manifest (videos absent: features suffice)', async () => {
  const spec = { videos: 36, T: 6, H: 3, W: 3, C: 16, strength: 4, vectors: { action: 4 } };
  const { syn, features, manifest } = await syntheticStore(tmp, spec);
  const run = join(tmp, 'run');
  const train = (...extra: string[]) =>
    dfan('train', '--features', features, '--dataset', manifest, '--out', run, ...extra);
  const t = train('--epochs', '3', '--seed', '2');
  assert.equal(t.status, 0, t.stderr);
  assert.match(t.stderr, /epoch {3}1 {2}loss/);
  assert.match(t.stdout, /trained 3 epochs/);
  for (const f of ['weights.safetensors', 'config.json', 'labels.json', 'curve.json', 'curve.csv'])
    assert.ok(existsSync(join(run, f)), f);
  const cfg = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8'));
  assert.equal(cfg.packId, 'synthetic@1');
  assert.equal(cfg.model.variant, 'dual');
  // what auto chose is saved, never 'auto' (-1): a later default must not reread this run
  assert.ok(cfg.model.mapDim >= 0 && cfg.model.spatialScoreDim >= 0, JSON.stringify(cfg.model));
  const e = dfan('eval', '--run', run, '--dataset', manifest, '--json');
  assert.equal(e.status, 0, e.stderr);
  const m = JSON.parse(e.stdout);
  assert.equal(m.n, syn.dataset.items.filter((i) => i.split === 'test').length);
  assert.deepEqual(m.classes, syn.dataset.classes);
  assert.ok(existsSync(join(run, 'eval-test.md')));
  assert.match(readFileSync(join(run, 'eval-test.md'), 'utf8'), /Confusion matrix/);

  const bad = train('--variant', 'triple');
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /unknown variant "triple"/);
  const noStream = train('--streams', 'audio');
  assert.notEqual(noStream.status, 0);
  assert.match(noStream.stderr, /audio/);
});

test('dfan train without options asks for exactly the library defaults (DEFAULT_MODEL, DEFAULT_TRAIN)', async () => {
  const { buildProgram } = await import('../../src/program.js');
  const { trainConfigFromOptions } = await import('../../src/commands/train.js');
  const { DEFAULT_MODEL, DEFAULT_TRAIN, resolveModelConfig, resolveTrainConfig } = await import(
    '../../src/model/config.js'
  );
  const parsed = (...extra: string[]) => {
    const program = buildProgram();
    const cmd = program.commands.find((c) => c.name() === 'train');
    assert.ok(cmd);
    let opts: Record<string, string | number | boolean | undefined> = {};
    cmd.action((o) => {
      opts = o;
    });
    program.parse(['train', '--features', 'f', '--dataset', 'd', '--out', 'o', ...extra], { from: 'user' });
    return trainConfigFromOptions(opts);
  };
  const d = parsed();
  assert.deepEqual(resolveModelConfig(d.model), DEFAULT_MODEL);
  assert.deepEqual(resolveTrainConfig(d.train), DEFAULT_TRAIN);
  // and the options do reach the configs
  const c = parsed(
    '--spatial-hidden',
    '64',
    '--temporal-hidden',
    '16',
    '--batch',
    '16',
    '--no-focus-contrast',
    '--map-dropout',
    '0.5',
    '--polarity',
    'joy, trust',
  );
  assert.equal(c.model.spatialHidden, 64);
  assert.equal(c.model.temporalHidden, 16);
  assert.equal(c.train.batchSize, 16);
  assert.equal(c.model.focusContrast, false);
  assert.equal(c.model.mapDropout, 0.5);
  assert.throws(
    () => resolveModelConfig(parsed('--map-dropout', '1').model),
    /map dropout must be in \[0, 1\)/,
  );
  assert.deepEqual(c.model.positiveClasses, ['joy', 'trust']);
  assert.equal(c.model.polarityWeight, 0.5);
  // --value-contrast: a mode, or bare (its meaning before the modes: 'on'); saved booleans load alike
  assert.equal(parsed('--value-contrast', 'off').model.valueContrast, 'off');
  assert.equal(parsed('--value-contrast', '--heads', '2').model.valueContrast, 'on');
  assert.equal(resolveModelConfig({ valueContrast: true as never }).valueContrast, 'on');
  assert.equal(resolveModelConfig({ valueContrast: false as never }).valueContrast, 'off');
  assert.throws(
    () => resolveModelConfig(parsed('--value-contrast', 'sideways').model),
    /value contrast must be one of/,
  );
});
