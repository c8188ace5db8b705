/**
 * Small image operations on packed RGB24 images (the layout decodeFrames returns): create,
 * blit, fill, outline, text, bilinear resize. Pure functions, no dependencies; fast enough for
 * contact sheets and report thumbnails.
 */
import { ADVANCE, GLYPH_H, GLYPH_W, glyph, measureText } from './font.js';

/** Packed RGB24, row-major: `data.length === width*height*3`. A decoded Frame is one. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array; // [H, W, 3]
}

export type Rgb = [number, number, number];

export function createImage(width: number, height: number, fill: Rgb = [0, 0, 0]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  if (fill[0] || fill[1] || fill[2]) {
    for (let i = 0; i < data.length; i += 3) {
      data[i] = fill[0];
      data[i + 1] = fill[1];
      data[i + 2] = fill[2];
    }
  }
  return { width, height, data };
}

/** Copy `src` into `dst` with its top-left corner at (x, y), clipped to `dst`. */
export function blit(dst: RgbImage, src: RgbImage, x: number, y: number): void {
  const x0 = Math.max(0, x);
  const x1 = Math.min(dst.width, x + src.width);
  if (x1 <= x0) return;
  for (let sy = 0; sy < src.height; sy++) {
    const dy = y + sy;
    if (dy < 0 || dy >= dst.height) continue;
    const s = (sy * src.width + (x0 - x)) * 3;
    dst.data.set(src.data.subarray(s, s + (x1 - x0) * 3), (dy * dst.width + x0) * 3);
  }
}

export function fillRect(img: RgbImage, x: number, y: number, w: number, h: number, c: Rgb, alpha = 1): void {
  const xa = Math.max(0, Math.floor(x));
  const ya = Math.max(0, Math.floor(y));
  const xb = Math.min(img.width, Math.floor(x + w));
  const yb = Math.min(img.height, Math.floor(y + h));
  for (let yy = ya; yy < yb; yy++) {
    for (let xx = xa; xx < xb; xx++) {
      const o = (yy * img.width + xx) * 3;
      for (let k = 0; k < 3; k++) img.data[o + k] = Math.round(img.data[o + k] * (1 - alpha) + c[k] * alpha);
    }
  }
}

/**
 * Outline the rectangle (x, y, w, h) with a line `width` px thick drawn inside it; `dash` > 0
 * draws dashes of that length (for a box that marks where something is not shown).
 */
export function strokeRect(
  img: RgbImage,
  rect: { x: number; y: number; w: number; h: number },
  c: Rgb,
  width = 2,
  dash = 0,
): void {
  const x = Math.round(rect.x);
  const y = Math.round(rect.y);
  const w = Math.round(rect.w);
  const h = Math.round(rect.h);
  const on = (i: number) => dash <= 0 || Math.floor(i / dash) % 2 === 0;
  for (let i = 0; i < w; i++) {
    if (!on(i)) continue;
    fillRect(img, x + i, y, 1, width, c);
    fillRect(img, x + i, y + h - width, 1, width, c);
  }
  for (let i = 0; i < h; i++) {
    if (!on(i)) continue;
    fillRect(img, x, y + i, width, 1, c);
    fillRect(img, x + w - width, y + i, width, 1, c);
  }
}

export interface TextStyle {
  color?: Rgb;
  /** integer pixel scale of the 5×7 font (default 1) */
  scale?: number;
  /** draw a box behind the text (padding 1·scale) */
  background?: Rgb;
  backgroundAlpha?: number;
}

/** Draw `text` with the built-in font, top-left at (x, y). Returns the width drawn. */
export function drawText(img: RgbImage, text: string, x: number, y: number, style: TextStyle = {}): number {
  const scale = Math.max(1, Math.round(style.scale ?? 1));
  const color = style.color ?? [255, 255, 255];
  const { width, height } = measureText(text, scale);
  if (style.background) {
    fillRect(
      img,
      x - scale,
      y - scale,
      width + 2 * scale,
      height + 2 * scale,
      style.background,
      style.backgroundAlpha ?? 1,
    );
  }
  let cx = x;
  for (const ch of text) {
    const g = glyph(ch);
    for (let gy = 0; gy < GLYPH_H; gy++) {
      for (let gx = 0; gx < GLYPH_W; gx++) {
        if (!g[gy * GLYPH_W + gx]) continue;
        fillRect(img, cx + gx * scale, y + gy * scale, scale, scale, color);
      }
    }
    cx += ADVANCE * scale;
  }
  return width;
}

/** Bilinear resize (pixel centres aligned, like ffmpeg/OpenCV); area-averages when shrinking a lot. */
export function resizeImage(src: RgbImage, width: number, height: number): RgbImage {
  let img = src;
  // halve first while more than 2× too big, so bilinear does not alias
  while (img.width >= 2 * width * 2 && img.height >= 2 * height * 2) img = halve(img);
  const out = createImage(width, height);
  const sx = img.width / width;
  const sy = img.height / height;
  for (let y = 0; y < height; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), img.height - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, img.height - 1);
    const wy = fy - y0;
    for (let x = 0; x < width; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), img.width - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, img.width - 1);
      const wx = fx - x0;
      const o = (y * width + x) * 3;
      for (let k = 0; k < 3; k++) {
        const a = img.data[(y0 * img.width + x0) * 3 + k];
        const b = img.data[(y0 * img.width + x1) * 3 + k];
        const c = img.data[(y1 * img.width + x0) * 3 + k];
        const d = img.data[(y1 * img.width + x1) * 3 + k];
        out.data[o + k] = Math.round((a * (1 - wx) + b * wx) * (1 - wy) + (c * (1 - wx) + d * wx) * wy);
      }
    }
  }
  return out;
}

function halve(src: RgbImage): RgbImage {
  const w = Math.floor(src.width / 2);
  const h = Math.floor(src.height / 2);
  const out = createImage(w, h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let k = 0; k < 3; k++) {
        const i = (2 * y * src.width + 2 * x) * 3 + k;
        const j = i + src.width * 3;
        out.data[(y * w + x) * 3 + k] =
          (src.data[i] + src.data[i + 3] + src.data[j] + src.data[j + 3] + 2) >> 2;
      }
    }
  }
  return out;
}
