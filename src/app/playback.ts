/**
 * What the web page's player gets for an upload. dfan analyses anything ffmpeg decodes, but a
 * browser plays only a few container/codec pairs: an upload outside them (an MPEG-4 Part 2 AVI,
 * a Theora Ogg, HEVC…) is converted once, in the background, to H.264/AAC MP4 beside the upload;
 * until that is done, or if it fails, the page shows the snippets' key frames instead.
 */
import { rename, rm } from 'node:fs/promises';
import type { VideoInfo } from '../video/types.js';

/** How an upload reaches the player: as it is, or through a converted copy. */
export interface PlaybackPlan {
  /** the browser plays the upload as it is */
  playable: boolean;
  /** the type to serve the upload with when it is playable */
  contentType: string;
  /** seconds (bounds the conversion's time) */
  duration: number;
}

/** Where a job's player stands: the upload, a copy being made or made, or key frames only. */
export interface Playback {
  state: 'original' | 'converting' | 'converted' | 'unplayable';
  /** the file the player is served (the upload, or its converted copy) */
  file: string;
  contentType: string;
  /** why the player shows key frames instead (unplayable) */
  note?: string;
}

// what every current browser plays (Chromium, Firefox, Safari): codec names as ffprobe gives them
const MP4_VIDEO = new Set(['h264', 'av1', 'vp9']);
const MP4_AUDIO = new Set(['aac', 'mp3', 'opus', 'flac']);
const WEBM_VIDEO = new Set(['vp8', 'vp9', 'av1']);
const WEBM_AUDIO = new Set(['vorbis', 'opus']);

/** Whether a browser plays this video as it is, and with which content type (pure). */
export function playbackPlan(
  info: Pick<VideoInfo, 'format' | 'codec' | 'audioCodec' | 'duration'>,
): PlaybackPlan {
  const formats = (info.format ?? '').split(',');
  const audio = info.audioCodec;
  const plan = (playable: boolean, contentType: string): PlaybackPlan => ({
    playable,
    contentType,
    duration: info.duration,
  });
  if (formats.includes('mp4') || formats.includes('mov'))
    return plan(MP4_VIDEO.has(info.codec) && (!audio || MP4_AUDIO.has(audio)), 'video/mp4');
  // Matroska and WebM share one demuxer name; a browser plays the WebM subset of codecs
  if (formats.includes('webm'))
    return plan(WEBM_VIDEO.has(info.codec) && (!audio || WEBM_AUDIO.has(audio)), 'video/webm');
  return plan(false, 'application/octet-stream');
}

/** ffmpeg arguments that convert `input` to an H.264/AAC MP4 every browser plays. */
export function browserMp4Args(input: string, output: string): string[] {
  return [
    ...['-v', 'error', '-y', '-i', input],
    // the first video and (when there is one) the first audio stream; no subtitles or data
    ...['-map', '0:v:0', '-map', '0:a:0?', '-sn', '-dn'],
    // H.264 wants even sizes and 8-bit 4:2:0 for browsers to decode it
    ...['-vf', 'scale=trunc(iw/2)*2:trunc(ih/2)*2', '-pix_fmt', 'yuv420p'],
    ...['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '26'],
    ...['-c:a', 'aac', '-b:a', '128k', '-ac', '2'],
    // the index first, so that the player starts before the whole file has arrived
    ...['-movflags', '+faststart', '-f', 'mp4', output],
  ];
}

/**
 * Convert `src` to `dest` (H.264/AAC MP4) through a temp file renamed at the end: a reader never
 * sees half a video. Throws with ffmpeg's last error line.
 */
export async function convertForBrowser(src: string, dest: string, plan: PlaybackPlan): Promise<void> {
  const { ffmpegInput, findFfmpeg, lastErrorLine, runCollect } = await import('../video/ffmpeg.js');
  const tmp = `${dest}.part.mp4`;
  // generous: a slow machine converts faster than real time, and a stuck ffmpeg must end
  const timeoutMs = Math.max(120_000, plan.duration * 4000);
  try {
    const res = await runCollect(findFfmpeg().ffmpeg, browserMp4Args(ffmpegInput(src), tmp), timeoutMs);
    if (res.code !== 0) {
      throw new Error(
        res.timedOut ? 'the conversion took too long' : lastErrorLine(res.stderr) || 'ffmpeg failed',
      );
    }
    await rename(tmp, dest);
  } finally {
    await rm(tmp, { force: true });
  }
}

/** `fn` with one call running at a time: conversions wait their turn instead of sharing the CPU. */
export function oneAtATime<A extends unknown[]>(fn: (...args: A) => Promise<void>) {
  let last: Promise<unknown> = Promise.resolve();
  return (...args: A): Promise<void> => {
    const run = last.then(() => fn(...args));
    last = run.catch(() => {});
    return run;
  };
}
