/**
 * Heatmap overlays for the report: a focus grid [H][W] bilinearly upsampled over an RGB frame,
 * coloured with a perceptual ramp and alpha-blended; PNG encoding to data: URIs (no network).
 */
import { PNG } from 'pngjs';
import type { Region } from '../features/types.js';

/** Inferno-like ramp, 0..1 → [r,g,b] (piecewise linear over 6 stops). */
const STOPS: Array<[number, number, number]> = [
  [0, 0, 4],
  [66, 10, 104],
  [147, 38, 103],
  [221, 81, 58],
  [252, 165, 10],
  [252, 255, 164],
];

export function ramp(v: number): [number, number, number] {
  const x = Math.max(0, Math.min(1, v)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(x));
  const f = x - i;
  const a = STOPS[i];
  const b = STOPS[i + 1];
  return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
}

/**
 * Sample the grid at pixel (x, y) of a w×h image whose `region` (frame fractions) the grid spans,
 * bilinear between cell centres; null outside the region.
 */
export function sampleGrid(
  grid: number[][],
  x: number,
  y: number,
  w: number,
  h: number,
  region: Region = [0, 0, 1, 1],
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
 * Blend a heatmap over packed RGB24 pixels; returns RGBA. The grid lies over the part of the
 * frame it spans (`region`, fractions; pixels outside it are only dimmed). It is scaled to its own
 * max so the peak is always visible; where the focus is flat (uniform grid) the frame is only dimmed.
 */
export function overlayHeatmap(
  rgb: Uint8Array,
  width: number,
  height: number,
  grid: number[][],
  region: Region = [0, 0, 1, 1],
  alpha = 0.55,
): Uint8Array {
  const flat = grid.flat();
  const max = Math.max(...flat);
  const min = Math.min(...flat);
  const span = max - min;
  const out = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      const sample = sampleGrid(grid, x, y, width, height, region);
      const v = span > 1e-9 && sample !== null ? (sample - min) / span : 0;
      const [r, g, b] = ramp(v);
      const a = span > 1e-9 && sample !== null ? alpha * (0.25 + 0.75 * v) : 0.3;
      const src = [rgb[p * 3], rgb[p * 3 + 1], rgb[p * 3 + 2]];
      out[p * 4] = Math.round(src[0] * (1 - a) + r * a);
      out[p * 4 + 1] = Math.round(src[1] * (1 - a) + g * a);
      out[p * 4 + 2] = Math.round(src[2] * (1 - a) + b * a);
      out[p * 4 + 3] = 255;
    }
  }
  return out;
}

export function rgbToRgba(rgb: Uint8Array, width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height * 4);
  for (let p = 0; p < width * height; p++) {
    out[p * 4] = rgb[p * 3];
    out[p * 4 + 1] = rgb[p * 3 + 1];
    out[p * 4 + 2] = rgb[p * 3 + 2];
    out[p * 4 + 3] = 255;
  }
  return out;
}

export function encodePng(rgba: Uint8Array, width: number, height: number): Buffer {
  const png = new PNG({ width, height });
  png.data = Buffer.from(rgba.buffer, rgba.byteOffset, rgba.byteLength);
  return PNG.sync.write(png, { colorType: 6 });
}

export function pngDataUri(png: Buffer): string {
  return `data:image/png;base64,${png.toString('base64')}`;
}
