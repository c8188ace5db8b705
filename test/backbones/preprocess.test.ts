import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  chwToHwc,
  clipsToTensor,
  fitFrame,
  fitGeometry,
  framesToTensor,
  type InputSpec,
} from '../../src/backbones/preprocess.js';
import type { Frame } from '../../src/video/types.js';
import { inputSpec } from './helpers.js';

/** A frame whose left half is red and right half blue, with a green centre column. */
function halves(w: number, h: number): Frame {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 3;
      if (x < w / 2) data[o] = 255;
      else data[o + 2] = 255;
    }
  }
  return { time: 0, width: w, height: h, data };
}

function solid(w: number, h: number, rgb: [number, number, number], time = 0): Frame {
  const data = new Uint8Array(w * h * 3);
  for (let p = 0; p < w * h; p++) data.set(rgb, p * 3);
  return { time, width: w, height: h, data };
}

const px = (f: Frame, x: number, y: number) =>
  Array.from(f.data.subarray((y * f.width + x) * 3, (y * f.width + x) * 3 + 3));

const spec = (o: Partial<InputSpec> = {}): InputSpec =>
  inputSpec({ name: 'x', size: [4, 4], crop: 'stretch', ...o });

test('fitGeometry: crop keeps the centre, letterbox pads, stretch maps everything', () => {
  const c = fitGeometry(200, 100, 50, 50, 'crop');
  assert.deepEqual([c.sx, c.sy, c.sw, c.sh], [50, 0, 100, 100]);
  const l = fitGeometry(200, 100, 50, 50, 'letterbox');
  assert.deepEqual([l.dx, l.dy, l.dw, l.dh], [0, 12, 50, 25]);
  const s = fitGeometry(200, 100, 50, 50, 'stretch');
  assert.deepEqual([s.sw, s.sh, s.dw, s.dh], [200, 100, 50, 50]);
});

test('fitFrame: letterbox leaves black bars, crop of a wide frame keeps both halves at the edges', () => {
  const f = halves(80, 40);
  const lb = fitFrame(f, 20, 20, 'letterbox');
  assert.deepEqual(px(lb, 10, 0), [0, 0, 0], 'top bar is black');
  assert.deepEqual(px(lb, 2, 10), [255, 0, 0]);
  assert.deepEqual(px(lb, 17, 10), [0, 0, 255]);
  const cr = fitFrame(f, 20, 20, 'crop');
  assert.deepEqual(px(cr, 1, 10), [255, 0, 0]);
  assert.deepEqual(px(cr, 18, 10), [0, 0, 255]);
  assert.notDeepEqual(px(cr, 10, 0), [0, 0, 0], 'no bars when cropping');
  // a big shrink goes through box averaging and stays exact on flat regions
  const big = fitFrame(solid(640, 360, [10, 200, 30]), 36, 64, 'stretch');
  assert.deepEqual(px(big, 5, 5), [10, 200, 30]);
});

test('framesToTensor: NCHW and NHWC hold the same values; scale, mean/std and BGR apply per channel', () => {
  const f = solid(4, 4, [255, 128, 0]);
  const nchw = framesToTensor([f, f], spec());
  assert.deepEqual(nchw.shape, [2, 3, 4, 4]);
  const nhwc = framesToTensor([f, f], spec({ layout: 'NHWC' }));
  assert.deepEqual(nhwc.shape, [2, 4, 4, 3]);
  for (let c = 0; c < 3; c++) {
    assert.equal(nchw.data[c * 16 + 5], nhwc.data[5 * 3 + c]);
  }
  assert.ok(Math.abs(nchw.data[0] - 1) < 1e-6);
  assert.ok(Math.abs(nchw.data[16] - 128 / 255) < 1e-6);
  const bgr = framesToTensor([f], spec({ colorOrder: 'BGR', scale: 1, mean: [1, 2, 3], std: [2, 2, 2] }));
  // channel 0 is blue: (0 - 1) / 2; channel 2 is red: (255 - 3) / 2
  assert.equal(bgr.data[0], -0.5);
  assert.equal(bgr.data[32], 126);
});

test('clipsToTensor: NCTHW puts frame t of channel c at [c, t]; NTHWC at [t, …, c]', () => {
  const clip = [solid(4, 4, [10, 20, 30], 0), solid(4, 4, [40, 50, 60], 1)];
  const s = spec({ layout: 'NCTHW', scale: 1, frames: 2 });
  const x = clipsToTensor([clip], s);
  assert.deepEqual(x.shape, [1, 3, 2, 4, 4]);
  // [c=1, t=1, 0, 0]
  assert.equal(x.data[1 * 2 * 16 + 1 * 16], 50);
  const y = clipsToTensor([clip], { ...s, layout: 'NTHWC' });
  assert.deepEqual(y.shape, [1, 2, 4, 4, 3]);
  assert.equal(y.data[16 * 3 + 2], 60);
  assert.throws(() => clipsToTensor([[clip[0]]], s), /expected 2/);
  assert.throws(() => framesToTensor(clip, s), /clip layout/);
});

test('chwToHwc transposes a map', () => {
  const src = Float32Array.from({ length: 2 * 2 * 3 }, (_, i) => i); // C=2, H=2, W=3
  const out = chwToHwc(src, 2, 2, 3);
  // position p=4 (y=1,x=1): channels 0 and 1 are src[4], src[10]
  assert.deepEqual([out[8], out[9]], [4, 10]);
});
