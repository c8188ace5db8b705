/**
 * BlazeFace, the face detector of @vladmandic/human, decoded in JS as human does it: the frame
 * resized to 256² (scaled to [-1,1]) gives four heads; 896 anchors (16² × 2 at stride 16, 8² × 6
 * at stride 32); box = anchor + offset, score = sigmoid(logit); non-max suppression; the box is
 * scaled to the frame and squared around its centre (`detector.scale` 1).
 */
import type { Frame } from '../../video/types.js';

/** human's detector settings: input side, minimum score, NMS IoU threshold, faces kept */
export const DETECTOR = { size: 256, minConfidence: 0.3, iouThreshold: 0.1, maxFaces: 5 } as const;

/** Anchor centres (pixels of the 256² input), in the order of the concatenated heads. */
function anchors(): Float32Array {
  const a: number[] = [];
  for (const [stride, per] of [
    [16, 2],
    [32, 6],
  ]) {
    const n = Math.floor((DETECTOR.size + stride - 1) / stride);
    for (let y = 0; y < n; y++)
      for (let x = 0; x < n; x++)
        for (let k = 0; k < per; k++) a.push(stride * (x + 0.5), stride * (y + 0.5));
  }
  return Float32Array.from(a);
}
const ANCHORS = anchors();

export interface Candidate {
  score: number;
  /** x1, y1, x2, y2 in pixels of the 256² input */
  box: [number, number, number, number];
}

function iou(a: Candidate['box'], b: Candidate['box']): number {
  const ax0 = Math.min(a[0], a[2]);
  const ay0 = Math.min(a[1], a[3]);
  const ax1 = Math.max(a[0], a[2]);
  const ay1 = Math.max(a[1], a[3]);
  const bx0 = Math.min(b[0], b[2]);
  const by0 = Math.min(b[1], b[3]);
  const bx1 = Math.max(b[0], b[2]);
  const by1 = Math.max(b[1], b[3]);
  const aa = (ax1 - ax0) * (ay1 - ay0);
  const ab = (bx1 - bx0) * (by1 - by0);
  if (aa <= 0 || ab <= 0) return 0;
  const iw = Math.max(0, Math.min(ax1, bx1) - Math.max(ax0, bx0));
  const ih = Math.max(0, Math.min(ay1, by1) - Math.max(ay0, by0));
  const inter = iw * ih;
  return inter / (aa + ab - inter);
}

/**
 * Decode one image (batch item i) of the four NCHW detector heads into candidates after
 * non-max suppression (as tfjs `nonMaxSuppression`: by decreasing score, a box whose IoU with a
 * kept one is ≥ the threshold is dropped).
 */
export function decodeBlazeface(heads: Float32Array[], i: number): Candidate[] {
  const [l16, r16, l8, r8] = heads;
  const cands: Candidate[] = [];
  let a = 0;
  const take = (logits: Float32Array, reg: Float32Array, n: number, per: number) => {
    const hw = n * n;
    for (let p = 0; p < hw; p++) {
      for (let k = 0; k < per; k++, a++) {
        const logit = logits[(i * per + k) * hw + p];
        const score = 1 / (1 + Math.exp(-logit));
        if (!(score > DETECTOR.minConfidence)) continue;
        const at = (j: number) => reg[(i * per * 16 + k * 16 + j) * hw + p];
        // regressors: centre offset x, y, size w, h, then 6 landmarks (unused)
        const cx = at(0) + ANCHORS[2 * a];
        const cy = at(1) + ANCHORS[2 * a + 1];
        const bw = at(2);
        const bh = at(3);
        cands.push({ score, box: [cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2] });
      }
    }
  };
  take(l16, r16, 16, 2);
  take(l8, r8, 8, 6);
  cands.sort((x, y) => y.score - x.score);
  const kept: Candidate[] = [];
  for (const c of cands) {
    if (kept.length >= DETECTOR.maxFaces) break;
    if (kept.every((k) => iou(k.box, c.box) < DETECTOR.iouThreshold)) kept.push(c);
  }
  return kept;
}

/** Square box around a detector candidate, in frame pixels (human's `mt(ft(…, 1))`). */
export function squareBox(c: Candidate, frame: Frame): { start: [number, number]; end: [number, number] } {
  const sx = frame.width / DETECTOR.size;
  const sy = frame.height / DETECTOR.size;
  const x0 = c.box[0] * sx;
  const y0 = c.box[1] * sy;
  const x1 = c.box[2] * sx;
  const y1 = c.box[3] * sy;
  const cx = x0 + (x1 - x0) / 2;
  const cy = y0 + (y1 - y0) / 2;
  const half = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0)) / 2;
  return {
    start: [Math.round(cx - half), Math.round(cy - half)],
    end: [Math.round(cx + half), Math.round(cy + half)],
  };
}
