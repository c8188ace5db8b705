/**
 * Frame(s) → input tensor, per a backbone manifest's input contract. Pure functions: no I/O,
 * no engine. Frames are packed RGB24 [H, W, 3] (src/video/types.ts).
 *
 *   fitFrame     resize one frame into [h, w] by crop | letterbox | stretch (bilinear)
 *   framesToTensor  N fitted frames → NCHW or NHWC float32, colour order, scale, mean/std
 *   clipsToTensor   N clips of T fitted frames → NCTHW or NTHWC
 */
import type { Frame, ResizeMode } from '../video/types.js';
import type { BackboneManifest } from './types.js';

export type InputSpec = BackboneManifest['input'];

/** The source rectangle (in source pixels) and the destination rectangle a fit maps between. */
export interface FitGeometry {
  sx: number;
  sy: number;
  sw: number;
  sh: number;
  dx: number;
  dy: number;
  dw: number;
  dh: number;
}

/** Where a frame of srcW×srcH lands in dstW×dstH for a resize mode. */
export function fitGeometry(
  srcW: number,
  srcH: number,
  dstW: number,
  dstH: number,
  mode: ResizeMode,
): FitGeometry {
  if (mode === 'stretch') return { sx: 0, sy: 0, sw: srcW, sh: srcH, dx: 0, dy: 0, dw: dstW, dh: dstH };
  if (mode === 'crop') {
    // scale the short side to fit, centre-crop the long side
    const s = Math.max(dstW / srcW, dstH / srcH);
    const sw = dstW / s;
    const sh = dstH / s;
    return { sx: (srcW - sw) / 2, sy: (srcH - sh) / 2, sw, sh, dx: 0, dy: 0, dw: dstW, dh: dstH };
  }
  // letterbox: scale the long side to fit, pad (black) around
  const s = Math.min(dstW / srcW, dstH / srcH);
  const dw = Math.max(1, Math.round(srcW * s));
  const dh = Math.max(1, Math.round(srcH * s));
  return {
    sx: 0,
    sy: 0,
    sw: srcW,
    sh: srcH,
    dx: Math.floor((dstW - dw) / 2),
    dy: Math.floor((dstH - dh) / 2),
    dw,
    dh,
  };
}

/**
 * Resize one RGB frame into `height`×`width`. Bilinear; when shrinking by more than 2× the source
 * is first averaged over boxes so that thin detail does not alias.
 */
export function fitFrame(frame: Frame, height: number, width: number, mode: ResizeMode = 'crop'): Frame {
  if (frame.width === width && frame.height === height) return frame;
  const g = fitGeometry(frame.width, frame.height, width, height, mode);
  let src = frame;
  let { sx, sy, sw, sh } = g;
  const factor = Math.floor(Math.min(sw / g.dw, sh / g.dh));
  if (factor >= 2) {
    src = boxDownsample(frame, factor);
    sx /= factor;
    sy /= factor;
    sw /= factor;
    sh /= factor;
  }
  const out = new Uint8Array(width * height * 3);
  const W = src.width;
  const H = src.height;
  const d = src.data;
  const fx = sw / g.dw;
  const fy = sh / g.dh;
  // per-column source offsets and weights (the same arithmetic per pixel, computed once per column)
  const xa = new Int32Array(g.dw);
  const xb = new Int32Array(g.dw);
  const xw = new Float64Array(g.dw);
  for (let x = 0; x < g.dw; x++) {
    let xx = sx + (x + 0.5) * fx - 0.5;
    if (xx < 0) xx = 0;
    if (xx > W - 1) xx = W - 1;
    const x0 = Math.floor(xx);
    xa[x] = x0 * 3;
    xb[x] = Math.min(x0 + 1, W - 1) * 3;
    xw[x] = xx - x0;
  }
  for (let y = 0; y < g.dh; y++) {
    let yy = sy + (y + 0.5) * fy - 0.5;
    if (yy < 0) yy = 0;
    if (yy > H - 1) yy = H - 1;
    const y0 = Math.floor(yy);
    const y1 = Math.min(y0 + 1, H - 1);
    const wy = yy - y0;
    const r0 = y0 * W * 3;
    const r1 = y1 * W * 3;
    let o = ((g.dy + y) * width + g.dx) * 3;
    for (let x = 0; x < g.dw; x++) {
      const wx = xw[x];
      const a = r0 + xa[x];
      const b = r0 + xb[x];
      const c = r1 + xa[x];
      const e = r1 + xb[x];
      let ta = d[a];
      let tb = d[c];
      let top = ta + (d[b] - ta) * wx;
      let bot = tb + (d[e] - tb) * wx;
      out[o] = Math.round(top + (bot - top) * wy);
      ta = d[a + 1];
      tb = d[c + 1];
      top = ta + (d[b + 1] - ta) * wx;
      bot = tb + (d[e + 1] - tb) * wx;
      out[o + 1] = Math.round(top + (bot - top) * wy);
      ta = d[a + 2];
      tb = d[c + 2];
      top = ta + (d[b + 2] - ta) * wx;
      bot = tb + (d[e + 2] - tb) * wx;
      out[o + 2] = Math.round(top + (bot - top) * wy);
      o += 3;
    }
  }
  return { time: frame.time, width, height, data: out };
}

/** Average non-overlapping f×f boxes (edges: partial boxes dropped). */
export function boxDownsample(frame: Frame, f: number): Frame {
  const w = Math.max(1, Math.floor(frame.width / f));
  const h = Math.max(1, Math.floor(frame.height / f));
  const out = new Uint8Array(w * h * 3);
  const src = frame.data;
  const W = frame.width;
  const n = f * f;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let j = 0; j < f; j++) {
        let p = ((y * f + j) * W + x * f) * 3;
        for (let i = 0; i < f; i++, p += 3) {
          r += src[p];
          g += src[p + 1];
          b += src[p + 2];
        }
      }
      const o = (y * w + x) * 3;
      out[o] = Math.round(r / n);
      out[o + 1] = Math.round(g / n);
      out[o + 2] = Math.round(b / n);
    }
  }
  return { time: frame.time, width: w, height: h, data: out };
}

/**
 * Per-channel affine: model channel c = (pixel[src[c]] × scale − mean[c]) / std[c]; mean/std are
 * given in the model's channel order (BGR models list them as B, G, R).
 */
function channelCoefficients(spec: InputSpec): { src: number[]; mul: number[]; add: number[] } {
  const src = spec.colorOrder === 'BGR' ? [2, 1, 0] : [0, 1, 2];
  const mul = [0, 1, 2].map((c) => spec.scale / spec.std[c]);
  const add = [0, 1, 2].map((c) => -spec.mean[c] / spec.std[c]);
  return { src, mul, add };
}

/**
 * N frames → one float32 batch tensor. Frames are fitted to `spec.size` with `spec.crop` first
 * (frames that already have that size pass through untouched).
 * Returns data and shape ([N,3,H,W] for NCHW, [N,H,W,3] for NHWC).
 */
export function framesToTensor(frames: Frame[], spec: InputSpec): { data: Float32Array; shape: number[] } {
  if (spec.layout !== 'NCHW' && spec.layout !== 'NHWC') {
    throw new Error(`framesToTensor: layout ${spec.layout} is a clip layout (use clipsToTensor)`);
  }
  const [h, w] = spec.size;
  const n = frames.length;
  const hw = h * w;
  const data = new Float32Array(n * 3 * hw);
  const { src, mul, add } = channelCoefficients(spec);
  for (let i = 0; i < n; i++) {
    const f = fitFrame(frames[i], h, w, spec.crop);
    writeImage(
      f.data,
      data,
      i * 3 * hw,
      hw,
      spec.layout === 'NCHW' ? hw : 1,
      spec.layout === 'NCHW' ? 1 : 3,
      src,
      mul,
      add,
    );
  }
  return { data, shape: spec.layout === 'NCHW' ? [n, 3, h, w] : [n, h, w, 3] };
}

/**
 * Write one fitted RGB image at `base`: channel c of pixel p goes to base + c*cStride + p*pStride.
 */
function writeImage(
  rgb: Uint8Array,
  out: Float32Array,
  base: number,
  hw: number,
  cStride: number,
  pStride: number,
  src: number[],
  mul: number[],
  add: number[],
): void {
  for (let c = 0; c < 3; c++) {
    const s = src[c];
    const m = mul[c];
    const a = add[c];
    const ob = base + c * cStride;
    for (let p = 0; p < hw; p++) out[ob + p * pStride] = rgb[p * 3 + s] * m + a;
  }
}

/**
 * N clips of T frames → NCTHW [N,3,T,H,W] or NTHWC [N,T,H,W,3]. Every clip must have the same
 * length (spec.frames when given).
 */
export function clipsToTensor(clips: Frame[][], spec: InputSpec): { data: Float32Array; shape: number[] } {
  if (spec.layout !== 'NCTHW' && spec.layout !== 'NTHWC') {
    throw new Error(`clipsToTensor: layout ${spec.layout} is a frame layout (use framesToTensor)`);
  }
  const [h, w] = spec.size;
  const n = clips.length;
  const t = spec.frames ?? clips[0]?.length ?? 0;
  const hw = h * w;
  const data = new Float32Array(n * 3 * t * hw);
  const { src, mul, add } = channelCoefficients(spec);
  for (let i = 0; i < n; i++) {
    if (clips[i].length !== t)
      throw new Error(`clipsToTensor: clip ${i} has ${clips[i].length} frames, expected ${t}`);
    for (let j = 0; j < t; j++) {
      const f = fitFrame(clips[i][j], h, w, spec.crop);
      if (spec.layout === 'NCTHW') {
        // channel stride = T*H*W, frame offset j*H*W
        writeImage(f.data, data, i * 3 * t * hw + j * hw, hw, t * hw, 1, src, mul, add);
      } else {
        writeImage(f.data, data, (i * t + j) * hw * 3, hw, 1, 3, src, mul, add);
      }
    }
  }
  return { data, shape: spec.layout === 'NCTHW' ? [n, 3, t, h, w] : [n, t, h, w, 3] };
}

/** [C,H,W] per item → [H,W,C] (feature maps are stored channels-last). */
export function chwToHwc(
  src: Float32Array,
  c: number,
  h: number,
  w: number,
  out?: Float32Array,
  outOffset = 0,
): Float32Array {
  const dst = out ?? new Float32Array(c * h * w);
  const hw = h * w;
  for (let ch = 0; ch < c; ch++) {
    const sb = ch * hw;
    for (let p = 0; p < hw; p++) dst[outOffset + p * c + ch] = src[sb + p];
  }
  return dst;
}

/**
 * The part of a srcW×srcH frame that a dstW×dstH input spans after fitting with `mode`, as
 * fractions of the frame [x0, y0, x1, y1]: what a map's grid covers. Only the aspect ratios
 * matter. Stretch → [0,0,1,1]; crop → the centred part that was kept; letterbox → a rectangle
 * larger than the frame (the padding is part of the input, so of the grid).
 */
export function gridRegion(
  srcW: number,
  srcH: number,
  dstW: number,
  dstH: number,
  mode: ResizeMode,
): [number, number, number, number] {
  if (mode === 'stretch' || !(srcW > 0 && srcH > 0)) return [0, 0, 1, 1];
  const sa = srcW / srcH;
  const da = dstW / dstH;
  // half-extents of the input, in frame fractions
  let hx = 0.5;
  let hy = 0.5;
  if (mode === 'crop') {
    if (sa > da) hx = (0.5 * da) / sa;
    else hy = (0.5 * sa) / da;
  } else if (sa > da) hy = (0.5 * sa) / da;
  else hx = (0.5 * da) / sa;
  const r = (v: number) => Math.round(v * 1e6) / 1e6;
  return [r(0.5 - hx), r(0.5 - hy), r(0.5 + hx), r(0.5 + hy)];
}
