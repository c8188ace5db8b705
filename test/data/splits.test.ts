import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openDataset } from '../../src/data/open.js';
import { parseSplitRange, randomSplit, withValidationSlice } from '../../src/data/splits.js';
import type { Dataset } from '../../src/data/types.js';
import { testDir } from '../helpers/temp.js';

const tmp = testDir('dfan-splits-');

const base: Dataset = {
  name: 'x',
  classes: ['a', 'b', 'c'],
  items: Array.from({ length: 90 }, (_, i) => ({
    key: `${'abc'[i % 3]}/v${i}`,
    video: null,
    label: 'abc'[i % 3],
    split: 'train' as const,
  })),
  missing: [],
};

test('random 2:1 splits are stratified, seeded, and differ from split to split', () => {
  const s1 = randomSplit(base, 1);
  const again = randomSplit(base, 1);
  const s2 = randomSplit(base, 2);
  const testKeys = (d: Dataset) => d.items.filter((i) => i.split === 'test').map((i) => i.key);
  assert.deepEqual(testKeys(s1), testKeys(again), 'same split number, same seed → same split');
  assert.notDeepEqual(testKeys(s1), testKeys(s2));
  for (const c of base.classes)
    assert.equal(s1.items.filter((i) => i.label === c && i.split === 'test').length, 10);
  assert.equal(s1.splitNumber, 1);
  assert.notDeepEqual(testKeys(randomSplit(base, 1, 5)), testKeys(s1), 'another seed, another split');
});

test('the validation slice comes from the training items only', () => {
  const s = withValidationSlice(randomSplit(base, 3), 0.2, 1);
  const val = s.items.filter((i) => i.split === 'val');
  assert.equal(val.length, 12); // 20 % of the 20 training items of each class
  const test = new Set(
    randomSplit(base, 3)
      .items.filter((i) => i.split === 'test')
      .map((i) => i.key),
  );
  assert.ok(val.every((i) => !test.has(i.key)));
  assert.equal(s.items.filter((i) => i.split === 'test').length, 30);
});

test('split ranges', () => {
  assert.deepEqual(parseSplitRange('1-10'), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.deepEqual(parseSplitRange('3, 1,2-3'), [1, 2, 3]);
  assert.equal(parseSplitRange('0'), null);
  assert.equal(parseSplitRange('5-2'), null);
  assert.equal(parseSplitRange('x'), null);
});

test('a manifest without test rows and a folder per class get 10 random splits', async () => {
  const csv = join(tmp, 'm.csv');
  writeFileSync(
    csv,
    `video,label,split\n${base.items.map((i) => `${i.key}.mp4,${i.label},train`).join('\n')}\n`,
  );
  const m = await openDataset(csv);
  assert.equal(m.randomSplits, true);
  assert.deepEqual(m.splits, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  const d = m.load(4);
  assert.equal([...d.items, ...d.missing].filter((i) => i.split === 'test').length, 30);
  for (const c of ['a', 'b']) {
    mkdirSync(join(tmp, 'f', c), { recursive: true });
    for (let i = 0; i < 3; i++) writeFileSync(join(tmp, 'f', c, `${i}.mp4`), 'x');
  }
  const f = await openDataset(join(tmp, 'f'));
  assert.equal(f.kind, 'folders');
  assert.equal(f.load(1).items.filter((i) => i.split === 'test').length, 2);
  const withTest = join(tmp, 't.csv');
  writeFileSync(withTest, 'video,label,split\na.mp4,a,train\nb.mp4,b,test\n');
  const t = await openDataset(withTest);
  assert.deepEqual(t.splits, [1]);
  assert.equal(t.randomSplits, false);
});
