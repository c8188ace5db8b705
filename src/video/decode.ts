/**
 * Frame decoding: RGB24 frames at requested times, resized in ffmpeg and streamed through its
 * stdout. One ffmpeg process per group of nearby times; a `select` filter keeps only the wanted
 * frames, so only those are scaled, converted and piped. Frames wanted small (opts.thumb) come
 * from the same decode through a `split` to a second output on file descriptor 3.
 *
 * Which frame is "the frame at t": the one on screen at t, i.e. the last frame whose presentation
 * timestamp is ≤ start + t (the first frame when t precedes it; the last frame when t is past the
 * end). Timestamps come from demuxing the packets (ffprobe, no decoding), so variable-frame-rate
 * files are handled by time, never by index.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DfanError, type DfanErrorCode } from '../errors.js';
import type { DecodeReply, DecodeRequest } from './decode-worker.js';
import { ffmpegInput, findFfmpeg, lastErrorLine } from './ffmpeg.js';
import { frameTimes, knownFrameTimes, probe, WINDOWED_SCAN_S } from './probe.js';
import type { DecodeOptions, Frame, ResizeMode, VideoInfo } from './types.js';

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

function validate(times: number[], opts: DecodeOptions): void {
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
function lastAtOrBefore(xs: number[], x: number): number {
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

function nestSum(terms: string[]): string {
  if (terms.length <= 16) return terms.join('+');
  const groups: string[] = [];
  for (let i = 0; i < terms.length; i += 16) groups.push(`(${terms.slice(i, i + 16).join('+')})`);
  return nestSum(groups);
}

/**
 * One output of an ffmpeg run: its filter chain after the input, ending in `showinfo(id)`, and
 * its frame limit (none: until the video ends).
 */
export interface DecodeOutput {
  /** 0 = frames at the requested size, 1 = thumbnails, others for callers' own streams */
  id: number;
  filter: string;
  maxFrames?: number;
}

/**
 * ffmpeg arguments for one run: input (optionally seeking to `seek`), the first video stream
 * through one filter chain per output (a `split` feeds them when there are several, so the video
 * is decoded once), passthrough timing (never duplicate or drop frames), then each output as raw
 * RGB24 to its target: stdout for the first, file descriptor k + 2 for output k > 0 (or `-f null`
 * targets for measuring).
 */
export function decodeArgs(
  path: string,
  outputs: DecodeOutput[],
  seek: number | null,
  threads?: number,
  format: 'rawvideo' | 'null' = 'rawvideo',
): string[] {
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'info'];
  if (threads) args.push('-threads', String(threads));
  if (seek !== null) args.push('-ss', seek.toFixed(6), '-noaccurate_seek');
  args.push('-copyts', '-i', ffmpegInput(path), '-an', '-sn', '-dn');
  const n = outputs.length;
  const graph =
    n === 1
      ? `[0:V:0]${outputs[0].filter}[dfan_o0]`
      : `[0:V:0]split=${n}${outputs.map((_, k) => `[dfan_i${k}]`).join('')};${outputs
          .map((o, k) => `[dfan_i${k}]${o.filter}[dfan_o${k}]`)
          .join(';')}`;
  args.push('-filter_complex', graph, '-vsync', 'passthrough');
  outputs.forEach((o, k) => {
    const target = format === 'null' ? '-' : k === 0 ? 'pipe:1' : `pipe:${k + 2}`;
    args.push('-map', `[dfan_o${k}]`);
    if (o.maxFrames !== undefined) args.push('-frames:v', String(o.maxFrames));
    args.push('-pix_fmt', 'rgb24', '-f', format, target);
  });
  return args;
}

/**
 * The end of output `id`'s filter chain: reports each frame's pts (the time base is set to
 * microseconds so the integer pts is exact), matched back to the output by name.
 */
export const showinfo = (id: number) => `settb=AVTB,showinfo@o${id}`;
const SHOWINFO_LINE = /\[showinfo@o(\d+) @[^\]]*\].*\sn:\s*\d+.*\spts:\s*(-?\d+)/;

export interface RawFrame {
  /** DecodeOutput id */
  out: number;
  pts: number;
  data: Uint8Array;
}

/**
 * Run ffmpeg once and yield the frames of all its outputs as they arrive (each output's in
 * order), with their presentation time from showinfo. Buffers at most a few frames (the pipes
 * are paused while frames wait for the consumer); ffmpeg is killed when it stalls or when the
 * consumer stops early.
 */
export async function* runDecode(
  path: string,
  outputs: Array<DecodeOutput & { width: number; height: number }>,
  seek: number | null,
  opts: DecodeOptions,
): AsyncGenerator<RawFrame> {
  const { ffmpeg } = findFfmpeg();
  const args = decodeArgs(path, outputs, seek, opts.threads);
  const debug = !!process.env.DFAN_DEBUG_FFMPEG;
  if (debug) process.stderr.write(`[dfan] ${ffmpeg} ${args.map((a) => JSON.stringify(a)).join(' ')}\n`);
  const extra = outputs.slice(1).map(() => 'pipe' as const);
  const child = spawn(ffmpeg, args, { stdio: ['ignore', 'pipe', 'pipe', ...extra] });
  const idleMs = opts.idleTimeoutMs ?? 60_000;

  // per output: the pipe, bytes not yet a whole frame, whole frames, pts from showinfo
  const outs = outputs.map((o, k) => ({
    id: o.id,
    frameBytes: o.width * o.height * 3,
    pipe: (k === 0 ? child.stdout : child.stdio[k + 2]) as Readable,
    pending: [] as Buffer[],
    pendingLen: 0,
    frames: [] as Uint8Array[],
    pts: [] as number[],
    served: 0,
    ended: false,
  }));
  const byId = new Map(outs.map((o) => [o.id, o]));
  let stderrTail = '';
  let stderrBuf = '';
  let stderrDone = false;
  let wake: (() => void) | null = null;
  const signal = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  let killedForIdle = false;
  let spawnError: Error | null = null;
  let timer: NodeJS.Timeout | null = null;
  let holding = false; // while the consumer holds a frame
  const poke = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    if (holding) return;
    timer = setTimeout(() => {
      killedForIdle = true;
      child.kill('SIGKILL');
    }, idleMs);
  };
  poke();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => {
    child.on('close', (code, sig) => res({ code, signal: sig }));
  });
  child.on('error', (e) => {
    spawnError = e;
    for (const o of outs) o.ended = true;
    stderrDone = true;
    signal();
  });
  const stderr = child.stderr as Readable;
  stderr.setEncoding('utf8');
  stderr.on('data', (s: string) => {
    poke();
    if (debug) process.stderr.write(s);
    stderrBuf += s;
    let nl = stderrBuf.search(/[\r\n]/);
    while (nl >= 0) {
      const line = stderrBuf.slice(0, nl);
      stderrBuf = stderrBuf.slice(nl + 1);
      const m = line.includes('showinfo@o') ? SHOWINFO_LINE.exec(line) : null;
      if (m) byId.get(Number(m[1]))?.pts.push(Number(m[2]) / 1e6);
      else if (line.trim() && !line.includes('showinfo@o'))
        stderrTail = `${stderrTail.slice(-4000)}\n${line}`;
      nl = stderrBuf.search(/[\r\n]/);
    }
    signal();
  });
  stderr.on('end', () => {
    stderrDone = true;
    signal();
  });
  // at most MAX_QUEUED whole frames wait for the consumer; then the pipes pause (ffmpeg blocks)
  const MAX_QUEUED = 2;
  const queued = () => outs.reduce((a, o) => a + o.frames.length, 0);
  for (const o of outs) {
    o.pipe.on('data', (chunk: Buffer) => {
      poke();
      o.pending.push(chunk);
      o.pendingLen += chunk.length;
      if (o.pendingLen >= o.frameBytes) {
        const all = o.pending.length === 1 ? o.pending[0] : Buffer.concat(o.pending, o.pendingLen);
        let at = 0;
        while (all.length - at >= o.frameBytes) {
          const data = new Uint8Array(o.frameBytes); // a plain copy (a Buffer view would pin the chunk)
          data.set(all.subarray(at, at + o.frameBytes));
          o.frames.push(data);
          at += o.frameBytes;
        }
        o.pending = at < all.length ? [all.subarray(at)] : [];
        o.pendingLen = all.length - at;
        if (queued() >= MAX_QUEUED) for (const p of outs) p.pipe.pause();
      }
      signal();
    });
    o.pipe.on('end', () => {
      o.ended = true;
      signal();
    });
  }

  let yielded = 0;
  try {
    for (;;) {
      // a whole frame whose pts is known (or will never be)
      const o = outs.find((x) => x.frames.length > 0 && (x.pts.length > x.served || stderrDone));
      if (o) {
        const data = o.frames.shift() as Uint8Array;
        const pts = o.pts[o.served] ?? Number.NaN;
        o.served++;
        yielded++;
        if (queued() < MAX_QUEUED) for (const p of outs) p.pipe.resume();
        // a slow consumer stalls ffmpeg on a full pipe: that is not ffmpeg's fault
        holding = true;
        if (timer) clearTimeout(timer);
        yield { out: o.id, pts, data };
        holding = false;
        poke();
        continue;
      }
      if (outs.every((x) => x.ended && x.frames.length === 0)) break;
      await new Promise<void>((r) => {
        wake = r;
      });
    }
    const { code, signal: sig } = await exited;
    if (spawnError) {
      throw new DfanError('FFMPEG_FAILED', `could not start ffmpeg: ${(spawnError as Error).message}`, {
        file: path,
        hint: 'check the ffmpeg installation or DFAN_FFMPEG',
      });
    }
    if (killedForIdle) {
      throw new DfanError('CORRUPT', `ffmpeg stalled for ${idleMs / 1000} s while decoding; stopped it`, {
        file: path,
        hint: 'the file is probably damaged; re-encode it (ffmpeg -i in -c:v libx264 out.mp4)',
      });
    }
    if (code !== 0 && yielded === 0) {
      const why = lastErrorLine(stderrTail);
      throw new DfanError(
        'CORRUPT',
        `ffmpeg could not decode the video${why ? ` (${why.replace(/^file:\S*: /, '')})` : ''}`,
        {
          file: path,
          hint: 'the file is damaged or uses an unsupported codec; re-encode or re-download it',
        },
      );
    }
    if (code !== 0 && sig === null) {
      opts.onWarning?.(
        `${path}: ffmpeg stopped with an error after ${yielded} frames (${lastErrorLine(stderrTail)})`,
      );
    }
  } finally {
    if (timer) clearTimeout(timer);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
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

function warnDefault(msg: string): void {
  process.stderr.write(`dfan: warning: ${msg}\n`);
}

/**
 * Decode frames at the given times (seconds from the start), yielding `{ index, frame }` one per
 * requested time (`index` is its position in `times`), in order of increasing time per output size
 * (frames and thumbnails interleave as ffmpeg delivers them). Frames that serve several requested
 * times at the same size share their `data`.
 */
export async function* decodeFrameStream(
  path: string,
  times: number[],
  opts: DecodeOptions,
  info?: VideoInfo,
): AsyncGenerator<{ index: number; frame: Frame }> {
  validate(times, opts);
  const vi = info ?? (await probe(path));
  if (times.length === 0) return;
  const warn = opts.onWarning ?? warnDefault;
  const o: DecodeOptions = { ...opts, onWarning: warn };

  const plan = await planDecode(path, times, opts, vi);
  const { start, order, outputs } = plan;
  const orders = outputs.map((_, k) => order.filter((i) => plan.outputOf[i] === k));
  const target = (i: number) => start + Math.max(0, times[i]);
  const rel = (pts: number) => Math.round((pts - start) * 1e6) / 1e6;
  const served = (k: number, i: number, rf: RawFrame) => ({
    index: i,
    frame: {
      time: times[i],
      pts: rel(rf.pts),
      width: outputs[k].width,
      height: outputs[k].height,
      data: rf.data,
    },
  });
  const sized = <T extends { id: number }>(x: T) => ({
    ...x,
    width: outputs[x.id].width,
    height: outputs[x.id].height,
  });

  if (plan.exact) {
    const { eps, chosen } = plan.exact;
    const oi = outputs.map(() => 0); // per output: next index into its order to serve
    const last: Array<RawFrame | null> = outputs.map(() => null);
    let missed = 0;
    for (const g of plan.exact.groups) {
      for await (const rf of runDecode(path, g.outs.map(sized), g.seek, o)) {
        const k = rf.out;
        const ord = orders[k];
        const q = Number.isFinite(rf.pts) ? rf.pts : (chosen.get(ord[oi[k]]) ?? 0);
        while (oi[k] < ord.length) {
          const i = ord[oi[k]];
          const c = chosen.get(i) as number;
          if (c > q + eps) break;
          let use = rf;
          if (c < q - eps) {
            // the frame wanted was not delivered: use the one shown before, if any
            missed++;
            use = last[k] ?? rf;
          }
          yield served(k, i, use);
          oi[k]++;
        }
        last[k] = rf;
      }
      // anything of this group not delivered (truncated stream) falls back to the last frame
      const end = g.pts[g.pts.length - 1];
      for (let k = 0; k < outputs.length; k++) {
        const lk = last[k];
        while (lk && oi[k] < orders[k].length && (chosen.get(orders[k][oi[k]]) as number) <= end + eps) {
          missed++;
          yield served(k, orders[k][oi[k]++], lk);
        }
      }
    }
    if (orders.some((ord, k) => ord.length > 0 && !last[k])) {
      throw new DfanError('CORRUPT', 'no frame could be decoded', {
        file: path,
        hint: 'the video stream is damaged; re-encode or re-download it',
      });
    }
    for (let k = 0; k < outputs.length; k++) {
      while (oi[k] < orders[k].length) {
        missed++;
        yield served(k, orders[k][oi[k]++], last[k] as RawFrame);
      }
    }
    if (missed > 0) {
      const lastPts = Math.max(...last.map((f) => f?.pts ?? Number.NEGATIVE_INFINITY));
      warn(
        `${path}: ${missed} of ${times.length} frames could not be decoded (damaged or truncated stream); used the nearest earlier frame (last decoded at ${(lastPts - start).toFixed(2)} s)`,
      );
    }
    return;
  }

  // No packet timestamps (raw streams, constant rate in practice): the frame on screen at t is
  // the first frame later than t − 1/fps. Times are clamped into the stream first.
  const dt = 1 / (vi.avgFps || vi.fps || 25);
  const clampT = (i: number) => Math.min(target(i), start + Math.max(0, vi.duration - dt / 2));
  const runs = outputs
    .map((out, id) => {
      const uniqT = [...new Set(orders[id].map(clampT))];
      const terms = uniqT.map((p) => {
        const thr = (p - dt + 1e-6).toFixed(6);
        return `gt(t\\,${thr})*lte(prev_t\\,${thr})`;
      });
      const filter = `select='isnan(prev_t)+${nestSum(terms)}',${out.resize},format=rgb24,${showinfo(id)}`;
      return { id, filter, maxFrames: uniqT.length + 1 };
    })
    .filter((r) => orders[r.id].length > 0);
  const got: RawFrame[][] = outputs.map(() => []);
  for await (const rf of runDecode(path, runs.map(sized), null, o)) got[rf.out].push(rf);
  if (runs.some((r) => got[r.id].length === 0)) {
    throw new DfanError('CORRUPT', 'no frame could be decoded', {
      file: path,
      hint: 'the video stream is damaged; re-encode or re-download it',
    });
  }
  for (const { id } of runs) {
    const gp = got[id].map((f) => f.pts);
    for (const i of orders[id]) {
      yield served(id, i, got[id][Math.max(0, lastAtOrBefore(gp, clampT(i) + 1e-6))]);
    }
  }
}

/**
 * Decode RGB24 frames at `times` (seconds from the start of the video): one frame per requested
 * time, in the same order (duplicates allowed), each `width×height` after the resize `mode`.
 * Times past the end give the last frame; negative times give the first.
 *
 * With `opts.onFrame`, the decode runs in a worker thread (src/video/decode-worker.ts) and each
 * frame is handed to `onFrame` as soon as it arrives: the caller may then block the JS thread
 * (e.g. onnxruntime inference) while ffmpeg keeps decoding on another core.
 */
export async function decodeFrames(
  path: string,
  times: number[],
  opts: DecodeOptions,
  info?: VideoInfo,
): Promise<Frame[]> {
  if (opts.onFrame && times.length > 0) {
    validate(times, opts);
    const w = decodeWorker();
    if (w) return w.decode(path, times, opts, info);
  }
  const out: Frame[] = new Array(times.length);
  for await (const { index, frame } of decodeFrameStream(path, times, opts, info)) {
    out[index] = frame;
    opts.onFrame?.(index, frame);
  }
  return out;
}

// ---------------------------------------------------------------- decode thread

interface Job {
  out: Frame[];
  opts: DecodeOptions;
  resolve: (frames: Frame[]) => void;
  reject: (e: unknown) => void;
}

interface DecodeWorker {
  decode(path: string, times: number[], opts: DecodeOptions, info?: VideoInfo): Promise<Frame[]>;
}

let worker: DecodeWorker | null | undefined;

/** The process's decode thread (started on first use), or null when it cannot run here. */
function decodeWorker(): DecodeWorker | null {
  if (worker !== undefined) return worker;
  const file = fileURLToPath(new URL('./decode-worker.js', import.meta.url));
  if (!existsSync(file) || process.env.DFAN_DECODE_THREAD === '0') {
    worker = null;
    return worker;
  }
  const jobs = new Map<number, Job>();
  let nextId = 1;
  let w: Worker | null = null;
  const fail = (e: unknown) => {
    for (const j of jobs.values()) j.reject(e);
    jobs.clear();
    w = null;
  };
  const start = (): Worker => {
    const t = new Worker(file);
    t.on('message', (m: DecodeReply) => {
      const job = jobs.get(m.id);
      if (!job) return;
      if ('index' in m) {
        const frame: Frame = { time: m.time, width: m.width, height: m.height, data: m.data };
        if (m.pts !== undefined) frame.pts = m.pts;
        job.out[m.index] = frame;
        try {
          job.opts.onFrame?.(m.index, frame);
        } catch (e) {
          // as in-process: a throwing onFrame fails this decode (the rest of its frames are ignored)
          jobs.delete(m.id);
          if (jobs.size === 0) t.unref();
          job.reject(e);
        }
      } else if ('warning' in m) (job.opts.onWarning ?? warnDefault)(m.warning);
      else {
        jobs.delete(m.id);
        if (jobs.size === 0) t.unref();
        if ('done' in m) job.resolve(job.out);
        else {
          const e = m.error;
          job.reject(
            e.code
              ? new DfanError(e.code as DfanErrorCode, e.message, { file: e.file, hint: e.hint })
              : new DfanError('INTERNAL', `decode thread: ${e.message}`, { file: e.file }),
          );
        }
      }
    });
    t.on('error', (e) => fail(new DfanError('INTERNAL', `decode thread failed: ${e.message}`, { cause: e })));
    t.on('exit', () => fail(new DfanError('INTERNAL', 'decode thread exited')));
    t.unref();
    return t;
  };
  worker = {
    decode(path, times, opts, info) {
      w ??= start();
      const t = w;
      const id = nextId++;
      const { onFrame: _f, onWarning: _w, ...plain } = opts;
      return new Promise<Frame[]>((resolve, reject) => {
        jobs.set(id, { out: new Array(times.length), opts, resolve, reject });
        t.ref();
        const known = knownFrameTimes(path);
        t.postMessage({ id, path, times, opts: plain, info, known } satisfies DecodeRequest);
      });
    },
  };
  return worker;
}
