/**
 * Token maps and clip maps (issue #35, items 1–2), on generated ONNX models whose outputs are known
 * (test/backbones/token-models.ts): the manifest fields are checked at the door; the dropped
 * leading tokens, the grid order, the mean over T' vs the T'·H·W cells and the CTHW / THWC /
 * tokens layouts land where they should; and on decoded video each cell covers its part of the
 * frame's region.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { foldTimeSteps } from '../../src/app/explain.js';
import { loadPack } from '../../src/backbones/index.js';
import { validateManifest } from '../../src/backbones/manifest.js';
import { clipsToTensor, framesToTensor, gridRegion } from '../../src/backbones/preprocess.js';
import { loadBackbone } from '../../src/backbones/runner.js';
import { DfanError } from '../../src/errors.js';
import { extractVideo } from '../../src/features/extract.js';
import type { Frame } from '../../src/video/types.js';
import { lavfiClip } from '../helpers/ffmpeg.js';
import { testDir } from '../helpers/temp.js';
import { writeClip3dLike, writeVitLike } from './token-models.js';

const dir = testDir('dfan-tokens-');
const VIT = join(dir, 'vit.onnx');
const CLIP = join(dir, 'clip3d.onnx');
// ViT-like: 3×4 patches of 8 px (input 24×32), a class token and 2 registers
writeVitLike(VIT, { grid: [3, 4], patch: 8, registers: 2 });
// 3-D CNN-like: tubelets of 2 frames × 8×8 px over 4 frames of 16×16 → T' = 2, 2×2 cells
writeClip3dLike(CLIP, { grid: [2, 2, 2], tubelet: 2, patch: 8 });

const base = { engine: 'onnx', licence: 'test', description: 'generated: known outputs' };
const normalise = { scale: 1 / 255, mean: [0.5, 0.4, 0.3], std: [0.2, 0.25, 0.3] };

function vitManifest(output: Record<string, unknown> = {}, crop = 'stretch') {
  return {
    ...base,
    id: 'vit-like/tokens',
    stream: 'object',
    kind: 'frame-map',
    weights: VIT,
    input: { name: 'pixel_values', size: [24, 32], crop, layout: 'NCHW', ...normalise },
    output: {
      name: 'last_hidden_state',
      shape: [15, 4],
      layout: 'tokens',
      skipTokens: 3,
      grid: [3, 4],
      ...output,
    },
  };
}

function clipManifest(output: Record<string, unknown>, stream = 'action', crop = 'stretch') {
  return {
    ...base,
    id: `clip3d-like/${String(output.name)}`,
    stream,
    kind: 'clip-map',
    weights: CLIP,
    input: { name: 'clip', size: [16, 16], crop, layout: 'NCTHW', frames: 4, ...normalise },
    output,
  };
}

const valid = (m: unknown) => validateManifest(m, join(dir, 'm.json'), dir);

function refused(m: unknown, field: RegExp): void {
  assert.throws(
    () => valid(m),
    (e: unknown) => e instanceof DfanError && e.code === 'BAD_MANIFEST' && field.test(e.message),
    String(field),
  );
}

/** Frames of w×h whose pixels are distinct and deterministic (already at the input size: no resize). */
function pattern(n: number, w: number, h: number, seed = 0): Frame[] {
  return Array.from({ length: n }, (_, i) => {
    const data = new Uint8Array(w * h * 3);
    for (let j = 0; j < data.length; j++) data[j] = (j * 37 + i * 91 + seed * 13 + (j >> 5) * 7) % 256;
    return { time: i, width: w, height: h, data };
  });
}

const near = (a: number, b: number, what: string) =>
  assert.ok(Math.abs(a - b) < 1e-4, `${what}: ${a} vs ${b}`);

test('manifest: token and clip-map outputs are checked at the door, each error names its field', () => {
  const v = valid(vitManifest());
  assert.deepEqual([v.output.layout, v.output.skipTokens, v.output.grid], ['tokens', 3, [3, 4]]);
  const c = valid(clipManifest({ name: 'map', shape: [4, 2, 2, 2] }));
  assert.deepEqual([c.output.layout, c.output.time], ['CTHW', 'mean'], 'clip-map defaults');
  assert.equal(valid(vitManifest({ skipTokens: undefined, shape: [12, 4] })).output.skipTokens, 0);
  refused(
    vitManifest({ grid: undefined, skipTokens: 1, shape: [197, 768] }),
    /output\.grid" is missing.*\[14, 14\] for 196/,
  );
  refused(
    vitManifest({ skipTokens: 2 }),
    /output\.shape" has 15 tokens, but skipTokens 2 \+ grid 3×4 makes 14/,
  );
  refused(vitManifest({ shape: [4, 15] }), /output\.shape" has 4 tokens/);
  refused(vitManifest({ grid: [3, 4, 1] }), /output\.grid" .*\[H, W\]/);
  refused(vitManifest({ skipTokens: -1 }), /output\.skipTokens" is -1/);
  refused(vitManifest({ time: 'cells' }), /output\.time" is for clip-map outputs only/);
  refused(vitManifest({ layout: 'CTHW' }), /output\.layout" is "CTHW": expected one of CHW, HWC, tokens/);
  refused(clipManifest({ name: 'map', shape: [4, 2, 2] }), /output\.shape" must have 4 dims \(C,T,H,W\)/);
  refused(
    clipManifest({ name: 'map', shape: [4, 2, 2, 2], grid: [2, 2] }),
    /output\.grid" is for token outputs/,
  );
  refused(clipManifest({ name: 'tokens', shape: [8, 4], layout: 'tokens', grid: [2, 4] }), /\[T', H, W\]/);
  refused(clipManifest({ name: 'map', shape: [4, 2, 2, 2], time: 'max' }), /output\.time" is "max"/);
  const noFrames = clipManifest({ name: 'map', shape: [4, 2, 2, 2] });
  delete (noFrames.input as Record<string, unknown>).frames;
  refused(noFrames, /input\.frames" must be a positive integer for a clip-map/);
  refused(
    { ...noFrames, input: { ...noFrames.input, layout: 'NCHW', frames: 4 } },
    /input\.layout" is NCHW, but a clip-map backbone needs NCTHW/,
  );
  refused(
    { ...vitManifest(), kind: 'frame-vector', output: { name: 'x', shape: [4], grid: [2, 2] } },
    /is for map outputs/,
  );
});

test('ViT-like tokens: class token and registers dropped, patches in row-major grid order, values exact', async () => {
  const m = valid(vitManifest());
  const runner = await loadBackbone(m, { batchSize: 2 });
  try {
    assert.deepEqual(runner.itemShape, [3, 4, 4]);
    const frames = pattern(3, 32, 24);
    const y = await runner.runFrames(frames);
    assert.deepEqual(y.shape, [3, 3, 4, 4]);
    const x = framesToTensor(frames, m.input).data; // [N,3,24,32]
    for (let n = 0; n < 3; n++)
      for (let h = 0; h < 3; h++)
        for (let w = 0; w < 4; w++) {
          const cell = ((n * 3 + h) * 4 + w) * 4;
          assert.equal(y.data[cell + 3], h * 4 + w + 1, `frame ${n} cell (${h},${w}) is patch ${h * 4 + w}`);
          for (let c = 0; c < 3; c++) {
            let s = 0;
            for (let py = 0; py < 8; py++)
              for (let px = 0; px < 8; px++) s += x[((n * 3 + c) * 24 + h * 8 + py) * 32 + w * 8 + px] / 64;
            near(y.data[cell + c], s, `frame ${n} cell (${h},${w}) channel ${c}`);
          }
        }
  } finally {
    await runner.dispose();
  }
});

test('clip maps: CTHW, THWC and tokens agree; mean over T′ by default, T′·H·W cells when asked', async () => {
  const clips = [pattern(4, 16, 16, 1), pattern(4, 16, 16, 2)];
  const run = async (output: Record<string, unknown>) => {
    const r = await loadBackbone(valid(clipManifest(output)), { batchSize: 1 });
    try {
      const y = await r.runClips(clips);
      assert.deepEqual(y.shape, [2, ...r.itemShape]);
      return y;
    } finally {
      await r.dispose();
    }
  };
  const cthw = await run({ name: 'map', shape: [4, 2, 2, 2] });
  const thwcCells = await run({ name: 'map_thwc', shape: [2, 2, 2, 4], layout: 'THWC', time: 'cells' });
  const tokensMean = await run({ name: 'tokens', shape: [8, 4], layout: 'tokens', grid: [2, 2, 2] });
  const tokensCells = await run({
    name: 'tokens',
    shape: [8, 4],
    layout: 'tokens',
    grid: [2, 2, 2],
    time: 'cells',
  });
  assert.deepEqual(cthw.shape, [2, 2, 2, 4], 'mean: H×W cells');
  assert.deepEqual(thwcCells.shape, [2, 4, 2, 4], "cells: T'·H rows");
  assert.deepEqual(tokensMean.data, cthw.data, 'tokens = CTHW (mean)');
  assert.deepEqual(tokensCells.data, thwcCells.data, 'tokens = THWC (cells)');
  const x = clipsToTensor(clips, valid(clipManifest({ name: 'map', shape: [4, 2, 2, 2] })).input).data; // [2,3,4,16,16]
  const tubelet = (n: number, c: number, t: number, h: number, w: number) => {
    let s = 0;
    for (let f = 2 * t; f < 2 * t + 2; f++)
      for (let py = 0; py < 8; py++)
        for (let px = 0; px < 8; px++)
          s += x[(((n * 3 + c) * 4 + f) * 16 + h * 8 + py) * 16 + w * 8 + px] / 128;
    return s;
  };
  for (let n = 0; n < 2; n++)
    for (let h = 0; h < 2; h++)
      for (let w = 0; w < 2; w++) {
        const p = h * 2 + w;
        const mean = cthw.data.subarray(((n * 2 + h) * 2 + w) * 4);
        near(mean[3], (0 * 100 + p + 1 * 100 + p) / 2, `clip ${n} cell ${p}: position code averaged over T'`);
        for (let t = 0; t < 2; t++) {
          const cell = thwcCells.data.subarray(((n * 4 + t * 2 + h) * 2 + w) * 4);
          assert.equal(cell[3], t * 100 + p, `clip ${n}: row ${t * 2 + h} holds time step ${t}, patch ${p}`);
          for (let c = 0; c < 3; c++)
            near(cell[c], tubelet(n, c, t, h, w), `clip ${n} t'${t} cell ${p} ch ${c}`);
        }
        for (let c = 0; c < 3; c++)
          near(
            mean[c],
            (tubelet(n, c, 0, h, w) + tubelet(n, c, 1, h, w)) / 2,
            `clip ${n} mean cell ${p} ch ${c}`,
          );
      }
});

test('an output with the right size but other dims (THWC declared for a CTHW map) is refused when it runs', async () => {
  const r = await loadBackbone(valid(clipManifest({ name: 'map', shape: [2, 2, 2, 4], layout: 'THWC' })));
  try {
    await assert.rejects(
      r.runClips([pattern(4, 16, 16)]),
      (e: unknown) =>
        e instanceof DfanError && e.code === 'BAD_MANIFEST' && /\[1,4,2,2,2\].*\[2,2,2,4\]/.test(e.message),
    );
  } finally {
    await r.dispose();
  }
});

/** A grey 16:9 clip with a white square whose top-left is at (fx, fy) of the frame. */
function cueClip(path: string, fx: number, fy: number): string {
  return lavfiClip(
    path,
    `color=c=0x404040:s=320x180:r=10:d=1,drawbox=x=${Math.round(fx * 320)}:y=${Math.round(fy * 180)}:w=36:h=36:color=white:t=fill,format=yuv420p`,
  );
}

test('decoded video: each token / clip cell covers its part of the stream region (centre crop of 16:9), cells state their time steps', async () => {
  const pack = join(dir, 'pack.json');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(
    pack,
    JSON.stringify({
      id: 'tokens-test@1',
      backbones: [
        vitManifest({}, 'crop'),
        clipManifest(
          { name: 'tokens', shape: [8, 4], layout: 'tokens', grid: [2, 2, 2], time: 'cells' },
          'motion',
          'crop',
        ),
      ],
    }),
  );
  const p = await loadPack(pack);
  try {
    for (const [fx, fy] of [
      [0.62, 0.1],
      [0.2, 0.7],
    ]) {
      const vf = await extractVideo(cueClip(join(dir, `cue-${fx}.mp4`), fx, fy), p, { T: 2, K: 4 });
      const cx = fx + 36 / 320 / 2;
      const cy = fy + 36 / 180 / 2;
      for (const name of ['object', 'motion']) {
        const info = vf.meta.streams.find((s) => s.name === name);
        const region = info?.region;
        assert.ok(region, `${name}: region stored`);
        // a 4:3 (ViT) and a square (clip) input, centre-cropped from 16:9
        const [iw, ih] = name === 'object' ? [32, 24] : [16, 16];
        assert.deepEqual(region, gridRegion(320, 180, iw, ih, 'crop'));
        assert.equal(info?.timeSteps, name === 'motion' ? 2 : undefined);
        const [T, rows, W, C] = vf.streams[name].shape;
        const steps = info?.timeSteps ?? 1;
        const H = rows / steps;
        for (let t = 0; t < T; t++)
          for (let k = 0; k < steps; k++) {
            let best = -Infinity;
            let at = 0;
            for (let q = 0; q < H * W; q++) {
              const v = vf.streams[name].data[((t * rows + k * H) * W + q) * C]; // red channel: white is brightest
              if (v > best) [best, at] = [v, q];
            }
            const col = region[0] + (((at % W) + 0.5) / W) * (region[2] - region[0]);
            const row = region[1] + ((Math.floor(at / W) + 0.5) / H) * (region[3] - region[1]);
            const cellW = (region[2] - region[0]) / W;
            const cellH = (region[3] - region[1]) / H;
            assert.ok(
              Math.abs(col - cx) <= cellW / 2 + 0.02 && Math.abs(row - cy) <= cellH / 2 + 0.02,
              `${name} snippet ${t} step ${k}: brightest cell centred at (${col.toFixed(2)}, ${row.toFixed(2)}), cue at (${cx.toFixed(2)}, ${cy.toFixed(2)})`,
            );
          }
      }
    }
  } finally {
    await p.dispose();
  }
});

test("a prediction shows a T'·H·W cell grid as one H×W grid of the frame: the sum over its T' grids", () => {
  const cells = [
    [1, 2],
    [3, 4],
    [5, 6],
    [7, 8],
  ]; // T' = 2 grids of 2×2, stacked
  assert.deepEqual(foldTimeSteps(cells, 2), [
    [6, 8],
    [10, 12],
  ]);
  assert.deepEqual(foldTimeSteps(cells, 1), cells, 'one time step: unchanged');
  assert.deepEqual(foldTimeSteps(cells, 3), cells, 'rows not a multiple of the steps: unchanged');
});
