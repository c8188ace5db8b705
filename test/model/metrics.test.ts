import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { computeMetrics, metricsFromScoreFile, metricsMarkdown } from '../../src/data/metrics.js';
import { DfanError } from '../../src/errors.js';
import { softmax } from '../../src/util/softmax.js';
import { testDir } from '../helpers/temp.js';

const tmp = testDir('dfan-metrics-');
const file = (name: string, text: string) => {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
};

test('computeMetrics: accuracy, per-class recall/precision, confusion rows = true class', () => {
  const m = computeMetrics(['a', 'b', 'c'], [0, 0, 1, 1, 2], [0, 1, 1, 1, 0]);
  assert.equal(m.accuracy, 3 / 5);
  assert.equal(m.n, 5);
  assert.deepEqual(m.confusion, [
    [1, 1, 0],
    [0, 2, 0],
    [1, 0, 0],
  ]);
  assert.deepEqual(m.perClass.a, { recall: 0.5, precision: 0.5, n: 2 });
  assert.deepEqual(m.perClass.b, { recall: 1, precision: 2 / 3, n: 2 });
  assert.deepEqual(m.perClass.c, { recall: 0, precision: 0, n: 1 });
  const md = metricsMarkdown(m);
  assert.match(md, /60\.0 %/);
  assert.match(md, /\| \*\*a\*\* \| 1 \| 1 \| 0 \|/);
});

test('CSV scores: rows of one video are averaged after a softmax per row (not on raw logits)', () => {
  // video v1: row 1 strongly "a" (logits 10,0), row 2 mildly "b" (0,1) → a;
  // v2: one row favours "b" by a huge logit, two rows favour "a" (2,0): probability averaging
  // gives "a" (1.76 vs 1.24), averaging raw logits would give "b".
  const p = file('s.csv', 'video,label,a,b\nv1,a,10,0\nv1,a,0,1\nv2,a,0,100\nv2,a,2,0\nv2,a,2,0\nv3,b,0,2\n');
  const r = metricsFromScoreFile(p);
  assert.equal(r.rows, 6);
  assert.equal(r.videos, 3);
  assert.deepEqual(r.metrics.confusion, [
    [2, 0],
    [0, 1],
  ]);
  const sm = softmax([1, 1, 1, 1]);
  assert.ok(Math.abs(sm.reduce((a, b) => a + b, 0) - 1) < 1e-12);
  // --classes reorders the columns
  const r2 = metricsFromScoreFile(p, { classes: ['b', 'a'] });
  assert.deepEqual(r2.metrics.classes, ['b', 'a']);
  assert.equal(r2.metrics.accuracy, 1);
});

test('JSONL scores need --classes and give the same metrics as the CSV', () => {
  const lines = [
    { video: 'v1', label: 'a', scores: [10, 0] },
    { video: 'v1', label: 'a', scores: [0, 1] },
    { video: 'v2', label: 'a', scores: [0, 100] },
    { video: 'v2', label: 'a', scores: [2, 0] },
    { video: 'v2', label: 'a', scores: [2, 0] },
    { video: 'v3', label: 'b', scores: [0, 2] },
  ];
  const p = file('s.jsonl', `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
  assert.throws(() => metricsFromScoreFile(p), /which class each score is/);
  const r = metricsFromScoreFile(p, { classes: ['a', 'b'] });
  assert.equal(r.metrics.accuracy, 1);
  assert.equal(r.videos, 3);
});

test('malformed rows: clear errors with file and line number', () => {
  const cases: Array<[string, string, RegExp, string[]?]> = [
    ['bad1.csv', 'video,label,a,b\nv1,a,1,2\nv2,a,x,2\n', /line 3: score for "a" is not a number/],
    ['bad2.csv', 'video,label,a,b\nv1,a,1\n', /line 2: expected 4 fields, found 3/],
    ['bad3.csv', 'video,label,a,b\nv1,c,1,2\n', /line 2: label "c" is not one of the classes/],
    [
      'bad4.csv',
      'video,label,a,b\nv1,a,1,2\nv1,b,1,2\n',
      /line 3: video "v1" has label "b" here but "a" on line 2/,
    ],
    ['bad5.csv', 'name,label,a,b\nv1,a,1,2\n', /line 1: the header must start with video,label/],
    [
      'bad6.jsonl',
      '{"video":"v1","label":"a","scores":[1,2]}\n{"video":"v2","label":"a"\n',
      /line 2: not valid JSON/,
      ['a', 'b'],
    ],
    [
      'bad7.jsonl',
      '{"video":"v1","label":"a","scores":[1,2,3]}\n',
      /line 1: 3 scores for 2 classes/,
      ['a', 'b'],
    ],
    [
      'bad8.jsonl',
      '{"video":"v1","label":"a","scores":[1,"2"]}\n',
      /line 1: "scores" must be an array of finite numbers/,
      ['a', 'b'],
    ],
  ];
  for (const [name, text, re, classes] of cases) {
    const p = file(name, text);
    assert.throws(
      () => metricsFromScoreFile(p, { classes }),
      (e: unknown) => e instanceof DfanError && re.test(e.message) && (e.file ?? '').startsWith(p),
      name,
    );
  }
  assert.throws(() => metricsFromScoreFile(file('empty.csv', '')), /empty/);
});
