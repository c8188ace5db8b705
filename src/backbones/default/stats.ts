/**
 * Hand-made descriptors of the default pack (pure functions): colour/brightness statistics of a
 * key frame (part of the `context` stream), motion statistics of a snippet's clip frames and
 * body-pose dynamics (the `action` stream). Frames are RGB24; keypoints are [17,3] (x, y, score)
 * in [0,1] of the frame.
 */
import type { Frame } from '../../video/types.js';
import { fitFrame } from '../preprocess.js';

// ---------------------------------------------------------------- colour (context)

/** Names of the colour/brightness statistics, in vector order. */
export const COLOUR_STATS = [
  'luma_mean',
  'luma_std',
  'dark_fraction',
  'bright_fraction',
  'saturation_mean',
  'saturation_std',
  'colourfulness',
  'edge_density',
  ...Array.from({ length: 12 }, (_, i) => `hue_${i * 30}`),
] as const;

/** Running sum and sum of squares of one quantity over n samples: its mean and (population) std. */
class Moments {
  private sum = 0;
  private sq = 0;

  add(x: number): void {
    this.sum += x;
    this.sq += x * x;
  }

  mean(n: number): number {
    return this.sum / n;
  }

  std(n: number): number {
    const m = this.sum / n;
    return Math.sqrt(Math.max(0, this.sq / n - m * m));
  }
}

/** Mean absolute luma difference to the right and lower neighbours (a texture measure). */
function edgeDensity(luma: Float32Array, w: number, h: number): number {
  let edge = 0;
  for (let y = 0; y < h - 1; y++) {
    for (let x = 0; x < w - 1; x++) {
      const p = y * w + x;
      edge += Math.abs(luma[p + 1] - luma[p]) + Math.abs(luma[p + w] - luma[p]);
    }
  }
  return edge / Math.max(1, (w - 1) * (h - 1));
}

/** Hue sector (0..11, 30° each) of an RGB colour with max mx > min mn. */
function hueSector(r: number, g: number, b: number, mx: number, mn: number): number {
  let hh: number;
  if (mx === r) hh = ((g - b) / (mx - mn)) % 6;
  else if (mx === g) hh = (b - r) / (mx - mn) + 2;
  else hh = (r - g) / (mx - mn) + 4;
  const deg = (hh * 60 + 360) % 360;
  return Math.min(11, Math.floor(deg / 30));
}

/** Colour/brightness/texture statistics of one frame (any size; sub-sampled to ≤ 96 px wide). */
export function colourStats(frame: Frame): Float32Array {
  const small =
    frame.width > 96
      ? fitFrame(frame, Math.max(1, Math.round((frame.height * 96) / frame.width)), 96, 'stretch')
      : frame;
  const { width: w, height: h, data } = small;
  const n = w * h;
  const luma = new Float32Array(n);
  const [lum, sat, rg, yb] = [new Moments(), new Moments(), new Moments(), new Moments()];
  let dark = 0;
  let bright = 0;
  const hue = new Float32Array(12); // saturation-weighted hue histogram
  for (let p = 0; p < n; p++) {
    const r = data[p * 3] / 255;
    const g = data[p * 3 + 1] / 255;
    const b = data[p * 3 + 2] / 255;
    const y = 0.299 * r + 0.587 * g + 0.114 * b;
    luma[p] = y;
    lum.add(y);
    if (y < 0.2) dark++;
    if (y > 0.8) bright++;
    const mx = Math.max(r, g, b);
    const mn = Math.min(r, g, b);
    const s = mx > 0 ? (mx - mn) / mx : 0;
    sat.add(s);
    rg.add(r - g);
    yb.add(0.5 * (r + g) - b);
    if (mx > mn) hue[hueSector(r, g, b, mx, mn)] += s;
  }
  const [rgM, rgS, ybM, ybS] = [rg.mean(n), rg.std(n), yb.mean(n), yb.std(n)];
  // Hasler & Süsstrunk colourfulness (on 0..1 values)
  const colourfulness = Math.sqrt(rgS * rgS + ybS * ybS) + 0.3 * Math.sqrt(rgM * rgM + ybM * ybM);
  const hs = hue.reduce((a, b) => a + b, 0);
  const out = new Float32Array(COLOUR_STATS.length);
  out.set([
    lum.mean(n),
    lum.std(n),
    dark / n,
    bright / n,
    sat.mean(n),
    sat.std(n),
    colourfulness,
    edgeDensity(luma, w, h),
  ]);
  for (let i = 0; i < 12; i++) out[8 + i] = hs > 0 ? hue[i] / hs : 0;
  return out;
}

// ---------------------------------------------------------------- motion (action)

export const MOTION_STATS = [
  'diff_mean',
  'diff_max',
  'diff_std',
  'moving_fraction',
  'brightness_change',
  'colour_grid_change',
  ...Array.from({ length: 16 }, (_, i) => `grid_diff_${Math.floor(i / 4)}_${i % 4}`),
] as const;

const THUMB_W = 64;

/**
 * The size motion statistics work at for frames of width×height: 64 wide, aspect kept. Frames
 * already this size are used as they are (a decoder can deliver them so: DecodeOptions.thumb).
 */
export function motionThumbSize(width: number, height: number): { width: number; height: number } {
  return { width: THUMB_W, height: Math.max(4, Math.round((height * THUMB_W) / width)) };
}

function thumbLuma(f: Frame): { luma: Float32Array; w: number; h: number; grid: Float32Array } {
  const { height: h } = motionThumbSize(f.width, f.height);
  const t = fitFrame(f, h, THUMB_W, 'stretch');
  const luma = new Float32Array(THUMB_W * h);
  const grid = new Float32Array(4 * 4 * 3);
  const cnt = new Float32Array(16);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < THUMB_W; x++) {
      const p = y * THUMB_W + x;
      const r = t.data[p * 3] / 255;
      const g = t.data[p * 3 + 1] / 255;
      const b = t.data[p * 3 + 2] / 255;
      luma[p] = 0.299 * r + 0.587 * g + 0.114 * b;
      const cell = Math.min(3, Math.floor((y * 4) / h)) * 4 + Math.min(3, Math.floor((x * 4) / THUMB_W));
      grid[cell * 3] += r;
      grid[cell * 3 + 1] += g;
      grid[cell * 3 + 2] += b;
      cnt[cell]++;
    }
  }
  for (let c = 0; c < 16; c++) for (let k = 0; k < 3; k++) grid[c * 3 + k] /= Math.max(1, cnt[c]);
  return { luma, w: THUMB_W, h, grid };
}

/**
 * Motion statistics over a clip (≥ 2 frames, consecutive in time): absolute luma differences
 * between consecutive frames (mean, max over pairs, std over pairs, fraction of pixels moving by
 * > 10 %, 4×4 grid of mean difference), brightness change first→last and the change of a 4×4
 * colour grid (a tiny appearance feature) first→last.
 */
export function motionStats(clip: Frame[]): Float32Array {
  const out = new Float32Array(MOTION_STATS.length);
  if (clip.length < 2) return out;
  const th = clip.map(thumbLuma);
  const { w, h } = th[0];
  const grid = new Float32Array(16);
  const gcount = new Float32Array(16);
  const means: number[] = [];
  let moving = 0;
  for (let i = 1; i < th.length; i++) {
    const a = th[i - 1].luma;
    const b = th[i].luma;
    let s = 0;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const p = y * w + x;
        const d = Math.abs(b[p] - a[p]);
        s += d;
        if (d > 0.1) moving++;
        const cell = Math.min(3, Math.floor((y * 4) / h)) * 4 + Math.min(3, Math.floor((x * 4) / w));
        grid[cell] += d;
        gcount[cell]++;
      }
    }
    means.push(s / (w * h));
  }
  const m = means.reduce((a, b) => a + b, 0) / means.length;
  const sd = Math.sqrt(means.reduce((a, b) => a + (b - m) * (b - m), 0) / means.length);
  const meanLuma = (l: Float32Array) => l.reduce((a, b) => a + b, 0) / l.length;
  let gridChange = 0;
  const g0 = th[0].grid;
  const g1 = th[th.length - 1].grid;
  for (let k = 0; k < g0.length; k++) gridChange += Math.abs(g1[k] - g0[k]);
  out[0] = m;
  out[1] = Math.max(...means);
  out[2] = sd;
  out[3] = moving / ((th.length - 1) * w * h);
  out[4] = meanLuma(th[th.length - 1].luma) - meanLuma(th[0].luma);
  out[5] = gridChange / g0.length;
  for (let c = 0; c < 16; c++) out[6 + c] = grid[c] / Math.max(1, gcount[c]);
  return out;
}

// ---------------------------------------------------------------- pose dynamics (action)

export const POSE_DIM = 17 * 2 + 17 + 17 * 2 + 4; // shape, scores, velocity, body summary

const MIN_SCORE = 0.2;

/** Body centre and scale from confident keypoints (null when fewer than 3 are confident). */
function bodyFrame(kp: Float32Array): { cx: number; cy: number; scale: number; presence: number } | null {
  let cx = 0;
  let cy = 0;
  let n = 0;
  let ssum = 0;
  for (let k = 0; k < 17; k++) {
    ssum += kp[k * 3 + 2];
    if (kp[k * 3 + 2] >= MIN_SCORE) {
      cx += kp[k * 3];
      cy += kp[k * 3 + 1];
      n++;
    }
  }
  if (n < 3) return null;
  cx /= n;
  cy /= n;
  let r = 0;
  for (let k = 0; k < 17; k++) {
    if (kp[k * 3 + 2] >= MIN_SCORE) r += (kp[k * 3] - cx) ** 2 + (kp[k * 3 + 1] - cy) ** 2;
  }
  const scale = Math.sqrt(r / n);
  return { cx, cy, scale: Math.max(scale, 1e-3), presence: ssum / 17 };
}

/**
 * Pose descriptor of a snippet from poses at increasing times (first = key frame pose, the rest
 * later clip frames): normalised shape at the key frame (34: x,y relative to the body centre in
 * body-scale units), keypoint scores (17), keypoint velocity key→last in body scales per second
 * (34), presence, body scale, centre velocity x, y in frame units per second (4).
 */
export function poseDynamics(poses: Float32Array[], times: number[]): Float32Array {
  const out = new Float32Array(POSE_DIM);
  if (poses.length === 0) return out;
  const k0 = poses[0];
  const b0 = bodyFrame(k0);
  for (let k = 0; k < 17; k++) out[34 + k] = k0[k * 3 + 2];
  if (!b0) return out;
  for (let k = 0; k < 17; k++) {
    if (k0[k * 3 + 2] < MIN_SCORE) continue;
    out[k * 2] = (k0[k * 3] - b0.cx) / b0.scale;
    out[k * 2 + 1] = (k0[k * 3 + 1] - b0.cy) / b0.scale;
  }
  out[85] = b0.presence;
  out[86] = b0.scale;
  if (poses.length < 2) return out;
  const k1 = poses[poses.length - 1];
  const b1 = bodyFrame(k1);
  const dt = Math.max(1e-3, times[times.length - 1] - times[0]);
  if (!b1) return out;
  for (let k = 0; k < 17; k++) {
    if (k0[k * 3 + 2] < MIN_SCORE || k1[k * 3 + 2] < MIN_SCORE) continue;
    out[51 + k * 2] = (k1[k * 3] - k0[k * 3]) / b0.scale / dt;
    out[51 + k * 2 + 1] = (k1[k * 3 + 1] - k0[k * 3 + 1]) / b0.scale / dt;
  }
  out[87] = (b1.cx - b0.cx) / dt;
  out[88] = (b1.cy - b0.cy) / dt;
  return out;
}
