import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { syntheticSet } from '../../research/synthetic.js';
import { resolveTrainConfig } from '../../src/model/config.js';
import { checkMembers } from '../../src/model/ensemble.js';
import { evaluateRun } from '../../src/model/evaluate.js';
import { loadRun } from '../../src/model/run.js';
import { trainRun } from '../../src/model/train-run.js';
import { syntheticStore } from '../helpers/synthetic-store.js';
import { testDir } from '../helpers/temp.js';

const tmp = testDir('dfan-ensemble-');

const close = (a: ArrayLike<number>, b: ArrayLike<number>, what: string) => {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++)
    assert.ok(Math.abs(a[i] - b[i]) < 1e-6, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
};

test('ensemble from a feature folder: members train in worker threads, the run folder loads as their mean', async () => {
  const spec = { videos: 40, T: 6, H: 3, W: 3, C: 16, strength: 2, vectors: { action: 4 }, seed: 2 };
  const { syn, features } = await syntheticStore(tmp, spec);
  const out = join(tmp, 'run');
  const lines: string[] = [];
  const r = await trainRun({
    features,
    dataset: syn.dataset,
    out,
    model: { variant: 'dual' },
    train: { epochs: 3, seed: 5, ensemble: 3 },
    log: (l) => lines.push(l),
  });
  try {
    assert.ok(
      lines.some((l) => /ensemble: 3 models \(seeds 5, 6, 7\).*worker threads/.test(l)),
      lines.join('\n'),
    );
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    assert.deepEqual(cfg.members, ['members/1', 'members/2']);
    // each member is a run folder of its own, with its own seed and no members
    const m1 = await loadRun(join(out, 'members', '1'));
    const m2 = await loadRun(join(out, 'members', '2'));
    assert.equal(m1.config.train.seed, 6);
    assert.equal(m2.config.train.seed, 7);
    assert.equal(m1.config.members, undefined);
    // the first member alone: the run folder without its member list
    const { members: _, ...single } = cfg;
    const firstDir = join(tmp, 'first');
    const { cpSync, writeFileSync } = await import('node:fs');
    cpSync(out, firstDir, { recursive: true });
    writeFileSync(join(firstDir, 'config.json'), JSON.stringify(single));
    const m0 = await loadRun(firstDir);
    checkMembers([m0, m1, m2]); // same preprocessing: fitted with the data seed, not the member's

    const loaded = await loadRun(out);
    const [ev, e0, e1, e2, eL] = await Promise.all(
      [r.predictor, m0, m1, m2, loaded].map((p) =>
        evaluateRun(p, { dataset: syn.dataset, split: 'test', features }),
      ),
    );
    assert.deepEqual(eL.videos, ev.videos, 'saved and loaded: the same predictions as the trained one');
    assert.notDeepEqual(e0.videos[0].probs, e1.videos[0].probs, 'members differ');
    for (const [i, v] of ev.videos.entries()) {
      const mean = (f: (x: (typeof ev.videos)[number]) => number[]) =>
        f(e0.videos[i]).map((_, j) => (f(e0.videos[i])[j] + f(e1.videos[i])[j] + f(e2.videos[i])[j]) / 3);
      close(
        v.probs,
        mean((x) => x.probs),
        `${v.key} probs`,
      );
      close(
        v.beta,
        mean((x) => x.beta),
        `${v.key} beta`,
      );
      for (let t = 0; t < v.alpha.object.length; t++)
        close(
          v.alpha.object[t],
          mean((x) => x.alpha.object[t]),
          `${v.key} alpha[${t}]`,
        );
    }
    // one video through predict(): the same means
    const vf = await syn.source.load(ev.videos[0].key);
    const p = loaded.predict(vf);
    const ps = [m0, m1, m2].map((m) => m.predict(vf));
    close(
      p.probs,
      ps[0].probs.map((_, j) => (ps[0].probs[j] + ps[1].probs[j] + ps[2].probs[j]) / 3),
      'predict probs',
    );
    for (const m of [m0, m1, m2, loaded]) m.dispose();
  } finally {
    r.predictor.dispose();
  }
});

test('members fitted on other preprocessing are refused; ensemble size is checked', async () => {
  const syn = syntheticSet({ videos: 24, T: 4, H: 2, W: 2, C: 8, seed: 1 });
  const one = (dataSeed: number) =>
    trainRun({
      features: syn.source,
      dataset: syn.dataset,
      model: { variant: 'dual', mapDim: 4 }, // a PCA basis that depends on the data seed
      train: { epochs: 1, ensemble: 1 },
      dataSeed,
    });
  const a = await one(0);
  const b = await one(1);
  assert.throws(() => checkMembers([a.predictor, b.predictor]), /different preprocessing/);
  a.predictor.dispose();
  b.predictor.dispose();
  for (const k of [0, 9, 1.5]) assert.throws(() => resolveTrainConfig({ ensemble: k }), /ensemble must be/);
  assert.equal(resolveTrainConfig({}).ensemble, 2);
});
