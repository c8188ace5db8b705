/**
 * Full-frame focus: which part of the frame a map grid spans (pure geometry), that the default
 * pack's object grid really sees the sides of wide and tall frames, and that every spatial grid of
 * a Prediction states its region for 4:3, 16:9 and portrait video.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { toPrediction } from '../../src/app/explain.js';
import { loadDefaultPack } from '../../src/backbones/default/pack.js';
import { gridRegion } from '../../src/backbones/preprocess.js';
import { extractVideo } from '../../src/features/extract.js';
import { mapRegion } from '../../src/features/region.js';
import type { VideoFeatures } from '../../src/features/types.js';
import { sampleGrid } from '../../src/render/index.js';
import { lavfiClip } from '../helpers/ffmpeg.js';
import { testDir } from '../helpers/temp.js';

const close = (a: number[], b: number[]) => a.every((v, i) => Math.abs(v - b[i]) < 1e-6);

/** The prediction of one snippet whose object focus sits all on grid cell (row, col) of a w×h video. */
function focusOnCell(vf: VideoFeatures, row: number, col: number, w: number, h: number) {
  const [, H, W] = vf.streams.object.shape;
  const grid = Array.from({ length: H }, (_, i) =>
    Array.from({ length: W }, (_, j) => (i === row && j === col ? 1 : 0)),
  );
  return toPrediction(
    'clip',
    vf,
    { probs: [1], classes: ['x'], temporalFocus: [1], spatialFocus: { object: [grid] }, warnings: [] },
    { descriptor: { name: 't', kind: 'untrained', description: 'test' }, streamDescriptions: {} },
    { width: w, height: h },
  );
}

test('gridRegion: stretch spans the frame, crop its centre, letterbox reaches past it (4:3, 16:9, portrait)', () => {
  for (const [w, h] of [
    [640, 480],
    [1280, 720],
    [720, 1280],
  ]) {
    assert.deepEqual(gridRegion(w, h, 224, 224, 'stretch'), [0, 0, 1, 1]);
  }
  // 16:9 centre crop keeps the middle 9/16 of the width
  assert.ok(close(gridRegion(1280, 720, 224, 224, 'crop'), [0.21875, 0, 0.78125, 1]));
  // 4:3: the middle 3/4
  assert.ok(close(gridRegion(640, 480, 224, 224, 'crop'), [0.125, 0, 0.875, 1]));
  // portrait 9:16: the middle 9/16 of the height
  assert.ok(close(gridRegion(720, 1280, 224, 224, 'crop'), [0, 0.21875, 1, 0.78125]));
  // letterbox of 16:9 into a square: the grid's rows reach 7/18 of the height past each edge
  assert.ok(close(gridRegion(1280, 720, 224, 224, 'letterbox'), [0, -7 / 18, 1, 1 + 7 / 18]));
  assert.ok(close(gridRegion(720, 1280, 224, 224, 'letterbox'), [-7 / 18, 0, 1 + 7 / 18, 1]));
  // a square frame: every mode spans it
  for (const m of ['crop', 'letterbox', 'stretch'] as const)
    assert.deepEqual(gridRegion(300, 300, 224, 224, m), [0, 0, 1, 1]);
  // files written before the region existed were centre crops onto a square
  assert.ok(close(mapRegion({}, 1280, 720), [0.21875, 0, 0.78125, 1]));
  assert.deepEqual(mapRegion({ region: [0, 0, 1, 1] }, 1280, 720), [0, 0, 1, 1]);
});

test('heatmap sampling follows the region: nothing is drawn outside a centre crop', () => {
  const grid = [
    [1, 0],
    [0, 0],
  ];
  // a 16:9 image, grid on the centre square: the left quarter is outside
  assert.equal(sampleGrid(grid, 10, 50, 160, 90, [0.21875, 0, 0.78125, 1]), null);
  const inside = sampleGrid(grid, 40, 5, 160, 90, [0.21875, 0, 0.78125, 1]);
  assert.ok(inside !== null && inside > 0.5, 'the top-left cell of the crop is at x≈40');
  assert.ok((sampleGrid(grid, 2, 2, 160, 90) ?? 0) > 0.9, 'whole-frame grid: top-left cell at the corner');
});

/** A grey clip with a white square in one corner region: (x, y) of its top-left, as frame fractions. */
function patchClip(path: string, size: string, fx: number, fy: number): string {
  const [w, h] = size.split('x').map(Number);
  const side = Math.round(Math.min(w, h) / 5);
  const x = Math.round(fx * w);
  const y = Math.round(fy * h);
  return lavfiClip(
    path,
    `color=c=0x505050:s=${size}:r=5:d=1,drawbox=x=${x}:y=${y}:w=${side}:h=${side}:color=white:t=fill,format=yuv420p`,
  );
}

/** Column (0..1) of the cell whose map values differ most between two object maps [T,H,W,C]. */
function peakChange(
  a: Float32Array,
  b: Float32Array,
  H: number,
  W: number,
  C: number,
): { col: number; row: number } {
  let best = -1;
  let at = 0;
  for (let p = 0; p < H * W; p++) {
    let d = 0;
    for (let c = 0; c < C; c++) d += Math.abs(a[p * C + c] - b[p * C + c]);
    if (d > best) {
      best = d;
      at = p;
    }
  }
  return { row: (Math.floor(at / W) + 0.5) / H, col: ((at % W) + 0.5) / W };
}

test('default pack: the object grid spans the whole frame; a cue at the far side lands in the cells there; Predictions state the region', async () => {
  const dir = testDir('dfan-region-');
  const pack = await loadDefaultPack({ streams: ['object'] });
  try {
    for (const [size, fx, fy] of [
      ['320x240', 0.02, 0.4], // 4:3, left edge
      ['426x240', 0.9, 0.4], // 16:9, right edge (outside a centre crop)
      ['240x426', 0.4, 0.9], // portrait, bottom edge
    ] as const) {
      const plain = await extractVideo(patchClip(join(dir, `p-${size}.mp4`), size, 0.5, -1), pack, {
        T: 1,
        K: 1,
      });
      const cue = await extractVideo(patchClip(join(dir, `c-${size}.mp4`), size, fx, fy), pack, {
        T: 1,
        K: 1,
      });
      const info = cue.meta.streams.find((s) => s.name === 'object');
      assert.deepEqual(info?.region, [0, 0, 1, 1], `${size}: region of the whole frame in the file`);
      const [, H, W, C] = cue.streams.object.shape;
      const peak = peakChange(cue.streams.object.data, plain.streams.object.data, H, W, C);
      const [w, h] = size.split('x').map(Number);
      const side = Math.min(w, h) / 5;
      const cx = fx + side / w / 2;
      const cy = fy + side / h / 2;
      // along the axis of the edge the cue sits at (outside a centre crop) it must land within
      // 0.15 of the frame; across it the detector's receptive field spreads the change more
      const wide = fx < 0.1 || fx > 0.8;
      const along = wide ? Math.abs(peak.col - cx) : Math.abs(peak.row - cy);
      const across = wide ? Math.abs(peak.row - cy) : Math.abs(peak.col - cx);
      assert.ok(
        along < 0.15 && across < 0.3,
        `${size}: map changes at the cue (${peak.col.toFixed(2)},${peak.row.toFixed(2)} vs ${cx.toFixed(2)},${cy.toFixed(2)})`,
      );
      const p = focusOnCell(cue, 0, 0, w, h);
      assert.deepEqual(p.spatial.object[0].region, [0, 0, 1, 1]);
      assert.match(p.spatial.object[0].where, /upper-left/);
    }
  } finally {
    await pack.dispose();
  }
});

test('a centre-crop pack states the narrower region, and words follow the frame, not the grid', async () => {
  const dir = testDir('dfan-region-');
  const pack = await loadDefaultPack({ streams: ['object'], objectFit: 'crop' });
  try {
    assert.match(pack.id, /\+crop$/);
    const vf = await extractVideo(patchClip(join(dir, 'c.mp4'), '426x240', 0.5, 0.4), pack, { T: 1, K: 1 });
    const region = vf.meta.streams.find((s) => s.name === 'object')?.region;
    assert.ok(region && close(region, gridRegion(426, 240, 224, 224, 'crop')));
    // peak in the grid's left column: in a centre crop that is left of centre, not the frame's left edge
    const p = focusOnCell(vf, 7, 0, 426, 240);
    assert.match(p.spatial.object[0].where, /^middle-left|^centre/);
    assert.ok((p.spatial.object[0].region[0] ?? 0) > 0.2);
  } finally {
    await pack.dispose();
  }
});
