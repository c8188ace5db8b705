import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import ExcelJS from 'exceljs';
import { evaluateKeyClips, keyClipLines } from '../../src/data/keyclip-eval.js';
import { testDir } from '../helpers/temp.js';

const tmp = testDir('dfan-kc-');

test('evaluateKeyClips: a focus on the annotated clip beats chance; unmatched videos are reported', async () => {
  const file = join(tmp, 'Attributes.xlsx');
  const wb = new ExcelJS.Workbook();
  const joy = wb.addWorksheet('Joy');
  joy.addRow(['Joy', null, null, null, 'key length', 'video length']);
  joy.addRow(['joy/party.mp4', "0'4-0'8", null, null, "0'4", "0'16"]);
  joy.addRow(['joy/beach.mp4', "0'0-0'2", "0'14-0'16", null, "0'4", "0'16"]);
  const fear = wb.addWorksheet('Fear');
  fear.addRow(['Fear', null, null, null, 'key length', 'video length']);
  fear.addRow(['fear/ghost.mp4', "0'12-0'16", null, null, "0'4", "0'16"]);
  await wb.xlsx.writeFile(file);
  const snippets = Array.from({ length: 8 }, (_, i) => ({ start: 2 * i, end: 2 * i + 2 }));
  const peak = (t: number) => snippets.map((_, i) => (i === t ? 0.65 : 0.05));
  const results = [
    { key: 'joy/party.mp4', label: 'joy', beta: peak(2), snippets }, // inside 4–8
    { key: 'joy/beach.mp4', label: 'joy', beta: peak(7), snippets }, // inside 14–16
    { key: 'Fear/ghost', label: 'fear', beta: peak(0), snippets }, // outside 12–16
    { key: 'fear/unknown', label: 'fear', beta: peak(0), snippets },
  ];
  const items = results.map((r) => ({ key: r.key, label: r.label, video: null, split: 'test' as const }));
  const k = await evaluateKeyClips(results, items, file);
  assert.equal(k.matched, 3);
  assert.equal(k.summary.n, 3);
  assert.equal(k.summary.hit1, 2 / 3);
  // two key snippets per video, one at the peak and one tied with the negatives (ties count ½)
  assert.ok(Math.abs((k.summary.auc ?? 0) - (0.75 + 0.75 + 5 / 12) / 3) < 1e-12);
  assert.ok(k.summary.hit1 > k.summary.chance.hit1);
  assert.deepEqual(k.summary.perClass.fear, { n: 1, hit1: 0, auc: 5 / 12 });
  assert.match(keyClipLines(k).join('\n'), /3\/4 evaluated videos annotated, 3 scored/);
  // explicit mapping file
  const map = join(tmp, 'map.csv');
  writeFileSync(map, 'annotation,key\nfear/ghost.mp4,fear/unknown\n');
  const m = await evaluateKeyClips(results, items, file, { mapFile: map });
  assert.equal(m.matched, 1);
  assert.equal(m.perVideo[0].key, 'fear/unknown');
});
