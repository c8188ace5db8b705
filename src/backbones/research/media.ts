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
import { ffmpegInput, findFfmpeg, lastErrorLine } from '../../video/ffmpeg.js';
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
  const vf = `fps=${fps},crop='min(iw,ih)':'min(iw,ih)',scale=${size}:${size}:flags=bilinear,format=rgb24`;
  const args = ['-nostdin', '-v', 'error', '-i', ffmpegInput(path), '-an', '-sn', '-vf', vf];
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
  const child = spawn(ffmpeg, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => chunks.push(b));
  child.stderr.on('data', (b: Buffer) => {
    if (stderr.length < 65536) stderr += b.toString('utf8');
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((res, rej) => {
    child.on('error', (e) =>
      rej(new DfanError('FFMPEG_FAILED', `could not start ffmpeg: ${e.message}`, { cause: e })),
    );
    child.on('close', (c) => res(c));
  }).finally(() => clearTimeout(timer));
  const buf = Buffer.concat(chunks);
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
  const { eps, chosen } = plan.exact;
  const STREAM = 2; // output id of the stream; the plan's key frames are output 0
  const stream = `fps=${fps},crop='min(iw,ih)':'min(iw,ih)',scale=${size}:${size}:flags=bilinear,format=rgb24`;
  const raw = runDecode(
    path,
    [
      { id: STREAM, filter: `${stream},${showinfo(STREAM)}`, width: size, height: size },
      ...g[0].outs.map((o) => ({ ...o, width: keyOpts.width, height: keyOpts.height })),
    ],
    null,
    keyOpts,
  );

  // key frames arrive while the stream is consumed; they are matched to their times at the end
  const keyRaw: RawFrame[] = [];
  let settle: { resolve: (f: Frame[]) => void; reject: (e: unknown) => void } | null = null;
  const keys = new Promise<Frame[]>((resolve, reject) => {
    settle = { resolve, reject };
  });
  keys.catch(() => {}); // awaited by the caller
  const done = (f: Frame[] | null, e?: unknown) => {
    const s = settle;
    settle = null;
    if (f) s?.resolve(f);
    else s?.reject(e);
  };
  const matchKeys = (): Frame[] => {
    if (keyRaw.length === 0) {
      throw new DfanError('CORRUPT', 'ffmpeg could not decode the key frames', {
        file: path,
        hint: 'the file is damaged or uses an unsupported codec; re-encode or re-download it',
      });
    }
    const start = info.startTime ?? 0;
    const rel = (p: number) => Math.round((p - start) * 1e6) / 1e6;
    let missed = 0;
    const out = keyTimes.map((time, i): Frame => {
      const c = chosen.get(i) as number;
      // the frame chosen for this time, else the last one delivered before it (else the first)
      let k = -1;
      for (let j = 0; j < keyRaw.length; j++) {
        if (keyRaw[j].pts <= c + eps) k = j;
        else break;
      }
      if (k < 0 || Math.abs(keyRaw[k].pts - c) >= eps) missed++;
      if (k < 0) k = 0;
      const f = keyRaw[k];
      return { time, pts: rel(f.pts), width: keyOpts.width, height: keyOpts.height, data: f.data };
    });
    if (missed > 0) {
      process.stderr.write(
        `dfan: warning: ${path}: ${missed} of ${keyTimes.length} key frames could not be decoded (damaged or truncated stream); used the nearest earlier frame\n`,
      );
    }
    return out;
  };

  async function* frames(): AsyncGenerator<StreamedFrame> {
    let index = 0;
    try {
      for await (const f of raw) {
        if (f.out !== STREAM) keyRaw.push(f);
        else yield { time: index++ / fps, data: f.data };
      }
      try {
        done(matchKeys()); // a failure here is the key frames' alone
      } catch (e) {
        done(null, e);
      }
      if (index === 0) throw new DfanError('ZERO_LENGTH', 'no frame could be decoded', { file: path });
    } catch (e) {
      done(null, e);
      throw e;
    } finally {
      // the reader stopped before the end: ffmpeg is gone (runDecode's cleanup), and so are the keys
      done(null, new DfanError('INTERNAL', 'the frame stream was not read to its end', { file: path }));
    }
  }
  return { frames: frames(), keys };
}
