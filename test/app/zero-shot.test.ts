import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkPrediction, describeGrid, keyMoments, mmss, toPrediction } from '../../src/app/explain.js';
import { formatPrediction } from '../../src/app/format.js';
import { renderReport } from '../../src/app/report.js';
import {
  boxGaussianGrid,
  EKMAN6,
  NO_FACE_WARNING,
  zeroShotPredict,
  zeroShotPredictor,
} from '../../src/app/zero-shot.js';
import { FACE_EXPRESSIONS, FACE_LAYOUT, type VideoFeatures } from '../../src/features/types.js';

type Face = {
  presence: number;
  box?: [number, number, number, number];
  expr?: Partial<Record<(typeof FACE_EXPRESSIONS)[number], number>>;
};

/** Synthetic features: one face vector per snippet, 1-s snippets. */
function features(faces: Face[], mask?: number[]): VideoFeatures {
  const T = faces.length;
  const data = new Float32Array(T * FACE_LAYOUT.size);
  faces.forEach((f, t) => {
    const row = t * FACE_LAYOUT.size;
    data[row + FACE_LAYOUT.presence] = f.presence;
    (f.box ?? [0, 0, 0, 0]).forEach((v, k) => {
      data[row + FACE_LAYOUT.box[k]] = v;
    });
    FACE_EXPRESSIONS.forEach((e, k) => {
      data[row + FACE_LAYOUT.expressions[k]] = f.expr?.[e] ?? 0;
    });
  });
  return {
    meta: {
      source: 'synthetic.mp4',
      key: 'synthetic.mp4',
      sourceSize: 0,
      sourceHash: '',
      duration: T,
      packId: 'test',
      configHash: '',
      dfanVersion: '0',
      createdAt: '',
      streams: [],
      warnings: [],
    },
    snippets: faces.map((_, t) => ({ start: t, end: t + 1, keyTime: t + 0.5 })),
    streams: { face: { shape: [T, FACE_LAYOUT.size], data } },
    ...(mask ? { mask: Float32Array.from(mask) } : {}),
  };
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const neutral: Face = { presence: 1, box: [0.4, 0.3, 0.2, 0.3], expr: { neutral: 1 } };

test('a clearly happy face → joy first; the happy snippets get the temporal focus', () => {
  const faces: Face[] = Array.from({ length: 8 }, () => neutral);
  faces[5] = { presence: 1, box: [0.1, 0.1, 0.2, 0.2], expr: { happy: 0.9, neutral: 0.1 } };
  faces[6] = { presence: 1, box: [0.1, 0.1, 0.2, 0.2], expr: { happy: 0.8, surprise: 0.1, neutral: 0.1 } };
  const out = zeroShotPredict(features(faces));
  assert.deepEqual(out.classes, [...EKMAN6]);
  assert.ok(Math.abs(sum(out.probs) - 1) < 1e-9);
  const joy = out.probs[EKMAN6.indexOf('joy')];
  assert.ok(joy > 0.6, `joy ${joy}`);
  assert.ok(Math.abs(sum(out.temporalFocus) - 1) < 1e-9);
  const top = out.temporalFocus.indexOf(Math.max(...out.temporalFocus));
  assert.ok(top === 5 || top === 6, `top snippet ${top}`);
  assert.ok(out.temporalFocus[5] > 10 * out.temporalFocus[0]);
  // the face box at the upper-left: spatial focus peaks there
  const d = describeGrid(out.spatialFocus.face[5]);
  assert.equal(d.where, 'upper-left');
  for (const g of out.spatialFocus.face) assert.ok(Math.abs(sum(g.flat()) - 1) < 1e-9);
});

test('each expression maps to its Ekman label', () => {
  const map: Array<[(typeof FACE_EXPRESSIONS)[number], string]> = [
    ['angry', 'anger'],
    ['disgust', 'disgust'],
    ['fear', 'fear'],
    ['happy', 'joy'],
    ['sad', 'sadness'],
    ['surprise', 'surprise'],
  ];
  for (const [expr, label] of map) {
    const out = zeroShotPredict(features([{ presence: 1, box: [0.4, 0.4, 0.2, 0.2], expr: { [expr]: 1 } }]));
    const best = out.classes[out.probs.indexOf(Math.max(...out.probs))];
    assert.equal(best, label, `${expr} → ${best}`);
  }
});

test('neutral lowers confidence (mixes toward uniform)', () => {
  const strong = zeroShotPredict(features([{ presence: 1, box: [0.4, 0.4, 0.2, 0.2], expr: { sad: 1 } }]));
  const weak = zeroShotPredict(
    features([{ presence: 1, box: [0.4, 0.4, 0.2, 0.2], expr: { sad: 0.3, neutral: 0.7 } }]),
  );
  const i = EKMAN6.indexOf('sadness');
  assert.ok(strong.probs[i] > 0.99);
  assert.ok(weak.probs[i] < strong.probs[i]);
  assert.ok(Math.abs(weak.probs[i] - (0.3 + 0.7 / 6)) < 1e-6);
  assert.ok(weak.warnings.some((w) => /neutral/.test(w)));
});

test('no face anywhere → uniform probabilities, uniform focus and a clear warning', () => {
  const out = zeroShotPredict(features(Array.from({ length: 6 }, () => ({ presence: 0 }))));
  for (const p of out.probs) assert.ok(Math.abs(p - 1 / 6) < 1e-12);
  for (const b of out.temporalFocus) assert.ok(Math.abs(b - 1 / 6) < 1e-12);
  assert.ok(out.warnings.includes(NO_FACE_WARNING));
  for (const g of out.spatialFocus.face) assert.equal(describeGrid(g).where, 'spread evenly (no focus)');
});

test('padding snippets (mask 0) get no focus and are left out of the Prediction', () => {
  const happy: Face = { presence: 1, box: [0.4, 0.4, 0.2, 0.2], expr: { happy: 1 } };
  const f = features([neutral, happy, happy, happy], [1, 1, 0, 0]);
  const out = zeroShotPredict(f);
  assert.equal(out.temporalFocus[2], 0);
  assert.equal(out.temporalFocus[3], 0);
  const p = toPrediction('x.mp4', f, out, zeroShotPredictor());
  assert.equal(p.snippets.length, 2);
  assert.deepEqual(checkPrediction(p), []);
  assert.equal(p.model.kind, 'zero-shot');
  assert.equal(p.labels[0].label, 'joy');
});

test('box Gaussian: peaks at the box centre, sums to 1, tiny boxes still light one cell', () => {
  const g = boxGaussianGrid([0.7, 0.7, 0.25, 0.25], 7, 7);
  assert.ok(Math.abs(sum(g.flat()) - 1) < 1e-9);
  const d = describeGrid(g);
  assert.equal(d.where, 'lower-right');
  assert.equal(d.row, 5);
  assert.equal(d.col, 5);
  const tiny = boxGaussianGrid([0.5, 0.5, 0, 0], 7, 7);
  assert.ok(Math.abs(sum(tiny.flat()) - 1) < 1e-9);
  assert.ok(describeGrid(tiny).peak > 0.2);
});

test('Prediction contract: labels sorted, weights and grids sum to 1; terminal text names the model', () => {
  const faces: Face[] = Array.from({ length: 16 }, (_, t) => ({
    presence: t % 3 === 0 ? 0 : 0.9,
    box: [0.3, 0.2, 0.3, 0.4],
    expr: { fear: (t % 5) / 5, neutral: 1 - (t % 5) / 5 },
  }));
  const f = features(faces);
  const p = toPrediction('clip.mp4', f, zeroShotPredict(f), zeroShotPredictor());
  assert.deepEqual(checkPrediction(p), []);
  assert.equal(p.labels[0].label, 'fear');
  const text = formatPrediction(p, { top: 2 });
  assert.match(text, /ZERO-SHOT face-expression model/);
  assert.match(text, /fear/);
  assert.match(text, /key moments/);
  assert.match(text, /face: (upper|middle|lower|centre)/);
  assert.equal(text.split('\n').filter((l) => / %$/.test(l)).length, 2);
  assert.match(text, /^ {2}emotion$/m);
  assert.match(renderReport([{ prediction: p }]), /<h3>Emotion probabilities<\/h3>/);
  // a run trained on other classes (the demo's) is not called an emotion
  const other = { ...p, labels: p.labels.map((l, i) => ({ ...l, label: ['animal', 'food'][i % 2] })) };
  assert.match(formatPrediction(other), /^ {2}class$/m);
  assert.doesNotMatch(formatPrediction(other), /^ {2}emotion$/m);
  assert.match(renderReport([{ prediction: other }]), /<h3>Class probabilities<\/h3>/);
});

test('key moments merge adjacent strong snippets; mm:ss', () => {
  const sn = [0.02, 0.02, 0.3, 0.3, 0.02, 0.3, 0.04].map((w, i) => ({
    start: i * 2,
    end: i * 2 + 2,
    weight: w,
  }));
  const k = keyMoments(sn, [0, 1, 2, 3, 4, 5, 6]);
  assert.equal(k.length, 2);
  assert.deepEqual(k[0].snippets, [2, 3]);
  assert.equal(k[0].start, 4);
  assert.equal(k[0].end, 8);
  assert.deepEqual(k[1].snippets, [5]);
  assert.equal(mmss(75.4), '1:15');
  assert.equal(mmss(3725), '1:02:05');
});
