import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { listSplitNumbers, parseListText, readClassInd, readListSplit } from '../../src/data/lists.js';
import { openDataset } from '../../src/data/open.js';
import { datasetStats } from '../../src/data/stats.js';
import { DfanError } from '../../src/errors.js';
import { needShared, sharedPath } from '../helpers/shared.js';
import { testDir } from '../helpers/temp.js';

const tmp = testDir('dfan-lists-');

/** Count `Class/...` lines per class straight from the raw file, independently of the reader. */
function rawCounts(file: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const cls = line.split('/')[0];
    m.set(cls, (m.get(cls) ?? 0) + 1);
  }
  return m;
}

test('VE-8 split 1: 732 train / 367 test, per-class counts as in the raw lists, no overlap', {
  skip: needShared('datasets/ve8/trainlist01.txt'),
}, () => {
  const dir = sharedPath('datasets/ve8');
  assert.deepEqual(listSplitNumbers(dir), [1]);
  const ds = readListSplit(dir, 1, { name: 've8' });
  const train = ds.items.filter((i) => i.split === 'train');
  const test = ds.items.filter((i) => i.split === 'test');
  assert.equal(train.length, 732);
  assert.equal(test.length, 367);
  assert.equal(ds.classes.length, 8);
  const stats = datasetStats(ds);
  for (const [split, file] of [
    ['train', 'trainlist01.txt'],
    ['test', 'testlist01.txt'],
  ] as const) {
    const raw = rawCounts(join(dir, file));
    assert.equal(
      [...raw.values()].reduce((a, b) => a + b, 0),
      split === 'train' ? 732 : 367,
    );
    for (const [cls, n] of raw) assert.equal(stats.perClass[cls][split], n, `${split} ${cls}`);
  }
  const trainKeys = new Set(train.map((i) => i.key));
  assert.equal(test.filter((i) => trainKeys.has(i.key)).length, 0, 'train ∩ test = ∅');
  // the basename filed under both Disgust and Fear stays two items
  const dup = ds.items.filter((i) => i.key.endsWith('/3527012618_7ceb8fb27b_700'));
  assert.deepEqual(dup.map((i) => `${i.label}:${i.key}`).sort(), [
    'Disgust:Disgust/3527012618_7ceb8fb27b_700',
    'Fear:Fear/3527012618_7ceb8fb27b_700',
  ]);
  // keys are unique and the JSON distributed beside the lists agrees on the labels
  assert.equal(new Set(ds.items.map((i) => i.key)).size, 1099);
  const json = JSON.parse(readFileSync(join(dir, 've8_01.json'), 'utf8')) as {
    database: Record<string, { subset: string; annotations: { label: string } }>;
  };
  const byBase = new Map<string, string[]>();
  for (const i of ds.items) {
    const b = i.key.split('/')[1];
    byBase.set(b, [...(byBase.get(b) ?? []), i.label]);
  }
  assert.equal(Object.keys(json.database).length, byBase.size);
  for (const [name, rec] of Object.entries(json.database))
    assert.ok(byBase.get(name)?.includes(rec.annotations.label), name);
});

test('Ekman-6 split: 819 train / 818 test, per-class counts as in the raw lists', {
  skip: needShared('datasets/ek6/trainlist01.txt'),
}, async () => {
  const src = await openDataset('ek6', { lists: sharedPath('datasets/ek6') });
  assert.deepEqual(src.splits, [1]);
  assert.deepEqual(src.classes, ['anger', 'disgust', 'fear', 'joy', 'sadness', 'surprise']);
  const ds = src.load(1);
  const stats = datasetStats(ds);
  assert.equal(stats.perSplit.train, 819);
  assert.equal(stats.perSplit.test, 818);
  for (const [split, file] of [
    ['train', 'trainlist01.txt'],
    ['test', 'testlist01.txt'],
  ] as const) {
    for (const [cls, n] of rawCounts(sharedPath('datasets/ek6', file)))
      assert.equal(stats.perClass[cls][split], n);
  }
  const ids = ds.items.map((i) => Number(i.key.split('/')[1])).sort((a, b) => a - b);
  assert.equal(ids[0], 1);
  assert.equal(ids[ids.length - 1], 1637);
  assert.equal(new Set(ids).size, 1637);
  assert.equal(stats.videos, undefined, 'no --root: videos are not looked up');
});

test('list parsing: names with spaces, optional index, mismatched index and overlap are errors with the line', () => {
  const classes = ['Anger', 'Fear'];
  const e = parseListText('Fear/a b c 2\nAnger/x.mp4\n\nfear/y\n', 'l.txt', classes);
  assert.deepEqual(
    e.map((x) => [x.key, x.label, x.line]),
    [
      ['Fear/a b c', 'Fear', 1],
      ['Anger/x.mp4', 'Anger', 2], // verbatim: VAANet names are file names minus the last extension
      ['Fear/y', 'Fear', 4],
    ],
  );
  const bad = (text: string, re: RegExp) =>
    assert.throws(
      () => parseListText(text, 'l.txt', classes),
      (x: unknown) => x instanceof DfanError && re.test(x.message),
    );
  bad('Fear/a 1\n', /line 1: class index 1 does not match the folder "Fear"/);
  bad('Joy/a\n', /line 1: class "Joy" is not in the class index/);
  bad('noslash 1\n', /line 1: expected/);
  bad('Fear/a\nFear/a\n', /line 2: Fear\/a is already listed on line 1/);

  const dir = join(tmp, 'overlap');
  mkdirSync(dir);
  writeFileSync(join(dir, 'classInd.txt'), '1 Anger\n2 Fear\n');
  writeFileSync(join(dir, 'trainlist01.txt'), 'Anger/a 1\nFear/b 2\n');
  writeFileSync(join(dir, 'testlist01.txt'), 'Anger/c\nFear/b\n');
  assert.throws(() => readListSplit(dir, 1), /line 2: Fear\/b is in both the train and the test list/);
  writeFileSync(join(dir, 'classInd.txt'), '1 Anger\n3 Fear\n');
  assert.throws(() => readClassInd(join(dir, 'classInd.txt')), /2 is missing/);
});

test('videos are found by name under the root; missing ones are listed', () => {
  const dir = join(tmp, 'found');
  const root = join(dir, 'videos');
  mkdirSync(join(root, 'VideoEmotionDataset1-Anger', 'youtube'), { recursive: true });
  mkdirSync(join(root, 'Fear'), { recursive: true });
  writeFileSync(join(root, 'VideoEmotionDataset1-Anger', 'youtube', 'a.wmv'), 'x');
  writeFileSync(join(root, 'Fear', 'dup.flv'), 'x');
  writeFileSync(join(dir, 'classInd.txt'), '1 Anger\n2 Fear\n');
  writeFileSync(join(root, 'Fear', 'Party.mp4.mp4'), 'x');
  writeFileSync(join(root, 'Fear', 'Other.wmv'), 'x');
  writeFileSync(join(dir, 'trainlist01.txt'), 'Anger/a 1\nFear/dup 2\nFear/Party.mp4 2\nFear/Other.wmv 2\n');
  writeFileSync(join(dir, 'testlist01.txt'), 'Anger/dup\nFear/gone\n');
  const ds = readListSplit(dir, 1, { root });
  assert.match(ds.items[0].video ?? '', /youtube\/a\.wmv$/);
  assert.match(ds.items[1].video ?? '', /Fear\/dup\.flv$/);
  assert.match(
    ds.items[2].video ?? '',
    /Fear\/Party\.mp4\.mp4$/,
    'list name = file name minus its last extension',
  );
  assert.match(ds.items[3].video ?? '', /Fear\/Other\.wmv$/, 'or the file name itself');
  assert.deepEqual(
    ds.missing.map((m) => m.key),
    ['Anger/dup', 'Fear/gone'],
  );
  const s = datasetStats(ds);
  assert.equal(s.videos?.found, 4);
  assert.deepEqual(s.videos?.perSplit.test, { found: 0, missing: 2 });
});
