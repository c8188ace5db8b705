/**
 * The demo's report (summary.html and its twin summary.md) on a small generated run: the pictures
 * of what dual saw (key frame, α over it, the photo's box; the β strip against the photo's
 * interval), right and wrong answers side by side, the table of figures, the explanations folded,
 * and no Markdown left in the page.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { FocusScores } from '../../src/demo/scores.js';
import { pickShowcase, renderShowcase } from '../../src/demo/showcase.js';
import { DEFAULT_FOCUS, type FocusVideo } from '../../src/demo/spec.js';
import { type SummaryInput, writeSummary } from '../../src/demo/summary.js';
import type { VideoResult } from '../../src/model/evaluate.js';
import { decodePng, type RgbImage } from '../../src/render/index.js';
import { lavfiClip } from '../helpers/ffmpeg.js';
import { testDir } from '../helpers/temp.js';

const T = 4;
const G = 4; // a G×G object grid over the whole frame
const snippets = Array.from({ length: T }, (_, t) => ({ start: t, end: t + 1, keyTime: t + 0.5 }));

/** A test video of the generated set: the photo's box in the frame's right half, shown in snippets 1–2. */
function truthOf(key: string, label: string): FocusVideo {
  return {
    key,
    label,
    split: 'test',
    file: 'grey.mp4',
    cue: { start: 1.04, end: 2.96, x: 80, y: 44, w: 40, h: 22 },
    frame: { width: 160, height: 90 },
    photo: { path: '/nowhere.png', x: 82, y: 46, w: 36, h: 18, card: false },
    footage: { path: '/nowhere.mp4', start: 0, hflip: false },
  };
}

/** dual's answer: β peaks at `top`; α peaks at cell (row 2, col 2), which lies on the box. */
function dualResult(key: string, label: string, predicted: string, top: number): VideoResult {
  const alpha = Array.from({ length: T }, () => {
    const a = new Array(G * G).fill(0.2 / (G * G - 1));
    a[2 * G + 2] = 0.8;
    return a;
  });
  const beta = Array.from({ length: T }, (_, t) => (t === top ? 0.7 : 0.1));
  const probs = ['animal', 'food'].map((c) => (c === predicted ? 0.75 : 0.25));
  return { key, label, predicted, probs, beta, alpha: { object: alpha }, snippets };
}

const scores = (accuracy: number, hit: number, pointing: number): FocusScores => ({
  accuracy,
  temporalHit: hit,
  temporalChance: 0.125,
  pointing,
  pointingChance: 0.167,
  pointingAtCue: 1,
  pointingAtCueChance: 0.086,
  n: 3,
});

async function generatedReport() {
  const dir = testDir('dfan-demo-report-');
  lavfiClip(join(dir, 'grey.mp4'), `color=c=0x808080:s=160x90:r=10:d=${T}`);
  const videos = [
    ['v/a.mp4', 'animal', 'animal', 1], // right, top snippet on the photo
    ['v/b.mp4', 'food', 'animal', 3], // wrong, top snippet after the photo
    ['v/c.mp4', 'food', 'food', 2], // right
  ] as const;
  const truth = new Map(videos.map(([k, l]) => [k, truthOf(k, l)]));
  const dual = videos.map(([k, l, p, top]) => dualResult(k, l, p, top));
  const mean = videos.map(([k, l]) => ({
    ...dualResult(k, l, 'food', 0),
    beta: new Array(T).fill(1 / T),
    alpha: {},
  }));
  const showcase = await renderShowcase({
    dual,
    mean,
    truth,
    classes: ['animal', 'food'],
    datasetDir: dir,
    grid: { H: G, W: G },
    regionOf: () => [0, 0, 1, 1],
  });
  const input: SummaryInput = {
    spec: { ...DEFAULT_FOCUS, classes: 2, perClass: 3, T },
    classes: ['animal', 'food'],
    material: {
      photos: {
        source: '/usr/share/tuxpaint/stamps (Debian tuxpaint-stamps-default)',
        perClass: {
          animal: { kept: 3, train: 2, test: 1, rejected: 0, skipped: 1 },
          food: { kept: 3, train: 2, test: 1, rejected: 1, skipped: 0 },
        },
      },
      footage: { description: '1 clip', train: ['/m/a.mp4'], test: ['/m/b.mp4'] },
    },
    manifest: join(dir, 'manifest.csv'),
    pack: 'default',
    streams: ['object'],
    objectStream: 'a test map',
    regionNote: 'the whole frame',
    training: { schedule: '200 epochs', ensemble: '', reduction: '', nTrain: 4 },
    scores: { mean: scores(1 / 3, 0, 0), dual: scores(2 / 3, 2 / 3, 1) },
    ceiling: { accuracy: 0.75, n: 3, trainN: 4, lambda: 0.3, looAccuracy: 0.5 },
    trainFocus: { ...scores(1, 1, 1), n: 4, fittedWithoutCue: 0 },
    seconds: { dataset: 1, extract: 2, train: 3, total: 6, cpu: 5 },
    runs: { mean: join(dir, 'runs/mean'), dual: join(dir, 'runs/dual') },
    tests: dual.map((v) => ({ key: v.key, label: v.label, predicted: v.predicted, cue: [1, 2], top: 0 })),
    showcase,
  };
  return { dir, showcase, ...writeSummary(dir, input) };
}

const at = (img: RgbImage, x: number, y: number) => [
  ...img.data.slice((y * img.width + x) * 3, (y * img.width + x) * 3 + 3),
];
const CYAN = [0, 229, 255];
const keys = (p: { right: Array<{ key: string }>; wrong: Array<{ key: string }> }) => ({
  right: p.right.map((c) => c.key),
  wrong: p.wrong.map((c) => c.key),
});

test('pickShowcase: right and wrong answers apart, one per true class first, in test order', () => {
  const v = (key: string, label: string, predicted: string) => ({ ...dualResult(key, label, predicted, 1) });
  const picked = pickShowcase(
    [
      v('1', 'animal', 'animal'),
      v('2', 'animal', 'animal'),
      v('3', 'food', 'food'),
      v('4', 'food', 'animal'),
      v('5', 'plant', 'plant'),
    ],
    2,
  );
  assert.deepEqual(keys(picked), { right: ['1', '3'], wrong: ['4'] });
  // a wrong answer whose focus missed the photo is shown first
  const wrong = [v('6', 'food', 'plant'), v('7', 'plant', 'food'), v('8', 'plant', 'animal')];
  assert.deepEqual(keys(pickShowcase(wrong, 2, (x) => x.key === '8')), { right: [], wrong: ['8', '6'] });
});

test('demo report: the key frame with the focus and the photo box, the strip, right beside wrong, figures, details; no Markdown in the HTML', async () => {
  const { dir, showcase, md, html: htmlPath } = await generatedReport();
  assert.deepEqual(keys(showcase), { right: ['v/a.mp4', 'v/c.mp4'], wrong: ['v/b.mp4'] });
  const html = readFileSync(htmlPath, 'utf8');
  // self-contained, and no Markdown shows
  for (const m of html.matchAll(/\b(?:src|href)\s*=\s*"([^"]*)"/g)) assert.match(m[1], /^data:/);
  assert.doesNotMatch(html, /\*\*|`|^\s*[|-] /m);
  assert.match(html, /<strong>Not an emotion dataset\.<\/strong>/);
  // the pictures come first: right and wrong side by side, then the figures, then the folds
  const order = [
    'What the model saw',
    'dual right',
    'dual wrong',
    '<img class="focus"',
    'Figures',
    '<details>',
  ];
  const idx = order.map((s) => html.indexOf(s));
  assert.ok(
    idx.every((i, k) => i >= 0 && (k === 0 || i > idx[k - 1])),
    `order ${JSON.stringify(idx)}`,
  );
  // three key frames, drawn 3× (long side 480 px), each with the photo's box drawn
  const imgs = [...html.matchAll(/<img class="focus" src="data:image\/png;base64,([^"]+)"/g)].map((m) =>
    decodePng(Buffer.from(m[1], 'base64')),
  );
  assert.equal(imgs.length, 3);
  const [onPhoto, offPhoto] = [imgs[0], imgs[1]]; // the grid puts right[0] then wrong[0] first
  for (const img of imgs) assert.deepEqual([img.width, img.height], [480, 270]);
  assert.deepEqual(at(onPhoto, 240, 180), CYAN, 'left edge of the box');
  assert.deepEqual(at(onPhoto, 359, 180), CYAN, 'right edge of the box');
  assert.notDeepEqual(at(onPhoto, 300, 180), CYAN, 'inside the box');
  // α peaks at cell (2, 2), centred at (300, 169): warmer there than in the far corner
  const warm = at(onPhoto, 300, 169);
  const cold = at(onPhoto, 30, 30);
  assert.ok(warm[0] > cold[0] + 60 && warm[1] > cold[1] + 30, `peak ${warm} vs corner ${cold}`);
  // the wrong case's key frame is at snippet 3, after the photo: its box is dashed
  const edge = Array.from({ length: 120 }, (_, i) => at(offPhoto, 240 + i, 132).join() === CYAN.join());
  assert.ok(edge.some(Boolean) && !edge.every(Boolean), 'dashed top edge');
  // the strip: one bar per snippet, the top one accented, the photo's interval shaded
  assert.equal(html.match(/class="snippet"/g)?.length, 3 * T);
  assert.equal(html.match(/class="band"/g)?.length, 3);
  assert.equal(html.match(/fill="#d95f02"/g)?.length, 3);
  // answers of both models, marked right or wrong
  assert.match(html, /dual: <b>animal<\/b> \(75\.0 %\) <span class="ok">right<\/span> · mean: <b>food<\/b>/);
  assert.match(html, /top snippet 3 at 3\.5 s is off the photo \(photo in 1, 2\)/);
  // the table of figures, then the explanations folded
  assert.match(
    html,
    /<td>dual<\/td><td class="n">66\.7 %<\/td><td class="n">66\.7 %<\/td><td class="n">100\.0 %<\/td>/,
  );
  assert.match(
    html,
    /<td>chance<\/td><td class="n">50\.0 %<\/td><td class="n">12\.5 %<\/td><td class="n">16\.7 %<\/td>/,
  );
  assert.match(html, /cue ceiling: a linear classifier told where and when the photo is/);
  assert.match(html, /<details><summary>How the figures are made<\/summary>/);
  assert.match(html, /<code>dfan eval --run /);
  assert.doesNotMatch(html, /cue probe/);

  // the text twin: the same figures, its pictures beside it
  const text = readFileSync(md, 'utf8');
  assert.match(text, /^\| dual \| 66\.7 % \| 66\.7 % \| 100\.0 % \|$/m);
  assert.match(text, /^\| cue ceiling: .* \| 75\.0 % \| \(given\) \| \(given\) \|$/m);
  const pics = [...text.matchAll(/!\[[^\]]*\]\((figures\/[^)]+)\)/g)].map((m) => m[1]);
  assert.equal(pics.length, 6);
  for (const p of pics) assert.ok(existsSync(join(dir, p)), p);
  const png = decodePng(readFileSync(join(dir, pics[0])));
  assert.deepEqual(at(png, 240, 180), CYAN);
  const svg = readFileSync(join(dir, pics[1]), 'utf8');
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
});
