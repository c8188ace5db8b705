/**
 * Labelled real photos for probing object maps: the demo's photos (src/demo/photos.ts: Tux Paint's
 * stamp cut-outs of Debian `tuxpaint-stamps-default`, drawings filtered out by their flat share),
 * decoded here to RGBA and composited over real video frames.
 *
 * Effects (file reads, PNG decode, ffmpeg) live here; the maths is in linear.ts and head.ts.
 */
import { readFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import { findPhotos, TUXPAINT_STAMPS } from '../../src/demo/photos.js';
import { decodeFrames } from '../../src/video/decode.js';
import { probe } from '../../src/video/probe.js';
import type { Frame } from '../../src/video/types.js';
import type { CueBox } from './linear.js';

/** An RGBA image cropped to its opaque pixels. */
export interface Rgba {
  width: number;
  height: number;
  data: Uint8Array; // [H, W, 4]
}

export interface StampPhoto {
  /** absolute path of the PNG */
  path: string;
  cls: string;
  image: Rgba;
}

/** Decode a PNG to RGBA, crop to its opaque bounding box, and shrink so the long side ≤ maxSide. */
export function readRgba(file: string, maxSide = 256): Rgba {
  const png = PNG.sync.read(readFileSync(file));
  const { width: W, height: H, data } = png;
  let x0 = W;
  let y0 = H;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++)
      if (data[(y * W + x) * 4 + 3] >= 128) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
  if (x1 < 0) return { width: 1, height: 1, data: new Uint8Array(4) };
  const cw = x1 - x0 + 1;
  const ch = y1 - y0 + 1;
  const f = Math.max(1, Math.max(cw, ch) / maxSide);
  const w = Math.max(1, Math.round(cw / f));
  const h = Math.max(1, Math.round(ch / f));
  const out = new Uint8Array(w * h * 4);
  // area average (box filter) over the source pixels of each output pixel
  for (let y = 0; y < h; y++) {
    const sy0 = y0 + Math.floor((y * ch) / h);
    const sy1 = Math.max(sy0 + 1, y0 + Math.floor(((y + 1) * ch) / h));
    for (let x = 0; x < w; x++) {
      const sx0 = x0 + Math.floor((x * cw) / w);
      const sx1 = Math.max(sx0 + 1, x0 + Math.floor(((x + 1) * cw) / w));
      let r = 0;
      let g = 0;
      let b = 0;
      let a = 0;
      let n = 0;
      for (let sy = sy0; sy < sy1; sy++)
        for (let sx = sx0; sx < sx1; sx++) {
          const i = (sy * W + sx) * 4;
          const al = data[i + 3];
          r += data[i] * al;
          g += data[i + 1] * al;
          b += data[i + 2] * al;
          a += al;
          n++;
        }
      const o = (y * w + x) * 4;
      if (a > 0) {
        out[o] = r / a;
        out[o + 1] = g / a;
        out[o + 2] = b / a;
      }
      out[o + 3] = a / n;
    }
  }
  return { width: w, height: h, data: out };
}

/** The demo's photos of every class (the one loader and filter), decoded for compositing. */
export function loadStamps(root = TUXPAINT_STAMPS): StampPhoto[] {
  return findPhotos(root).photos.map((p) => ({ path: p.path, cls: p.label, image: readRgba(p.path) }));
}

/**
 * Background frames from real clips: `perClip` frames evenly spread over each clip, decoded at
 * width×height (stretched).
 */
export async function backgroundFrames(
  clips: string[],
  perClip: number,
  width = 640,
  height = 360,
): Promise<Frame[]> {
  const out: Frame[] = [];
  for (const c of clips) {
    const info = await probe(c);
    const times = Array.from({ length: perClip }, (_, i) => ((i + 0.5) / perClip) * info.duration);
    out.push(
      ...(await decodeFrames(c, times, { width, height, mode: 'stretch', onWarning: () => {} }, info)),
    );
  }
  return out;
}

/**
 * Paste `img` over a copy of `frame`, fitted inside `box` (pixels, aspect kept, centred),
 * bilinear sampling, alpha blended. Returns the new frame and the rectangle really covered,
 * as fractions of the frame.
 */
export function pastePhoto(
  frame: Frame,
  img: Rgba,
  box: { x: number; y: number; w: number; h: number },
): { frame: Frame; cue: CueBox } {
  const f = Math.min(box.w / img.width, box.h / img.height);
  const pw = Math.max(1, Math.round(img.width * f));
  const ph = Math.max(1, Math.round(img.height * f));
  const px = Math.round(box.x + (box.w - pw) / 2);
  const py = Math.round(box.y + (box.h - ph) / 2);
  const data = Uint8Array.from(frame.data);
  const W = frame.width;
  const { width: iw, height: ih, data: s } = img;
  for (let y = 0; y < ph; y++) {
    const Y = py + y;
    if (Y < 0 || Y >= frame.height) continue;
    const sy = Math.min(ih - 1, Math.max(0, ((y + 0.5) * ih) / ph - 0.5));
    const y0 = Math.floor(sy);
    const y1 = Math.min(ih - 1, y0 + 1);
    const fy = sy - y0;
    for (let x = 0; x < pw; x++) {
      const X = px + x;
      if (X < 0 || X >= W) continue;
      const sx = Math.min(iw - 1, Math.max(0, ((x + 0.5) * iw) / pw - 0.5));
      const x0 = Math.floor(sx);
      const x1 = Math.min(iw - 1, x0 + 1);
      const fx = sx - x0;
      const at = (yy: number, xx: number, c: number) => s[(yy * iw + xx) * 4 + c];
      // premultiplied blend: colours of transparent pixels carry no weight
      const a00 = at(y0, x0, 3) * (1 - fx) * (1 - fy);
      const a01 = at(y0, x1, 3) * fx * (1 - fy);
      const a10 = at(y1, x0, 3) * (1 - fx) * fy;
      const a11 = at(y1, x1, 3) * fx * fy;
      const a = a00 + a01 + a10 + a11;
      if (a <= 0) continue;
      const o = (Y * W + X) * 3;
      const alpha = a / 255;
      for (let c = 0; c < 3; c++) {
        const v = (at(y0, x0, c) * a00 + at(y0, x1, c) * a01 + at(y1, x0, c) * a10 + at(y1, x1, c) * a11) / a;
        data[o + c] = Math.round(data[o + c] * (1 - alpha) + v * alpha);
      }
    }
  }
  return {
    frame: { ...frame, data },
    cue: { x: px / W, y: py / frame.height, w: pw / W, h: ph / frame.height },
  };
}

/** A `size`² crop of a background frame at a random position (seeded `rand`). */
export function cropFrame(frame: Frame, size: number, rand: () => number): Frame {
  const s = Math.min(size, frame.width, frame.height);
  const x0 = Math.floor(rand() * (frame.width - s + 1));
  const y0 = Math.floor(rand() * (frame.height - s + 1));
  const data = new Uint8Array(s * s * 3);
  for (let y = 0; y < s; y++)
    data.set(
      frame.data.subarray(((y0 + y) * frame.width + x0) * 3, ((y0 + y) * frame.width + x0 + s) * 3),
      y * s * 3,
    );
  return { time: frame.time, width: s, height: s, data };
}

/**
 * Setting (a), whole photo: the photo fills a `size`² crop of a background frame (fitted, aspect
 * kept, so the background shows beside a non-square cut-out).
 */
export function wholePhotoFrame(img: Rgba, bg: Frame, size: number, rand: () => number): Frame {
  return pastePhoto(cropFrame(bg, size, rand), img, { x: 0, y: 0, w: size, h: size }).frame;
}

/**
 * Setting (b), small cue: the photo inside a box of 1/4 × 1/4 of the frame (1/16 of its area)
 * at a random position. The caller feeds the whole frame to the backbone (stretched).
 */
export function smallCueFrame(img: Rgba, bg: Frame, rand: () => number): { frame: Frame; cue: CueBox } {
  const w = Math.round(bg.width / 4);
  const h = Math.round(bg.height / 4);
  const x = Math.floor(rand() * (bg.width - w + 1));
  const y = Math.floor(rand() * (bg.height - h + 1));
  return pastePhoto(bg, img, { x, y, w, h });
}
