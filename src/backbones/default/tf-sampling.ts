/**
 * Image sampling exactly as tfjs does it (the same arithmetic, so that a model converted to ONNX
 * and fed from JS sees what the tfjs-wasm original sees): `image.resizeBilinear` and
 * `image.cropAndResize`.
 */
import type { Frame } from '../../video/types.js';

/**
 * tfjs `image.resizeBilinear(x, [oh, ow])` (alignCorners = halfPixelCenters = false) of an HWC
 * image, written into `out` at `offset`, each value mapped by `scale`·v + `shift`.
 */
export function resizeBilinear(
  src: ArrayLike<number>,
  h: number,
  w: number,
  c: number,
  oh: number,
  ow: number,
  out: Float32Array,
  offset = 0,
  scale = 1,
  shift = 0,
): void {
  const sy = h / oh;
  const sx = w / ow;
  const x0 = new Int32Array(ow);
  const x1 = new Int32Array(ow);
  const xf = new Float32Array(ow);
  for (let x = 0; x < ow; x++) {
    const fx = sx * x;
    x0[x] = Math.max(0, Math.floor(fx));
    x1[x] = Math.min(w - 1, Math.ceil(fx));
    xf[x] = fx - x0[x];
  }
  let o = offset;
  for (let y = 0; y < oh; y++) {
    const fy = sy * y;
    const y0 = Math.max(0, Math.floor(fy));
    const y1 = Math.min(h - 1, Math.ceil(fy));
    const yf = fy - y0;
    const r0 = y0 * w * c;
    const r1 = y1 * w * c;
    for (let x = 0; x < ow; x++) {
      const a = x0[x] * c;
      const b = x1[x] * c;
      const f = xf[x];
      for (let k = 0; k < c; k++) {
        const tl = src[r0 + a + k];
        const tr = src[r0 + b + k];
        const bl = src[r1 + a + k];
        const br = src[r1 + b + k];
        const top = tl + (tr - tl) * f;
        const bot = bl + (br - bl) * f;
        out[o++] = (top + (bot - top) * yf) * scale + shift;
      }
    }
  }
}

/**
 * tfjs `image.cropAndResize` (bilinear, extrapolation 0) of one box [y1, x1, y2, x2] (fractions
 * of the frame) to size×size×3, values ×`scale`, written into `out` at `offset`.
 */
export function cropAndResize(
  frame: Frame,
  box: [number, number, number, number],
  size: number,
  out: Float32Array,
  offset = 0,
  scale = 1,
): void {
  const { width: w, height: h, data } = frame;
  const [y1, x1, y2, x2] = box;
  const hs = size > 1 ? ((y2 - y1) * (h - 1)) / (size - 1) : 0;
  const ws = size > 1 ? ((x2 - x1) * (w - 1)) / (size - 1) : 0;
  for (let y = 0; y < size; y++) {
    const yi = size > 1 ? y1 * (h - 1) + y * hs : 0.5 * (y1 + y2) * (h - 1);
    const row = offset + y * size * 3;
    if (yi < 0 || yi > h - 1) {
      out.fill(0, row, row + size * 3);
      continue;
    }
    const t = Math.floor(yi);
    const b = Math.ceil(yi);
    const yl = yi - t;
    for (let x = 0; x < size; x++) {
      const xi = size > 1 ? x1 * (w - 1) + x * ws : 0.5 * (x1 + x2) * (w - 1);
      const o = row + x * 3;
      if (xi < 0 || xi > w - 1) {
        out[o] = 0;
        out[o + 1] = 0;
        out[o + 2] = 0;
        continue;
      }
      const l = Math.floor(xi);
      const r = Math.ceil(xi);
      const xl = xi - l;
      for (let k = 0; k < 3; k++) {
        const tl = data[(t * w + l) * 3 + k];
        const tr = data[(t * w + r) * 3 + k];
        const bl = data[(b * w + l) * 3 + k];
        const br = data[(b * w + r) * 3 + k];
        const top = tl + (tr - tl) * xl;
        const bot = bl + (br - bl) * xl;
        out[o + k] = (top + (bot - top) * yl) * scale;
      }
    }
  }
}
