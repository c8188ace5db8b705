/**
 * The object-map probe harness: its maths on small generated sets, and on real photos (Tux Paint
 * stamps composited over frames of a real clip) through the default pack's MobileNetV2.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import {
  cuePool,
  cueWeights,
  featureSet,
  groupFolds,
  linearProbe,
  meanPool,
  shuffledLabels,
} from '../../research/probe/linear.js';
import { backgroundFrames, loadStamps, smallCueFrame, wholePhotoFrame } from '../../research/probe/photos.js';
import { tfGraphToOnnx } from '../../src/backbones/convert/tfgraph2onnx.js';
import { humanModelsDir, readHumanGraph } from '../../src/backbones/default/human.js';
import { loadMobilenet } from '../../src/backbones/default/mobilenet.js';
import { loadOnnx } from '../../src/backbones/onnx.js';
import { writeOnnx } from '../../src/backbones/onnx-writer.js';
import { loadTfjs } from '../../src/backbones/tfjs.js';
import { TUXPAINT_STAMPS } from '../../src/demo/photos.js';
import { rng } from '../../src/util/random.js';
import { needShared, sharedPath } from '../helpers/shared.js';

function needStamps(): string | false {
  return existsSync(TUXPAINT_STAMPS)
    ? false
    : `skipped: ${TUXPAINT_STAMPS} is absent (apt-get install tuxpaint-stamps-default)`;
}

test('cue weights: the covered fraction of each cell; cue pooling reads only the cells under the cue', () => {
  const w = cueWeights({ x: 0.25, y: 0.5, w: 0.25, h: 0.25 }, 4, 4);
  // exactly cell (row 2, col 1)
  assert.deepEqual(Array.from(w), [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
  const half = cueWeights({ x: 0.125, y: 0, w: 0.25, h: 0.25 }, 4, 4);
  assert.ok(Math.abs(half[0] - 0.5) < 1e-6 && Math.abs(half[1] - 0.5) < 1e-6);
  const map = new Float32Array(16 * 2);
  map[9 * 2] = 3; // the cue cell
  map[0] = 100; // elsewhere
  assert.deepEqual(Array.from(cuePool(map, 4, 4, 2, { x: 0.25, y: 0.5, w: 0.25, h: 0.25 })), [3, 0]);
  assert.deepEqual(Array.from(meanPool(map, 4, 4, 2)), [103 / 16, 0]);
});

test('group folds keep every photo in one fold and balance the classes', () => {
  const y: number[] = [];
  const g: number[] = [];
  for (let p = 0; p < 30; p++)
    for (let k = 0; k < 2; k++) {
      y.push(p % 3);
      g.push(p);
    }
  const fs = featureSet(
    y.map(() => new Float32Array(1)),
    y,
    g,
    ['a', 'b', 'c'],
  );
  const f = groupFolds(fs, 3, 0);
  for (let i = 0; i < fs.n; i += 2) assert.equal(f[i], f[i + 1]);
  for (let k = 0; k < 3; k++)
    for (let c = 0; c < 3; c++) {
      const n = y.filter((yy, i) => yy === c && f[i] === k).length;
      assert.ok(n >= 6 && n <= 8, `fold ${k} class ${c}: ${n} rows`);
    }
  assert.notDeepEqual(Array.from(groupFolds(fs, 3, 1)), Array.from(f), 'another seed, other folds');
});

test('linear probe: separable generated data far above chance, shuffled labels near it, deterministic', async () => {
  const rand = rng(3);
  const rows: Float32Array[] = [];
  const y: number[] = [];
  const g: number[] = [];
  for (let p = 0; p < 60; p++) {
    const c = p % 4;
    const r = new Float32Array(20);
    for (let j = 0; j < 20; j++) r[j] = rand() * 2 - 1 + (j === c ? 2.5 : 0);
    rows.push(r);
    y.push(c);
    g.push(p);
  }
  const fs = featureSet(rows, y, g, ['a', 'b', 'c', 'd']);
  const r = await linearProbe(fs, { seeds: [0, 1] });
  assert.ok(r.mean > 0.85, `accuracy ${r.mean}`);
  assert.equal(r.chance, 0.25);
  const s = await linearProbe(shuffledLabels(fs, 0), { seeds: [0, 1] });
  assert.ok(s.mean < 0.45, `shuffled labels: ${s.mean}`);
  assert.deepEqual((await linearProbe(fs, { seeds: [0, 1] })).perSeed, r.perSeed);
});

test('real photos: pooled block_10_expand_relu separates 4 classes of held-out photos; shuffled labels stay near chance', {
  skip: needStamps() || needShared('media', 'nk_carousel1.mp4'),
}, async (t) => {
  const stamps = loadStamps();
  const classes = ['animal', 'food', 'plant', 'vehicle'];
  const photos = classes.flatMap((c) => stamps.filter((p) => p.cls === c).slice(0, 15));
  assert.ok(photos.length >= 56, `photographs: ${photos.length}`);
  const bgs = await backgroundFrames([sharedPath('media', 'nk_carousel1.mp4')], 6);
  const rand = rng(5);
  const frames = photos.map((p, i) => wholePhotoFrame(p.image, bgs[i % bgs.length], 224, rand));
  // the small-cue composite keeps the cue where it says
  const cue = smallCueFrame(photos[0].image, bgs[0], rand);
  assert.ok(
    cue.cue.w <= 0.25 + 1e-9 && cue.cue.h <= 0.25 + 1e-9 && cue.cue.x >= 0 && cue.cue.x + cue.cue.w <= 1,
  );
  const net = await loadMobilenet({ engine: 'onnx' });
  const { mid } = await net.run(frames); // [n, 384] pooled block_10_expand_relu
  await net.dispose();
  const rows = photos.map((_, i) => mid.slice(i * 384, (i + 1) * 384));
  const fs = featureSet(
    rows,
    photos.map((p) => classes.indexOf(p.cls)),
    photos.map((_, i) => i),
    classes,
  );
  const r = await linearProbe(fs, { seeds: [0, 1] });
  const s = await linearProbe(shuffledLabels(fs, 0), { seeds: [0, 1] });
  t.diagnostic(`held-out photos ${r.perSeed.join(' ')}, shuffled ${s.perSeed.join(' ')}`);
  assert.ok(r.mean >= 0.5, `held-out accuracy ${r.mean} (chance ${r.chance})`);
  assert.ok(s.mean <= 0.42, `shuffled labels ${s.mean}`);
  assert.deepEqual((await linearProbe(fs, { seeds: [0, 1] })).perSeed, r.perSeed, 'same seed, same numbers');
});

test('CenterNet backbone (a probe candidate) on onnxruntime equals tfjs-wasm', async () => {
  const OUT = 'tower_0/MobilenetV3/expanded_conv_14/add';
  const g = await readHumanGraph('centernet', 1);
  const onnx = await loadOnnx(writeOnnx(tfGraphToOnnx(g.nodes, g.consts, [OUT], 'centernet')), {
    threads: 2,
  });
  const x = new Float32Array(512 * 512 * 3);
  for (let i = 0; i < x.length; i++) x[i] = (i * 37) % 251;
  const a = (await onnx.run({ input: { data: x, shape: [1, 512, 512, 3] } }, ['output_0'])).output_0;
  await onnx.dispose();
  assert.deepEqual(a.shape, [1, 120, 16, 16]);
  const tf = await loadTfjs(`${humanModelsDir()}/centernet.json`);
  const b = (await tf.run({ 'tower_0/images': { data: x, shape: [1, 512, 512, 3] } }, [OUT]))[OUT];
  await tf.dispose();
  let diff = 0;
  for (let c = 0; c < 120; c++)
    for (let p = 0; p < 256; p++) diff = Math.max(diff, Math.abs(a.data[c * 256 + p] - b.data[p * 120 + c]));
  assert.ok(diff < 1e-3, `max |onnx − tfjs| = ${diff}`);
});
