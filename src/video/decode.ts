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
import { DfanError } from '../errors.js';
import { type DecodePlan, lastAtOrBefore, nestSum, planDecode, validateDecode } from './decode-plan.js';
import { type RawFrame, runDecode, showinfo } from './decode-run.js';
import { decodeWorker, warnDefault } from './decode-thread.js';
import { probe } from './probe.js';
import type { DecodeOptions, Frame, VideoInfo } from './types.js';

type Served = { index: number; frame: Frame };

/** What both ways of serving a plan share: the request, the plan, and how a frame is handed out. */
class Serving {
  /** per output: the requested indices it serves, by increasing time */
  readonly orders: number[][];

  constructor(
    readonly path: string,
    readonly times: number[],
    readonly plan: DecodePlan,
    /** the caller's options, with the warning sink resolved */
    readonly opts: DecodeOptions & { onWarning: (msg: string) => void },
  ) {
    this.orders = plan.outputs.map((_, k) => plan.order.filter((i) => plan.outputOf[i] === k));
  }

  /** The presentation time a requested time asks for (absolute; negative times → the start). */
  target(i: number): number {
    return this.plan.start + Math.max(0, this.times[i]);
  }

  /** Requested time `i` served at output size `k` by the decoded frame `rf`. */
  served(k: number, i: number, rf: RawFrame): Served {
    const { start, outputs } = this.plan;
    const pts = Math.round((rf.pts - start) * 1e6) / 1e6;
    return {
      index: i,
      frame: { time: this.times[i], pts, width: outputs[k].width, height: outputs[k].height, data: rf.data },
    };
  }

  /** A run's outputs with their frame size (what runDecode reads from each pipe). */
  sized<T extends { id: number }>(x: T): T & { width: number; height: number } {
    return { ...x, width: this.plan.outputs[x.id].width, height: this.plan.outputs[x.id].height };
  }

  noFrame(): DfanError {
    return new DfanError('CORRUPT', 'no frame could be decoded', {
      file: this.path,
      hint: 'the video stream is damaged; re-encode or re-download it',
    });
  }
}

/**
 * Serves a plan with known packet timestamps: each requested time gets the frame chosen for it;
 * a frame not delivered (damaged or truncated stream) is replaced by the one shown before it.
 */
async function* serveExact(s: Serving, exact: NonNullable<DecodePlan['exact']>): AsyncGenerator<Served> {
  const { eps, chosen } = exact;
  const { orders } = s;
  const outputs = s.plan.outputs;
  const oi = outputs.map(() => 0); // per output: next index into its order to serve
  const last: Array<RawFrame | null> = outputs.map(() => null);
  let missed = 0;
  for (const g of exact.groups) {
    for await (const rf of runDecode(
      s.path,
      g.outs.map((x) => s.sized(x)),
      g.seek,
      s.opts,
    )) {
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
        yield s.served(k, i, use);
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
        yield s.served(k, orders[k][oi[k]++], lk);
      }
    }
  }
  if (orders.some((ord, k) => ord.length > 0 && !last[k])) throw s.noFrame();
  for (let k = 0; k < outputs.length; k++) {
    while (oi[k] < orders[k].length) {
      missed++;
      yield s.served(k, orders[k][oi[k]++], last[k] as RawFrame);
    }
  }
  if (missed > 0) {
    const lastPts = Math.max(...last.map((f) => f?.pts ?? Number.NEGATIVE_INFINITY));
    s.opts.onWarning(
      `${s.path}: ${missed} of ${s.times.length} frames could not be decoded (damaged or truncated stream); used the nearest earlier frame (last decoded at ${(lastPts - s.plan.start).toFixed(2)} s)`,
    );
  }
}

/**
 * Serves a plan without packet timestamps (raw streams, constant rate in practice): the frame on
 * screen at t is the first frame later than t − 1/fps. Times are clamped into the stream first.
 */
async function* serveByRate(s: Serving, vi: VideoInfo): AsyncGenerator<Served> {
  const { start, outputs } = s.plan;
  const { orders } = s;
  const dt = 1 / (vi.avgFps || vi.fps || 25);
  const clampT = (i: number) => Math.min(s.target(i), start + Math.max(0, vi.duration - dt / 2));
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
  for await (const rf of runDecode(
    s.path,
    runs.map((r) => s.sized(r)),
    null,
    s.opts,
  ))
    got[rf.out].push(rf);
  if (runs.some((r) => got[r.id].length === 0)) throw s.noFrame();
  for (const { id } of runs) {
    const gp = got[id].map((f) => f.pts);
    for (const i of orders[id]) {
      yield s.served(id, i, got[id][Math.max(0, lastAtOrBefore(gp, clampT(i) + 1e-6))]);
    }
  }
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
): AsyncGenerator<Served> {
  validateDecode(times, opts);
  const vi = info ?? (await probe(path));
  if (times.length === 0) return;
  const plan = await planDecode(path, times, opts, vi);
  const s = new Serving(path, times, plan, { ...opts, onWarning: opts.onWarning ?? warnDefault });
  if (plan.exact) yield* serveExact(s, plan.exact);
  else yield* serveByRate(s, vi);
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
    validateDecode(times, opts);
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
