/**
 * Focus heatmaps over a frame: a spatial focus grid [H][W] that spans `region` of the frame,
 * sampled bilinearly between cell centres, coloured with the ramp and blended over the picture.
 * One implementation for `dfan predict --html`, `dfan serve`'s PNG frames and `dfan demo`.
 */
import type { RgbImage } from './image.js';
import { heatColor } from './ramp.js';

/** The part of the frame a grid spans, as fractions [x0, y0, x1, y1] ([0,0,1,1]: the whole frame). */
export type GridSpan = readonly [number, number, number, number];

/**
 * Sample the grid at pixel (x, y) of a w×h image whose `region` the grid spans, bilinear between
 * cell centres; null outside the region.
 */
export function sampleGrid(
  grid: number[][],
  x: number,
  y: number,
  w: number,
  h: number,
  region: GridSpan = [0, 0, 1, 1],
): number | null {
  const gh = grid.length;
  const gw = grid[0].length;
  const u = ((x + 0.5) / w - region[0]) / (region[2] - region[0]);
  const v = ((y + 0.5) / h - region[1]) / (region[3] - region[1]);
  if (u < 0 || u > 1 || v < 0 || v > 1) return null;
  const gx = Math.max(0, Math.min(gw - 1, u * gw - 0.5));
  const gy = Math.max(0, Math.min(gh - 1, v * gh - 0.5));
  const x0 = Math.floor(gx);
  const y0 = Math.floor(gy);
  const x1 = Math.min(gw - 1, x0 + 1);
  const y1 = Math.min(gh - 1, y0 + 1);
  const fx = gx - x0;
  const fy = gy - y0;
  const top = grid[y0][x0] * (1 - fx) + grid[y0][x1] * fx;
  const bottom = grid[y1][x0] * (1 - fx) + grid[y1][x1] * fx;
  return top * (1 - fy) + bottom * fy;
}

/**
 * A copy of `img` with the grid's heatmap blended over the part of the frame it spans (pixels
 * outside it are only dimmed). The grid is scaled from its min to its max, so the peak always
 * shows; a flat grid (no focus to show) only dims the frame. Low focus stays see-through.
 */
export function overlayHeatmap(
  img: RgbImage,
  grid: number[][],
  region: GridSpan = [0, 0, 1, 1],
  alpha = 0.55,
): RgbImage {
  const { width, height, data } = img;
  const flat = grid.flat();
  const max = Math.max(...flat);
  const min = Math.min(...flat);
  const span = max - min;
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = (y * width + x) * 3;
      const sample = span > 1e-9 ? sampleGrid(grid, x, y, width, height, region) : null;
      const v = sample === null ? 0 : (sample - min) / span;
      const c = heatColor(v);
      const a = sample === null ? 0.3 : alpha * (0.25 + 0.75 * v);
      for (let k = 0; k < 3; k++) out[p + k] = Math.round(data[p + k] * (1 - a) + c[k] * a);
    }
  }
  return { width, height, data: out };
}
