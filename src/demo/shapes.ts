/**
 * Cue and distractor images for the focus dataset, drawn here with pngjs (nothing copied from
 * elsewhere): filled shapes with anti-aliased edges on a transparent background.
 */
import { PNG } from 'pngjs';

export type ShapeName = 'disc' | 'triangle' | 'square' | 'star' | 'ring' | 'cross';

/** Inside test in unit coordinates (u, v ∈ [-1, 1]). */
function inside(shape: ShapeName, u: number, v: number): boolean {
  const r = Math.hypot(u, v);
  switch (shape) {
    case 'disc':
      return r <= 0.9;
    case 'ring':
      return r <= 0.92 && r >= 0.5;
    case 'square':
      return Math.abs(u) <= 0.8 && Math.abs(v) <= 0.8;
    case 'cross':
      return (Math.abs(u) <= 0.28 && Math.abs(v) <= 0.92) || (Math.abs(v) <= 0.28 && Math.abs(u) <= 0.92);
    case 'triangle': {
      // apex up, base at v = 0.8
      if (v > 0.8 || v < -0.9) return false;
      const half = ((v + 0.9) / 1.7) * 0.95;
      return Math.abs(u) <= half;
    }
    case 'star': {
      const a = Math.atan2(v, u) + Math.PI / 2;
      const k = ((((a / (2 * Math.PI)) * 5) % 1) + 1) % 1; // position within one of 5 spikes
      const edge = 0.42 + 0.52 * Math.abs(1 - 2 * k) ** 1.6;
      return r <= edge;
    }
  }
}

/** An RGBA PNG of `shape` filled with `rgb`, `size`×`size` pixels, 4× supersampled edges. */
export function shapePng(shape: ShapeName, rgb: [number, number, number], size: number): Buffer {
  const png = new PNG({ width: size, height: size });
  const ss = 4;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let hits = 0;
      for (let sy = 0; sy < ss; sy++) {
        for (let sx = 0; sx < ss; sx++) {
          const u = ((x + (sx + 0.5) / ss) / size) * 2 - 1;
          const v = ((y + (sy + 0.5) / ss) / size) * 2 - 1;
          if (inside(shape, u, v)) hits++;
        }
      }
      const i = (y * size + x) * 4;
      png.data[i] = rgb[0];
      png.data[i + 1] = rgb[1];
      png.data[i + 2] = rgb[2];
      png.data[i + 3] = Math.round((255 * hits) / (ss * ss));
    }
  }
  return PNG.sync.write(png);
}
