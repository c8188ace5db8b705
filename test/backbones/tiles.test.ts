import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assembleTiles, cutTiles, halveFrame } from '../../src/backbones/tiles.js';

/** RGB24 [side, side, 3] whose pixel (x, y) is (x, y, x + y) mod 256. */
function ramp(side: number): Uint8Array {
  const d = new Uint8Array(side * side * 3);
  for (let y = 0; y < side; y++)
    for (let x = 0; x < side; x++) d.set([x % 256, y % 256, (x + y) % 256], (y * side + x) * 3);
  return d;
}

test('cutTiles: row-major tiles, each pixel where it was in the frame', () => {
  const side = 6;
  const tiles = cutTiles(ramp(side), side, 2);
  assert.equal(tiles.length, 4);
  // tile 1 = top-right: its pixel (0, 0) is frame pixel (3, 0); tile 2 = bottom-left: (0, 3)
  assert.deepEqual(Array.from(tiles[1].subarray(0, 3)), [3, 0, 3]);
  assert.deepEqual(Array.from(tiles[2].subarray(0, 3)), [0, 3, 3]);
  // tile 3's last pixel is the frame's last pixel
  assert.deepEqual(Array.from(tiles[3].subarray(-3)), [5, 5, 10]);
  assert.throws(() => cutTiles(ramp(5), 5, 2), /cannot cut/);
});

test('halveFrame: each pixel is the rounded mean of its 2×2 block', () => {
  const d = new Uint8Array(4 * 4 * 3);
  // top-left block: 0, 10, 20, 31 in red → 15.25 → 15
  d[0] = 0;
  d[3] = 10;
  d[4 * 3] = 20;
  d[4 * 3 + 3] = 31;
  const h = halveFrame(d, 4);
  assert.equal(h.length, 2 * 2 * 3);
  assert.equal(h[0], 15);
  assert.equal(h[1], 0);
  const r = halveFrame(ramp(8), 8);
  // pixel (1, 2) of the half = mean of x 2..3, y 4..5 → (2.5, 4.5, 7) → (3, 5, 7) rounded half up
  assert.deepEqual(Array.from(r.subarray((2 * 4 + 1) * 3, (2 * 4 + 1) * 3 + 3)), [3, 5, 7]);
});

test('assembleTiles puts each tile map where its tile was: a cell of the whole map = the same cell of its tile', () => {
  const frames = 2;
  const grid = 2;
  const [h, w, C] = [3, 3, 2];
  // tile maps whose values encode (frame, tile, y, x, c)
  const maps = new Float32Array(frames * grid * grid * h * w * C);
  for (let n = 0; n < frames; n++)
    for (let t = 0; t < grid * grid; t++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++)
          for (let c = 0; c < C; c++)
            maps[(((n * 4 + t) * h + y) * w + x) * C + c] = n * 10000 + t * 1000 + y * 100 + x * 10 + c;
  const out = assembleTiles(maps, frames, grid, h, w, C);
  const at = (n: number, Y: number, X: number, c: number) => out[((n * grid * h + Y) * grid * w + X) * C + c];
  // whole-map cell (Y, X) lies in tile (⌊Y/h⌋, ⌊X/w⌋) at (Y mod h, X mod w)
  for (let n = 0; n < frames; n++)
    for (let Y = 0; Y < grid * h; Y++)
      for (let X = 0; X < grid * w; X++)
        for (let c = 0; c < C; c++) {
          const t = Math.floor(Y / h) * grid + Math.floor(X / w);
          assert.equal(at(n, Y, X, c), n * 10000 + t * 1000 + (Y % h) * 100 + (X % w) * 10 + c);
        }
  assert.throws(() => assembleTiles(maps.subarray(1), frames, grid, h, w, C), /are not/);
});
