/**
 * Decode planning: which frame serves each requested time, and the ffmpeg runs that fetch them.
 * Pure but for reading the packet timestamps (frameTimes, demuxing only). A run's filter chain
 * keeps only the wanted frames (`select`), resizes them and ends in showinfo, which the runner
 * (decode-run.ts) reads back to know each frame's presentation time.
 */
import { DfanError } from '../errors.js';
import { type DecodeOutput, showinfo } from './decode-run.js';
import { frameTimes, WINDOWED_SCAN_S } from './probe.js';
import type { DecodeOptions, ResizeMode, VideoInfo } from './types.js';

const MAX_SIDE = 8192;

/** The ffmpeg filter chain (after frame selection) that fits a frame into width×height. */
export function resizeFilter(width: number, height: number, mode: ResizeMode = 'crop'): string {
  const w = width;
  const h = height;
  switch (mode) {
    case 'stretch':
      return `scale=${w}:${h}:flags=bilinear`;
    case 'letterbox':
      return `scale=${w}:${h}:force_original_aspect_ratio=decrease:flags=bilinear,pad=${w}:${h}:(ow-iw)/2:(oh-ih)/2:color=black`;
    case 'crop':
      return `scale=${w}:${h}:force_original_aspect_ratio=increase:flags=bilinear,crop=${w}:${h}`;
    default:
      throw new DfanError('BAD_ARGUMENT', `unknown resize mode '${String(mode)}'`, {
        hint: 'use crop, letterbox or stretch',
      });
  }
}

export function validateDecode(times: number[], opts: DecodeOptions): void {
  if (!Array.isArray(times)) throw new DfanError('BAD_ARGUMENT', 'times must be an array of seconds');
  for (const t of times) {
    if (typeof t !== 'number' || !Number.isFinite(t)) {
      throw new DfanError('BAD_ARGUMENT', `invalid frame time ${String(t)}`, {
        hint: 'times are finite seconds',
      });
    }
  }
  for (const [k, v] of [
    ['width', opts.width],
    ['height', opts.height],
  ] as const) {
    if (!Number.isInteger(v) || v < 1 || v > MAX_SIDE) {
      throw new DfanError('BAD_ARGUMENT', `invalid ${k} ${String(v)}`, {
        hint: `use an integer 1..${MAX_SIDE}`,
      });
    }
  }
  resizeFilter(opts.width, opts.height, opts.mode ?? 'crop');
  if (opts.thumb) {
    const { width, height, indices } = opts.thumb;
    for (const v of [width, height]) {
      if (!Number.isInteger(v) || v < 1 || v > MAX_SIDE) {
        throw new DfanError('BAD_ARGUMENT', `invalid thumbnail side ${String(v)}`, {
          hint: `use an integer 1..${MAX_SIDE}`,
        });
      }
    }
    for (const i of indices) {
      if (!Number.isInteger(i) || i < 0 || i >= times.length) {
        throw new DfanError('BAD_ARGUMENT', `thumbnail index ${String(i)} is not a position in times`, {
          hint: `use integers 0..${times.length - 1}`,
        });
      }
    }
  }
}

/** Output k of each ffmpeg run: 0 = frames at width×height, 1 = thumbnails (opts.thumb). */
interface OutputSize {
  width: number;
  height: number;
  /** the filter chain after frame selection */
  resize: string;
}

function outputSizes(opts: DecodeOptions, resize: string): OutputSize[] {
  const main = { width: opts.width, height: opts.height, resize };
  if (!opts.thumb) return [main];
  const { width, height } = opts.thumb;
  return [main, { width, height, resize: `scale=${width}:${height}:flags=area` }];
}

/** Output (index into outputSizes) of each requested time. */
function outputOf(times: number[], opts: DecodeOptions): Uint8Array {
  const out = new Uint8Array(times.length);
  for (const i of opts.thumb?.indices ?? []) out[i] = 1;
  return out;
}

/** Index of the last element ≤ x in sorted xs, or -1. */
export function lastAtOrBefore(xs: number[], x: number): number {
  let lo = 0;
  let hi = xs.length - 1;
  let ans = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] <= x) {
      ans = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return ans;
}

/** One ffmpeg run: a contiguous stretch of the video holding some wanted frames. */
interface Group {
  /** wanted presentation timestamps (absolute, sorted, unique) */
  pts: number[];
  /** where to seek before decoding (absolute seconds), or null to decode from the start */
  seek: number | null;
}

const SCAN_MARGIN_S = 5;

/** Gap between wanted frames beyond which a new ffmpeg process with input seeking is cheaper. */
const SEEK_GAP_S = Number(process.env.DFAN_SEEK_GAP_S ?? 30);

function planGroups(pts: number[], first: number): Group[] {
  const groups: Group[] = [];
  for (const p of pts) {
    const g = groups[groups.length - 1];
    if (g && p - g.pts[g.pts.length - 1] < SEEK_GAP_S) g.pts.push(p);
    else groups.push({ pts: [p], seek: null });
  }
  for (const g of groups) {
    // Seek a little before the first wanted frame; the demuxer lands on the key frame before it.
    const s = g.pts[0] - 1;
    g.seek = s - first > SEEK_GAP_S / 2 ? s : null;
  }
  return groups;
}

/**
 * select expression matching frames within eps of one of `pts`. Runs of consecutive frames of
 * the video (`all`) become one `between()`; terms are nested in groups of 16 because ffmpeg's
 * expression parser limits nesting depth (~100).
 */
export function selectExpr(pts: number[], eps: number, all?: number[]): string {
  const terms: string[] = [];
  const f = (x: number) => x.toFixed(6);
  let i = 0;
  while (i < pts.length) {
    let j = i;
    if (all) {
      let k = lastAtOrBefore(all, pts[i] + eps);
      while (j + 1 < pts.length && k + 1 < all.length && Math.abs(all[k + 1] - pts[j + 1]) < eps) {
        j++;
        k++;
      }
    }
    terms.push(
      j === i
        ? `lt(abs(t-${f(pts[i])})\\,${eps.toExponential(2)})`
        : `between(t\\,${f(pts[i] - eps)}\\,${f(pts[j] + eps)})`,
    );
    i = j + 1;
  }
  return nestSum(terms);
}

export function nestSum(terms: string[]): string {
  if (terms.length <= 16) return terms.join('+');
  const groups: string[] = [];
  for (let i = 0; i < terms.length; i += 16) groups.push(`(${terms.slice(i, i + 16).join('+')})`);
  return nestSum(groups);
}

/** One ffmpeg run of a plan: a stretch of the video and, per output, the frames wanted from it. */
export interface DecodeGroup {
  /** wanted presentation timestamps of all outputs (absolute, sorted, unique) */
  pts: number[];
  /** where to seek before decoding (absolute seconds), or null to decode from the start */
  seek: number | null;
  /** the outputs with wanted frames in this stretch */
  outs: Array<DecodeOutput & { pts: number[] }>;
}

export interface DecodePlan {
  /** presentation time of the first frame (requested times are relative to it) */
  start: number;
  /** indices into `times`, by increasing time */
  order: number[];
  /** the sizes served: 0 = width×height, 1 = opts.thumb */
  outputs: OutputSize[];
  /** output of each requested time */
  outputOf: Uint8Array;
  /** present when the packet timestamps are known: the exact frames to pick */
  exact: null | {
    eps: number;
    /** requested index → chosen frame's absolute pts */
    chosen: Map<number, number>;
    groups: DecodeGroup[];
  };
}

/** Decide which frames serve which times, and the ffmpeg runs that fetch them (exported for the benchmark). */
export async function planDecode(
  path: string,
  times: number[],
  opts: DecodeOptions,
  vi: VideoInfo,
): Promise<DecodePlan> {
  let resize = resizeFilter(opts.width, opts.height, opts.mode ?? 'crop');
  // square the pixels first (only on the selected frames) so crop/letterbox see the shown shape
  if (vi.sar && Math.abs(vi.sar - 1) > 1e-3 && (opts.mode ?? 'crop') !== 'stretch') {
    resize = `scale=trunc(iw*sar/2)*2:ih:flags=bilinear,setsar=1,${resize}`;
  }
  const outputs = outputSizes(opts, resize);
  const outOf = outputOf(times, opts);
  const start = vi.startTime ?? 0;
  const order = times.map((_, i) => i).sort((a, b) => times[a] - times[b] || a - b);
  const base = { start, order, outputs, outputOf: outOf };
  // Long videos: read packet timestamps only around the wanted times (plus a margin that covers
  // the frame on screen before each time, and the end of the file for times near or past it).
  let windows: Array<[number, number]> | undefined;
  if (vi.duration > WINDOWED_SCAN_S && order.length > 0) {
    windows = [];
    for (const i of order) {
      const t = start + Math.max(0, times[i]);
      const a = t - SCAN_MARGIN_S;
      const b = t >= start + vi.duration - SCAN_MARGIN_S ? start + vi.duration + 3600 : t + SCAN_MARGIN_S;
      const w = windows[windows.length - 1];
      if (w && a <= w[1]) w[1] = Math.max(w[1], b);
      else windows.push([a, b]);
    }
  }
  const all = await frameTimes(path, windows);
  const known = all ? all.filter((p) => p >= start - 1e-6) : null;
  if (!known || known.length === 0) return { ...base, exact: null };
  let minGap = Number.POSITIVE_INFINITY;
  for (let i = 1; i < known.length; i++) {
    const g = known[i] - known[i - 1];
    if (g > 1e-9 && g < minGap) minGap = g;
  }
  const eps = Math.min(1e-3, Number.isFinite(minGap) ? minGap / 3 : 1e-3);
  const chosen = new Map<number, number>();
  for (const i of order) {
    const k = lastAtOrBefore(known, start + Math.max(0, times[i]) + 1e-6);
    chosen.set(i, known[Math.max(0, k)]);
  }
  const uniqOf = (ids: number[]) =>
    [...new Set(ids.map((i) => chosen.get(i) as number))].sort((a, b) => a - b);
  const perOut = outputs.map((_, k) => uniqOf(order.filter((i) => outOf[i] === k)));
  const groups = planGroups(uniqOf(order), start).map((g) => {
    const lo = g.pts[0];
    const hi = g.pts[g.pts.length - 1];
    const outs = outputs
      .map((o, id) => {
        const pts = perOut[id].filter((p) => p >= lo && p <= hi);
        // runs of consecutive frames are only known for sure when the whole file was scanned
        const select = pts.length ? selectExpr(pts, eps, windows ? undefined : known) : '0';
        const filter = `select='${select}',${o.resize},format=rgb24,${showinfo(id)}`;
        return { id, pts, filter, maxFrames: pts.length };
      })
      .filter((o) => o.pts.length > 0);
    return { ...g, outs };
  });
  return { ...base, exact: { eps, chosen, groups } };
}
