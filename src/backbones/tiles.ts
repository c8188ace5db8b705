/**
 * Tiled maps: a frame stretched to (g·S)² is cut into g×g tiles of S², each tile goes through a
 * square-input backbone, and the tiles' h×w maps are put back in place as one (g·h)×(g·w) map of
 * the whole frame. A small cue then covers g² times the share of each tile it would cover of one
 * S² view, so the backbone sees it at g× the scale and the grid is g× finer (docs/probe.md: the
 * 7×7 ImageNet map of a whole frame barely knows a 1/16-area photo).
 *
 *   cutTiles        RGB24 [g·S, g·S, 3] → g² RGB24 [S, S, 3], row-major
 *   halveFrame      RGB24 [2S, 2S, 3] → [S, S, 3] by 2×2 box average (the whole-frame view)
 *   assembleTiles   g² HWC maps per frame → one [g·h, g·w, C] map per frame
 */
import { DfanError } from '../errors.js';

/** The g² tiles (row-major: top-left, top-right, …) of a square RGB24 frame of side g·tile. */
export function cutTiles(rgb: Uint8Array, side: number, grid: number): Uint8Array[] {
  const S = side / grid;
  if (!Number.isInteger(S) || rgb.length !== side * side * 3)
    throw new DfanError(
      'INTERNAL',
      `cannot cut ${grid}×${grid} tiles from ${rgb.length} bytes of a ${side}² RGB frame`,
    );
  const tiles: Uint8Array[] = [];
  for (let ty = 0; ty < grid; ty++)
    for (let tx = 0; tx < grid; tx++) {
      const t = new Uint8Array(S * S * 3);
      for (let y = 0; y < S; y++) {
        const src = ((ty * S + y) * side + tx * S) * 3;
        t.set(rgb.subarray(src, src + S * 3), y * S * 3);
      }
      tiles.push(t);
    }
  return tiles;
}

/** A square RGB24 frame of even side 2S → [S, S, 3], each pixel the mean of its 2×2 block. */
export function halveFrame(rgb: Uint8Array, side: number): Uint8Array {
  if (side % 2 !== 0 || rgb.length !== side * side * 3)
    throw new DfanError('INTERNAL', `cannot halve ${rgb.length} bytes of a ${side}² RGB frame`);
  const S = side / 2;
  const out = new Uint8Array(S * S * 3);
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++)
      for (let c = 0; c < 3; c++) {
        const a = (2 * y * side + 2 * x) * 3 + c;
        const b = a + side * 3;
        out[(y * S + x) * 3 + c] = (rgb[a] + rgb[a + 3] + rgb[b] + rgb[b + 3] + 2) >> 2;
      }
  return out;
}

/**
 * Per frame, g² consecutive tile maps [h, w, C] (HWC, row-major tiles as `cutTiles` cuts them)
 * → one map [g·h, g·w, C]. `maps` holds N·g² tile maps; the result N maps.
 */
export function assembleTiles(
  maps: Float32Array,
  frames: number,
  grid: number,
  h: number,
  w: number,
  C: number,
): Float32Array {
  const tile = h * w * C;
  if (maps.length !== frames * grid * grid * tile)
    throw new DfanError(
      'INTERNAL',
      `${maps.length} values are not ${frames} frames of ${grid}×${grid} tiles of [${h},${w},${C}]`,
    );
  const W = grid * w;
  const out = new Float32Array(maps.length);
  for (let n = 0; n < frames; n++)
    for (let ty = 0; ty < grid; ty++)
      for (let tx = 0; tx < grid; tx++) {
        const src = (n * grid * grid + ty * grid + tx) * tile;
        for (let y = 0; y < h; y++) {
          const row = src + y * w * C;
          const dst = (n * grid * h * W + (ty * h + y) * W + tx * w) * C;
          out.set(maps.subarray(row, row + w * C), dst);
        }
      }
  return out;
}
