import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import ExcelJS from 'exceljs';
import {
  cleanVideoName,
  parseKeyClipRow,
  parseKeyRange,
  parseMinSec,
  readKeyClips,
} from '../../src/data/keyclips.js';
import { openDataset } from '../../src/data/open.js';
import { datasetStats } from '../../src/data/stats.js';
import { readSplitWorkbook, VE8_CLASSES, workbookSplit } from '../../src/data/ve8-splits.js';
import { needShared, sharedPath } from '../helpers/shared.js';
import { testDir } from '../helpers/temp.js';
import { fakeVideos, writeInferredWorkbook } from '../helpers/ve8-workbook.js';

const tmp = testDir('dfan-xlsx-');

test('10-split workbook (inferred layout) reads every split with Class/name keys', async () => {
  const videos = fakeVideos();
  const file = join(tmp, 'VideoEmotionDataset-TrainTestSplits.xlsx');
  const columns = await writeInferredWorkbook(file, videos, 10);
  const wb = await readSplitWorkbook(file);
  assert.deepEqual(
    [...wb.splits.keys()].sort((a, b) => a - b),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  );
  const byId = new Map(videos.map((v) => [v.id, v]));
  for (let s = 1; s <= 10; s++) {
    const ds = workbookSplit(wb, s);
    const stats = datasetStats(ds);
    assert.equal(stats.perSplit.train, columns[2 * (s - 1)].length);
    assert.equal(stats.perSplit.test, 16);
    for (const cls of VE8_CLASSES) assert.equal(stats.perClass[cls].test, 2);
    const expectTest = columns[2 * (s - 1) + 1]
      .map((id) => `${byId.get(id)!.cls}/${byId.get(id)!.stem}`)
      .sort();
    assert.deepEqual(
      ds.items
        .filter((i) => i.split === 'test')
        .map((i) => i.key)
        .sort(),
      expectTest,
    );
  }
  const all = workbookSplit(wb, 1).items.map((i) => i.key);
  assert.ok(all.includes('Disgust/same_name_700') && all.includes('Fear/same_name_700'));
  // the CLI door finds the workbook in a list folder without lists
  const src = await openDataset('ve8', { lists: tmp });
  assert.equal(src.splits.length, 10);
  assert.equal(src.load(3).items.length, videos.length);
  assert.throws(() => workbookSplit(wb, 11), /split 11 is not in the workbook/);
});

test('workbook variant: one sheet per split with video names', async () => {
  const file = join(tmp, 'one-sheet-per-split.xlsx');
  const wb = new ExcelJS.Workbook();
  for (let s = 1; s <= 2; s++) {
    const ws = wb.addWorksheet(`Split ${s}`);
    ws.addRow(['Train', 'Test']);
    ws.addRow(['Anger/youtube/a.mp4', 'Joy/flickr/b.mp4']);
    ws.addRow(['Trust/c.mp4', null]);
  }
  await wb.xlsx.writeFile(file);
  const r = await readSplitWorkbook(file);
  const ds = workbookSplit(r, 2);
  assert.deepEqual(
    ds.items.map((i) => `${i.split}:${i.key}`),
    ['train:Anger/a', 'train:Trust/c', 'test:Joy/b'],
  );
  const bad = new ExcelJS.Workbook();
  bad.addWorksheet('Split 1').addRows([
    ['Train', 'Test'],
    ['Nowhere/x.mp4', null],
  ]);
  await bad.xlsx.writeFile(join(tmp, 'bad.xlsx'));
  await assert.rejects(
    readSplitWorkbook(join(tmp, 'bad.xlsx')),
    /cell A2: cannot tell the class of "Nowhere\/x.mp4"/,
  );
});

test("key-clip cells: m's, m's-m's and the oddities of the real file", () => {
  assert.equal(parseMinSec("2'53"), 173);
  assert.equal(parseMinSec("0'05"), 5);
  assert.equal(parseMinSec("'029"), 29);
  assert.equal(parseMinSec('0;25'), 25);
  assert.equal(parseMinSec("0'79"), 79);
  assert.equal(parseMinSec('1:30'), null);
  assert.deepEqual(parseKeyRange("0'0-'050"), { start: 0, end: 50 });
  assert.deepEqual(parseKeyRange("1'01-1'12"), { start: 61, end: 72 });
  assert.equal(
    cleanVideoName('disgust/WhatisthisFeeling(Loathing)-Wicked-talentshow.wmv.mp44'),
    'disgust/WhatisthisFeeling(Loathing)-Wicked-talentshow',
  );
  assert.equal(cleanVideoName('disgust/2410405540_360p.mp4s'), 'disgust/2410405540_360p');
  const row = parseKeyClipRow('Sadness', 93, ['sadness/x.mp4', "1'05-2'10", '', '', "1'05", "1'05"]);
  assert.equal(row?.videoLength, 130, 'video length raised to the last clip end');
  assert.ok(row?.notes.some((n) => /video length/.test(n)));
  assert.equal(parseKeyClipRow('Anger', 5, ['', '', '', '', '', '']), null);
  assert.throws(
    () => parseKeyClipRow('Anger', 5, ['anger/a.mp4', 'soon', '', '', '', '']),
    /row 5: key clip "soon"/,
  );
});

test('Ekman-6 Attributes.xlsx: 1,636 videos, ranges inside their videos', {
  skip: needShared('datasets/ek6-keyclips/Attributes.xlsx'),
}, async () => {
  const set = await readKeyClips(sharedPath('datasets/ek6-keyclips/Attributes.xlsx'));
  assert.equal(set.videos.length, 1636);
  const perSheet = new Map<string, number>();
  for (const v of set.videos) perSheet.set(v.sheet, (perSheet.get(v.sheet) ?? 0) + 1);
  assert.deepEqual(Object.fromEntries(perSheet), {
    Anger: 224,
    Surprise: 360,
    Fear: 287,
    Joy: 305,
    Sadness: 221,
    Disgust: 239,
  });
  let clips = 0;
  for (const v of set.videos) {
    assert.ok(v.clips.length <= 3, v.name);
    assert.equal(v.label, v.sheet.toLowerCase(), v.name);
    assert.ok(!/\.mp4/i.test(v.name), v.name);
    for (const c of v.clips) {
      clips++;
      assert.ok(c.start >= 0 && c.end >= c.start, `${v.name} ${c.start}-${c.end}`);
      if (v.videoLength !== null) assert.ok(c.end <= v.videoLength, `${v.name} ${c.end} > ${v.videoLength}`);
    }
  }
  assert.ok(clips > 1636, 'most videos have a clip, several have more than one');
  assert.equal(set.videos.filter((v) => v.clips.length === 0).length, 1, 'one video has no key clip');
  assert.ok(set.warnings.some((w) => /RoadRageBikerStyle/.test(w)));
});

test('Ekman-6 annotations ↔ CTEN items: block sizes match for 5 classes (inferred order mapping), names never', {
  skip: needShared('datasets/ek6-keyclips/Attributes.xlsx') || needShared('datasets/ek6/trainlist01.txt'),
}, async () => {
  const { readListSplit } = await import('../../src/data/lists.js');
  const { matchKeyClips } = await import('../../src/data/attribution.js');
  const ds = readListSplit(sharedPath('datasets/ek6'), 1);
  const set = await readKeyClips(sharedPath('datasets/ek6-keyclips/Attributes.xlsx'));
  assert.equal(
    matchKeyClips(ds.items, set).byKey.size,
    0,
    'CTEN numbers its videos: no original name matches',
  );
  const order = matchKeyClips(ds.items, set, { strategy: 'order' });
  assert.equal(order.byKey.size, 1637 - 225, 'every class but anger (225 ids, 224 rows)');
  assert.ok(order.warnings.some((w) => /anger has 225 items and 224 annotated rows/.test(w)));
  assert.equal(order.byKey.get('disgust/1')?.row, 2, 'first id of a block ↔ first annotated row');
});
