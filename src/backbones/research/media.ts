/**
 * The two ffmpeg reads the research pack needs beyond key frames: a steady frame stream for the
 * streaming action model, and the whole audio track as mono 16 kHz float samples. Binaries and
 * input quoting come from src/video/ffmpeg.ts.
 */
import { spawn } from 'node:child_process';
import { DfanError } from '../../errors.js';
import { ffmpegInput, findFfmpeg, lastErrorLine } from '../../video/ffmpeg.js';

export interface StreamedFrame {
  /** seconds from the start of the video */
  time: number;
  /** packed RGB24 [size, size, 3] */
  data: Uint8Array;
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
  const frameBytes = size * size * 3;
  let pending: Buffer = Buffer.alloc(0);
  let index = 0;
  let finished = false;
  try {
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= frameBytes) {
        const data = new Uint8Array(frameBytes);
        data.set(pending.subarray(0, frameBytes));
        pending = pending.subarray(frameBytes);
        yield { time: index / fps, data };
        index++;
      }
    }
    const code = await exited;
    finished = true;
    if (code !== 0 && index === 0)
      throw new DfanError('FFMPEG_FAILED', `ffmpeg could not decode frames: ${lastErrorLine(stderr)}`, {
        file: path,
        hint: 'check the file with `dfan probe`',
      });
    if (index === 0) throw new DfanError('ZERO_LENGTH', 'no frame could be decoded', { file: path });
  } finally {
    if (!finished) child.kill('SIGKILL');
  }
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
