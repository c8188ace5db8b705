import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  keySnippets,
  matchKeyClips,
  parseKeyClipMap,
  rocAuc,
  scoreAttribution,
  summariseAttribution,
  tIoU,
  topK,
  unionIntervals,
} from '../../src/data/attribution.js';
import type { KeyClipSet, KeyClipVideo } from '../../src/data/keyclips.js';

/** T uniform snippets over `duration` seconds. */
const snippetsOver = (duration: number, T: number) =>
  Array.from({ length: T }, (_, i) => ({ start: (i * duration) / T, end: ((i + 1) * duration) / T }));

test('interval algebra: union, tIoU', () => {
  assert.deepEqual(
    unionIntervals([
      { start: 5, end: 7 },
      { start: 0, end: 2 },
      { start: 1, end: 3 },
      { start: 4, end: 4 },
    ]),
    [
      { start: 0, end: 3 },
      { start: 5, end: 7 },
    ],
  );
  assert.equal(tIoU([{ start: 0, end: 10 }], [{ start: 5, end: 15 }]), 5 / 15);
  assert.equal(tIoU([{ start: 0, end: 1 }], [{ start: 2, end: 3 }]), 0);
  assert.equal(tIoU([], []), 0);
});

test('ROC AUC: perfect, inverted, ties, undefined', () => {
  assert.equal(rocAuc([0.9, 0.8, 0.1, 0.2], [true, true, false, false]), 1);
  assert.equal(rocAuc([0.1, 0.2, 0.9, 0.8], [true, true, false, false]), 0);
  assert.equal(rocAuc([0.5, 0.5, 0.5, 0.5], [true, false, true, false]), 0.5);
  assert.equal(rocAuc([0.3, 0.2, 0.1], [true, false, true]), 0.5);
  assert.equal(rocAuc([0.3, 0.2], [true, true]), null);
  assert.deepEqual(topK([0.1, 0.5, 0.5, 0.2], 2), [1, 2]);
});

test('a focus on the key clip scores hit@1, high tIoU and AUC 1; a focus elsewhere scores 0', () => {
  const snippets = snippetsOver(16, 8); // 2-s snippets
  const clips = [{ start: 4, end: 8 }]; // snippets 2 and 3
  assert.deepEqual(keySnippets(snippets, clips), [false, false, true, true, false, false, false, false]);
  const good = [0.02, 0.02, 0.45, 0.45, 0.02, 0.02, 0.01, 0.01];
  const s = scoreAttribution({ snippets, weights: good, clips }, [1, 2])!;
  assert.equal(s.hit1, true);
  assert.equal(s.tiou[2], 1);
  assert.equal(s.tiou[1], 0.5);
  assert.equal(s.auc, 1);
  assert.equal(s.chance.hit1, 0.25);
  assert.ok(s.chance.tiou[2] < 0.3);
  const bad = [0.02, 0.02, 0.01, 0.01, 0.02, 0.02, 0.4, 0.5];
  const b = scoreAttribution({ snippets, weights: bad, clips }, [1, 2])!;
  assert.equal(b.hit1, false);
  assert.equal(b.tiou[2], 0);
  assert.equal(b.auc, 0);
  // padding snippets are ignored, clips are clipped to the real duration, no clip → null
  const padded = [0.01, 0.01, 0.1, 0.02, 0.2, 0.2, 0.2, 0.26];
  const m = scoreAttribution({ snippets, weights: padded, clips, mask: [1, 1, 1, 1, 0, 0, 0, 0] })!;
  assert.equal(m.snippets, 4);
  assert.equal(m.hit1, true, 'the heaviest REAL snippet (2) is key');
  assert.equal(
    scoreAttribution({ snippets, weights: good, clips: [{ start: 20, end: 30 }], duration: 16 }),
    null,
  );
  const sum = summariseAttribution(
    [
      { label: 'joy', score: s },
      { label: 'fear', score: b },
    ],
    [1, 2],
  );
  assert.equal(sum.n, 2);
  assert.equal(sum.hit1, 0.5);
  assert.equal(sum.auc, 0.5);
  assert.deepEqual(sum.perClass.joy, { n: 1, hit1: 1, auc: 1 });
});

function ann(label: string, row: number, stem: string): KeyClipVideo {
  return {
    label,
    sheet: label,
    row,
    rawName: `${label}/${stem}.mp4`,
    name: `${label}/${stem}`,
    clips: [{ start: 0, end: 1 }],
    keyLength: 1,
    videoLength: 2,
    notes: [],
  };
}

test('matching annotations to items: by file name, by explicit map, by inferred order', () => {
  const set: KeyClipSet = {
    file: 'a.xlsx',
    warnings: [],
    videos: [ann('anger', 2, '01'), ann('anger', 3, 'Road Rage'), ann('joy', 2, 'x'), ann('joy', 3, 'y')],
  };
  const byName = matchKeyClips(
    [
      { key: 'anger/01.mp4', label: 'anger', video: null },
      { key: 'k2', label: 'Anger', video: '/d/anger/Road Rage.wmv' },
      { key: 'joy/01', label: 'joy', video: null },
    ],
    set,
  );
  assert.deepEqual([...byName.byKey.keys()].sort(), ['anger/01.mp4', 'k2']);
  const byOrder = matchKeyClips(
    [
      { key: 'joy/12', label: 'joy', video: null },
      { key: 'joy/11', label: 'joy', video: null },
      { key: 'anger/1', label: 'anger', video: null },
    ],
    set,
    { strategy: 'order' },
  );
  assert.equal(byOrder.byKey.get('joy/11')?.name, 'joy/x');
  assert.equal(byOrder.byKey.get('joy/12')?.name, 'joy/y');
  assert.equal(byOrder.byKey.has('anger/1'), false, 'counts differ: class skipped');
  assert.ok(byOrder.warnings.some((w) => /INFERRED/.test(w)));
  const map = parseKeyClipMap('annotation,key\n"anger/01.mp4",anger/887\njoy/zz,joy/1\n');
  const ex = matchKeyClips([{ key: 'anger/887', label: 'anger', video: null }], set, { explicit: map });
  assert.equal(ex.byKey.get('anger/887')?.name, 'anger/01');
  assert.ok(ex.warnings.some((w) => /joy\/zz/.test(w)));
});
