/**
 * The two ffmpeg reads the research pack needs beyond key frames: a steady frame stream for the
 * streaming action model, and the whole audio track as mono 16 kHz float samples. Binaries and
 * input quoting come from src/video/ffmpeg.ts.
 */
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { DfanError } from '../../errors.js';
import { planDecode } from '../../video/decode-plan.js';
import { type RawFrame, runDecode, showinfo } from '../../video/decode-run.js';
import { ffmpegInput, findFfmpeg, lastErrorLine, runCollect } from '../../video/ffmpeg.js';
import type { Frame, ResizeMode, VideoInfo } from '../../video/types.js';

export interface StreamedFrame {
  /** seconds from the start of the video */
  time: number;
  /** packed RGB24 [size, size, 3] */
  data: Uint8Array;
}

/**
 * Packed RGB24 size×size frames from an ffmpeg rawvideo pipe, numbered at `fps`. A decode that
 * yields no frame is an error naming the file; ffmpeg is killed when the reader stops early.
 */
async function* rawSquareFrames(o: {
  path: string;
  stdout: Readable;
  size: number;
  fps: number;
  exited: Promise<number | null>;
  stderr: () => string;
  kill: () => void;
}): AsyncGenerator<StreamedFrame> {
  const frameBytes = o.size * o.size * 3;
  let pending: Buffer = Buffer.alloc(0);
  let index = 0;
  let finished = false;
  try {
    for await (const chunk of o.stdout as AsyncIterable<Buffer>) {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= frameBytes) {
        const data = new Uint8Array(frameBytes);
        data.set(pending.subarray(0, frameBytes));
        pending = pending.subarray(frameBytes);
        yield { time: index / o.fps, data };
        index++;
      }
    }
    const code = await o.exited;
    finished = true;
    if (code !== 0 && index === 0)
      throw new DfanError('FFMPEG_FAILED', `ffmpeg could not decode frames: ${lastErrorLine(o.stderr())}`, {
        file: o.path,
        hint: 'check the file with `dfan probe`',
      });
    if (index === 0) throw new DfanError('ZERO_LENGTH', 'no frame could be decoded', { file: o.path });
  } finally {
    if (!finished) o.kill();
  }
}

/** ffmpeg filter: frames at `fps`, centre-cropped to a square, resized (bilinear) to size×size, RGB24. */
function squareStream(fps: number, size: number): string {
  return `fps=${fps},crop='min(iw,ih)':'min(iw,ih)',scale=${size}:${size}:flags=bilinear,format=rgb24`;
}

/**
 * Frames at `fps`, centre-cropped to a square and resized (bilinear) to size×size, streamed as
 * ffmpeg decodes them. ffmpeg runs in its own process and decodes the next frame while the
 * caller computes on the current one.
 */
export async function* streamSquareFrames(
  path: string,
  fps: number,
  size: number,
): AsyncGenerator<StreamedFrame> {
  const { ffmpeg } = findFfmpeg();
  const args = [
    '-nostdin',
    '-v',
    'error',
    '-i',
    ffmpegInput(path),
    '-an',
    '-sn',
    '-vf',
    squareStream(fps, size),
  ];
  args.push('-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1');
  const child = spawn(ffmpeg, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => {
    if (stderr.length < 65536) stderr += b.toString('utf8');
  });
  const exited = new Promise<number | null>((res, rej) => {
    child.on('error', (e) =>
      rej(new DfanError('FFMPEG_FAILED', `could not start ffmpeg: ${e.message}`, { cause: e })),
    );
    child.on('close', (code) => res(code));
  });
  yield* rawSquareFrames({
    path,
    stdout: child.stdout,
    size,
    fps,
    exited,
    stderr: () => stderr,
    kill: () => child.kill('SIGKILL'),
  });
}

/**
 * The audio track as mono 16 kHz float32 in [-1, 1] (ffmpeg resamples and downmixes).
 * Returns null when the file has no audio stream.
 */
export async function readMonoAudio(
  path: string,
  sampleRate = 16000,
  timeoutMs = 300_000,
): Promise<Float32Array | null> {
  const { ffmpeg } = findFfmpeg();
  const args = ['-nostdin', '-v', 'error', '-i', ffmpegInput(path), '-vn', '-sn', '-map', '0:a:0?'];
  args.push('-ac', '1', '-ar', String(sampleRate), '-f', 'f32le', '-acodec', 'pcm_f32le', 'pipe:1');
  const { code, stdout: buf, stderr } = await runCollect(ffmpeg, args, timeoutMs);
  if (code !== 0) {
    // a video without audio maps nothing: ffmpeg then says it has no output streams
    if (buf.length === 0 && /does not contain any stream|Output file .* does not contain/i.test(stderr))
      return null;
    if (buf.length === 0)
      throw new DfanError('FFMPEG_FAILED', `ffmpeg could not read the audio: ${lastErrorLine(stderr)}`, {
        file: path,
      });
  }
  if (buf.length === 0) return null;
  const n = Math.floor(buf.length / 4);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = buf.readFloatLE(i * 4);
  return out;
}

/** Where the key frames of a shared decode must land: their times, the plan's choice, the size. */
interface KeyTargets {
  path: string;
  info: VideoInfo;
  keyTimes: number[];
  /** per key time, the pts of the frame the decode plan chose for it */
  chosen: Map<number, number>;
  /** pts tolerance of the plan */
  eps: number;
  keyOpts: { width: number; height: number; mode: ResizeMode };
}

/**
 * The key frames a shared decode delivered, matched to their times: the frame chosen for each
 * time, else the last one delivered before it (else the first), with a warning for the misses.
 */
function matchKeyFrames(keyRaw: RawFrame[], k: KeyTargets): Frame[] {
  if (keyRaw.length === 0) {
    throw new DfanError('CORRUPT', 'ffmpeg could not decode the key frames', {
      file: k.path,
      hint: 'the file is damaged or uses an unsupported codec; re-encode or re-download it',
    });
  }
  const start = k.info.startTime ?? 0;
  const rel = (p: number) => Math.round((p - start) * 1e6) / 1e6;
  let missed = 0;
  const out = k.keyTimes.map((time, i): Frame => {
    const c = k.chosen.get(i) as number;
    let j = -1;
    for (let q = 0; q < keyRaw.length; q++) {
      if (keyRaw[q].pts <= c + k.eps) j = q;
      else break;
    }
    if (j < 0 || Math.abs(keyRaw[j].pts - c) >= k.eps) missed++;
    if (j < 0) j = 0;
    const f = keyRaw[j];
    return { time, pts: rel(f.pts), width: k.keyOpts.width, height: k.keyOpts.height, data: f.data };
  });
  if (missed > 0) {
    process.stderr.write(
      `dfan: warning: ${k.path}: ${missed} of ${k.keyTimes.length} key frames could not be decoded (damaged or truncated stream); used the nearest earlier frame\n`,
    );
  }
  return out;
}

/** A promise settled from outside, once: later settles are ignored. */
function settleOnce<T>(): { promise: Promise<T>; settle: (value: T | null, error?: unknown) => void } {
  let resolve: (v: T) => void = () => {};
  let reject: (e: unknown) => void = () => {};
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {}); // awaited by the caller
  let open = true;
  return {
    promise,
    settle(value, error) {
      if (!open) return;
      open = false;
      if (value !== null) resolve(value);
      else reject(error);
    },
  };
}

/**
 * The MoViNet frame stream and the key frames from ONE ffmpeg decode (a `split` filter with two
 * outputs: the stream on stdout, the key frames on fd 3), instead of two processes that each
 * decode every frame of the video (at 720p a full decode costs ~2 s CPU). The stream is the same
 * as `streamSquareFrames` and the key frames the same as `decodeFrames(path, keyTimes, keyOpts)`
 * (tested). Returns null when that equivalence is not guaranteed (a first frame not at 0, or key
 * frames that need seeking: very long videos); the caller then uses the two separate decodes.
 */
export async function sharedDecode(
  path: string,
  fps: number,
  size: number,
  info: VideoInfo,
  keyTimes: number[],
  keyOpts: { width: number; height: number; mode: ResizeMode },
): Promise<{ frames: AsyncGenerator<StreamedFrame>; keys: Promise<Frame[]> } | null> {
  if ((info.startTime ?? 0) !== 0 || keyTimes.length === 0) return null;
  const plan = await planDecode(path, keyTimes, keyOpts, info);
  const g = plan.exact?.groups;
  if (!plan.exact || !g || g.length !== 1 || g[0].seek !== null) return null;
  const targets: KeyTargets = {
    path,
    info,
    keyTimes,
    chosen: plan.exact.chosen,
    eps: plan.exact.eps,
    keyOpts,
  };
  const STREAM = 2; // output id of the stream; the plan's key frames are output 0
  const raw = runDecode(
    path,
    [
      { id: STREAM, filter: `${squareStream(fps, size)},${showinfo(STREAM)}`, width: size, height: size },
      ...g[0].outs.map((o) => ({ ...o, width: keyOpts.width, height: keyOpts.height })),
    ],
    null,
    keyOpts,
  );
  // key frames arrive while the stream is consumed; they are matched to their times at the end
  const keyRaw: RawFrame[] = [];
  const keys = settleOnce<Frame[]>();
  async function* frames(): AsyncGenerator<StreamedFrame> {
    let index = 0;
    try {
      for await (const f of raw) {
        if (f.out !== STREAM) keyRaw.push(f);
        else yield { time: index++ / fps, data: f.data };
      }
      try {
        keys.settle(matchKeyFrames(keyRaw, targets)); // a failure here is the key frames' alone
      } catch (e) {
        keys.settle(null, e);
      }
      if (index === 0) throw new DfanError('ZERO_LENGTH', 'no frame could be decoded', { file: path });
    } catch (e) {
      keys.settle(null, e);
      throw e;
    } finally {
      // the reader stopped before the end: ffmpeg is gone (runDecode's cleanup), and so are the keys
      keys.settle(
        null,
        new DfanError('INTERNAL', 'the frame stream was not read to its end', { file: path }),
      );
    }
  }
  return { frames: frames(), keys: keys.promise };
}
