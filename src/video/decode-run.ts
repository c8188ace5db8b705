/**
 * The ffmpeg runner of a decode: one ffmpeg process per run of a plan, its outputs as raw RGB24
 * on stdout (and file descriptors 3+ for further sizes), each frame's presentation time read
 * from showinfo on stderr. Buffers at most a few frames; kills ffmpeg when it stalls.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { DfanError } from '../errors.js';
import { ffmpegInput, findFfmpeg, lastErrorLine } from './ffmpeg.js';
import type { DecodeOptions } from './types.js';

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

/** One output's pipe: bytes not yet a whole frame, whole frames, pts read from showinfo. */
interface OutputPipe {
  id: number;
  frameBytes: number;
  pipe: Readable;
  pending: Buffer[];
  pendingLen: number;
  frames: Uint8Array[];
  pts: number[];
  /** frames handed to the consumer */
  served: number;
  ended: boolean;
}

/** At most this many whole frames wait for the consumer; then the pipes pause (ffmpeg blocks). */
const MAX_QUEUED = 2;

/**
 * One ffmpeg process of a decode as it runs: its outputs' pipes cut into whole frames, the pts
 * of each from stderr, the tail of stderr for messages, and an idle timer that kills a stalled
 * ffmpeg (paused while the consumer holds a frame: a slow consumer is not ffmpeg's fault).
 */
class DecodeProcess {
  readonly outs: OutputPipe[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderrTail = '';
  stderrDone = false;
  killedForIdle = false;
  spawnError: Error | null = null;
  private readonly byId: Map<number, OutputPipe>;
  private stderrBuf = '';
  private wake: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private holding = false;

  constructor(
    private readonly child: ChildProcess,
    outputs: Array<DecodeOutput & { width: number; height: number }>,
    readonly idleMs: number,
    private readonly debug: boolean,
  ) {
    this.outs = outputs.map((o, k) => ({
      id: o.id,
      frameBytes: o.width * o.height * 3,
      pipe: (k === 0 ? child.stdout : child.stdio[k + 2]) as Readable,
      pending: [],
      pendingLen: 0,
      frames: [],
      pts: [],
      served: 0,
      ended: false,
    }));
    this.byId = new Map(this.outs.map((o) => [o.id, o]));
    this.poke();
    this.exited = new Promise((res) => {
      child.on('close', (code, sig) => res({ code, signal: sig }));
    });
    child.on('error', (e) => {
      this.spawnError = e;
      for (const o of this.outs) o.ended = true;
      this.stderrDone = true;
      this.signal();
    });
    const stderr = child.stderr as Readable;
    stderr.setEncoding('utf8');
    stderr.on('data', (s: string) => this.onStderr(s));
    stderr.on('end', () => {
      this.stderrDone = true;
      this.signal();
    });
    for (const o of this.outs) {
      o.pipe.on('data', (chunk: Buffer) => this.onData(o, chunk));
      o.pipe.on('end', () => {
        o.ended = true;
        this.signal();
      });
    }
  }

  /** Wakes the consumer waiting in `changed()`. */
  private signal(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /** Restarts the idle timer (not while the consumer holds a frame). */
  private poke(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.holding) return;
    this.timer = setTimeout(() => {
      this.killedForIdle = true;
      this.child.kill('SIGKILL');
    }, this.idleMs);
  }

  private onStderr(s: string): void {
    this.poke();
    if (this.debug) process.stderr.write(s);
    this.stderrBuf += s;
    let nl = this.stderrBuf.search(/[\r\n]/);
    while (nl >= 0) {
      const line = this.stderrBuf.slice(0, nl);
      this.stderrBuf = this.stderrBuf.slice(nl + 1);
      const m = line.includes('showinfo@o') ? SHOWINFO_LINE.exec(line) : null;
      if (m) this.byId.get(Number(m[1]))?.pts.push(Number(m[2]) / 1e6);
      else if (line.trim() && !line.includes('showinfo@o'))
        this.stderrTail = `${this.stderrTail.slice(-4000)}\n${line}`;
      nl = this.stderrBuf.search(/[\r\n]/);
    }
    this.signal();
  }

  private onData(o: OutputPipe, chunk: Buffer): void {
    this.poke();
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
      if (this.queued() >= MAX_QUEUED) for (const p of this.outs) p.pipe.pause();
    }
    this.signal();
  }

  private queued(): number {
    return this.outs.reduce((a, o) => a + o.frames.length, 0);
  }

  /**
   * The next whole frame whose pts is known (or will never be), handed to the consumer: the
   * idle timer stops until `release()`. Null when none is ready.
   */
  take(): RawFrame | null {
    const o = this.outs.find((x) => x.frames.length > 0 && (x.pts.length > x.served || this.stderrDone));
    if (!o) return null;
    const data = o.frames.shift() as Uint8Array;
    const pts = o.pts[o.served] ?? Number.NaN;
    o.served++;
    if (this.queued() < MAX_QUEUED) for (const p of this.outs) p.pipe.resume();
    this.holding = true;
    if (this.timer) clearTimeout(this.timer);
    return { out: o.id, pts, data };
  }

  /** The consumer is done with the frame it took. */
  release(): void {
    this.holding = false;
    this.poke();
  }

  /** Every output ended and every frame was taken. */
  finished(): boolean {
    return this.outs.every((x) => x.ended && x.frames.length === 0);
  }

  /** Resolves at the next event (data, stderr, end, error). */
  changed(): Promise<void> {
    return new Promise<void>((r) => {
      this.wake = r;
    });
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/** After ffmpeg exited: the typed error for a decode that failed, or a warning for one cut short. */
function checkExit(
  run: DecodeProcess,
  exit: { code: number | null; signal: NodeJS.Signals | null },
  yielded: number,
  path: string,
  opts: DecodeOptions,
): void {
  if (run.spawnError) {
    throw new DfanError('FFMPEG_FAILED', `could not start ffmpeg: ${run.spawnError.message}`, {
      file: path,
      hint: 'check the ffmpeg installation or DFAN_FFMPEG',
    });
  }
  if (run.killedForIdle) {
    throw new DfanError('CORRUPT', `ffmpeg stalled for ${run.idleMs / 1000} s while decoding; stopped it`, {
      file: path,
      hint: 'the file is probably damaged; re-encode it (ffmpeg -i in -c:v libx264 out.mp4)',
    });
  }
  if (exit.code !== 0 && yielded === 0) {
    const why = lastErrorLine(run.stderrTail);
    throw new DfanError(
      'CORRUPT',
      `ffmpeg could not decode the video${why ? ` (${why.replace(/^file:\S*: /, '')})` : ''}`,
      {
        file: path,
        hint: 'the file is damaged or uses an unsupported codec; re-encode or re-download it',
      },
    );
  }
  if (exit.code !== 0 && exit.signal === null) {
    opts.onWarning?.(
      `${path}: ffmpeg stopped with an error after ${yielded} frames (${lastErrorLine(run.stderrTail)})`,
    );
  }
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
  const run = new DecodeProcess(child, outputs, opts.idleTimeoutMs ?? 60_000, debug);
  let yielded = 0;
  try {
    for (;;) {
      const frame = run.take();
      if (frame) {
        yielded++;
        yield frame;
        run.release();
        continue;
      }
      if (run.finished()) break;
      await run.changed();
    }
    checkExit(run, await run.exited, yielded, path, opts);
  } finally {
    run.stop();
  }
}
