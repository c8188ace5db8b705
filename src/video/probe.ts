/**
 * probe(): what ffprobe says about a video, from the container headers (fast on any length); in
 * the same ffprobe run, the packet timestamps of the first WINDOWED_SCAN_S seconds, which seed
 * frameTimes() for videos up to that long (one ffprobe start, ~90 ms with Debian's dynamically
 * linked build, instead of two).
 * frameTimes(): presentation timestamps of every video frame, from demuxing (no decoding).
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { DfanError } from '../errors.js';
import { checkInputFile, ffmpegInput, findFfmpeg, lastErrorLine, runCollect } from './ffmpeg.js';
import type { VideoInfo } from './types.js';

const PROBE_TIMEOUT_MS = Number(process.env.DFAN_PROBE_TIMEOUT_MS ?? 30_000);

/** Videos longer than this get a windowed packet scan (src/video/decode.ts planDecode). */
export const WINDOWED_SCAN_S = Number(process.env.DFAN_WINDOWED_SCAN_S ?? 300);

interface FfStream {
  index: number;
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  nb_frames?: string;
  duration?: string;
  start_time?: string;
  time_base?: string;
  disposition?: Record<string, number>;
  tags?: Record<string, string>;
  sample_aspect_ratio?: string;
  side_data_list?: Array<{ side_data_type?: string; rotation?: number | string }>;
}
interface FfPacket {
  stream_index?: number;
  pts_time?: string;
  flags?: string;
}
interface FfProbeJson {
  streams?: FfStream[];
  packets?: FfPacket[];
  format?: { duration?: string; size?: string; format_name?: string; start_time?: string };
}

function ratio(s: string | undefined): number {
  if (!s) return 0;
  const [a, b] = s.split('/').map(Number);
  if (!Number.isFinite(a)) return 0;
  if (b === undefined) return a;
  return b > 0 && Number.isFinite(b) ? a / b : 0;
}

function num(s: string | undefined): number | null {
  if (s === undefined || s === 'N/A') return null;
  const x = Number(s);
  return Number.isFinite(x) ? x : null;
}

/**
 * Clockwise rotation (0/90/180/270) a player applies to show the frame upright, the same angle
 * ffmpeg's autorotate applies: from the display matrix (ffprobe reports it counter-clockwise),
 * else from the legacy `rotate` tag (clockwise).
 */
export function rotationOf(s: FfStream): number {
  const sd = s.side_data_list?.find((d) => d.side_data_type === 'Display Matrix' && d.rotation !== undefined);
  let deg: number | null = null;
  if (sd) deg = -Number(sd.rotation);
  else if (s.tags?.rotate !== undefined) deg = Number(s.tags.rotate);
  if (deg === null || !Number.isFinite(deg)) return 0;
  const r = (((Math.round(deg / 90) * 90) % 360) + 360) % 360;
  return r;
}

/** The primary video stream: the first one that is not cover art. */
function pickVideo(streams: FfStream[]): FfStream | undefined {
  return streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
}

async function countVideoPackets(path: string): Promise<number | null> {
  const { ffprobe } = findFfmpeg();
  const res = await runCollect(
    ffprobe,
    [
      '-v',
      'error',
      '-select_streams',
      'V:0',
      '-count_packets',
      '-show_entries',
      'stream=nb_read_packets',
      '-of',
      'csv=p=0',
      ffmpegInput(path),
    ],
    PROBE_TIMEOUT_MS * 4,
  );
  const n = Number.parseInt(res.stdout.toString('latin1').trim(), 10);
  return res.code === 0 && Number.isFinite(n) ? n : null;
}

/** An ISO-BMFF file starts with a box whose type is ftyp (or, in old QuickTime files, moov/mdat/wide/free). */
function startsLikeMp4(path: string): boolean {
  try {
    const fd = openSync(path, 'r');
    const b = Buffer.alloc(8);
    readSync(fd, b, 0, 8, 0);
    closeSync(fd);
    return ['ftyp', 'mdat', 'wide', 'free', 'skip'].includes(b.toString('latin1', 4, 8));
  } catch {
    return false;
  }
}

/**
 * Describe a video file without decoding it. Throws DfanError for anything that is not a playable
 * video. Probes of an unchanged file (same path, size and modification time) share one ffprobe
 * run: the server's upload check, the prediction and the extraction each ask.
 */
export async function probe(path: string): Promise<VideoInfo> {
  const size = checkInputFile(path);
  const key = fileKey(path, undefined);
  let p = key ? probeCache.get(key) : undefined;
  if (!p) {
    p = probeFile(path, size);
    if (key) {
      remember(probeCache, key, p);
      p.catch(() => probeCache.delete(key));
    }
  }
  return { ...(await p) };
}

/** One ffprobe run: format, streams, and the packets of the first WINDOWED_SCAN_S (+60) seconds. */
async function runFfprobe(path: string): Promise<FfProbeJson> {
  const { ffprobe } = findFfmpeg();
  const res = await runCollect(
    ffprobe,
    [
      ...['-v', 'error', '-print_format', 'json=compact=1', '-show_format', '-show_streams'],
      ...[
        '-show_entries',
        'packet=stream_index,pts_time,flags',
        '-read_intervals',
        `%+${WINDOWED_SCAN_S + 60}`,
      ],
      ffmpegInput(path),
    ],
    PROBE_TIMEOUT_MS,
  );
  if (res.timedOut) {
    throw new DfanError('CORRUPT', `ffprobe gave no answer within ${PROBE_TIMEOUT_MS / 1000} s`, {
      file: path,
      hint: 'the file is probably damaged or on a stalled disk; re-encode or re-download it',
    });
  }
  let json: FfProbeJson = {};
  try {
    json = JSON.parse(res.stdout.toString('utf8') || '{}') as FfProbeJson;
  } catch {
    json = {};
  }
  if (res.code !== 0 || !json.format) throw unreadable(path, res.stderr);
  return json;
}

/** Why ffprobe could not read the file: a truncated MP4 says so; anything else is not a video. */
function unreadable(path: string, stderr: string): DfanError {
  if (/moov atom not found/i.test(stderr) && startsLikeMp4(path)) {
    return new DfanError(
      'CORRUPT',
      'truncated or incomplete MP4/MOV (its index, the moov atom, is missing)',
      {
        file: path,
        hint: 'the download or recording was cut off; fetch or export it again',
      },
    );
  }
  const why = lastErrorLine(stderr)
    .replace(/^file:.*?: /, '')
    .replace(/^\[[^\]]*\] /, '');
  return new DfanError('NOT_A_VIDEO', `not a readable video${why ? ` (ffprobe: ${why})` : ''}`, {
    file: path,
    hint: 'check that it is a video file (mp4, mkv, avi, wmv, …) and not damaged or mis-named',
  });
}

/** The primary video stream and the first audio stream; throws when there is no picture. */
function streamsOf(path: string, json: FfProbeJson): { v: FfStream; audio: FfStream | undefined } {
  const streams = json.streams ?? [];
  if (streams.length === 0) {
    const d = num(json.format?.duration);
    if (d === null || d === 0) {
      throw new DfanError('ZERO_LENGTH', 'the container holds no streams (zero length)', {
        file: path,
        hint: 'the recording or export probably failed; use a video with at least one frame',
      });
    }
    throw new DfanError('NO_VIDEO_STREAM', 'has no video stream', {
      file: path,
      hint: 'pass a file with pictures',
    });
  }
  const v = pickVideo(streams);
  const audio = streams.find((s) => s.codec_type === 'audio');
  if (!v) {
    throw new DfanError('NO_VIDEO_STREAM', `has no video stream (${audio ? 'audio only' : 'no picture'})`, {
      file: path,
      hint: 'pass a file with pictures; audio-only files cannot be analysed',
    });
  }
  return { v, audio };
}

/**
 * Duration and frame count: the container's (or the stream's); raw elementary streams (.h264,
 * .m4v …) carry no duration, so their packets are counted (demux only).
 */
async function lengthOf(
  path: string,
  json: FfProbeJson,
  v: FfStream,
  rate: number,
): Promise<{ duration: number; frames: number | null }> {
  const nb = num(v.nb_frames);
  const frameCount = nb !== null && nb > 0 ? Math.round(nb) : nb === 0 ? 0 : null;
  let duration = num(json.format?.duration) ?? num(v.duration);
  let frames = frameCount;
  if (duration === null && frameCount !== 0) {
    const n = await countVideoPackets(path);
    if (n !== null) {
      frames = n;
      duration = n > 0 ? n / rate : 0;
    }
  }
  return { duration: duration ?? 0, frames };
}

async function probeFile(path: string, size: number): Promise<VideoInfo> {
  const json = await runFfprobe(path);
  const { v, audio } = streamsOf(path, json);
  const width = v.width ?? 0;
  const height = v.height ?? 0;
  const fps = ratio(v.r_frame_rate);
  const avgFps = ratio(v.avg_frame_rate) || fps;
  const { duration, frames } = await lengthOf(path, json, v, avgFps || fps || 25);
  if (width <= 0 || height <= 0) {
    throw new DfanError('CORRUPT', 'video stream has no picture size', {
      file: path,
      hint: 'the file is probably damaged; re-encode or re-download it',
    });
  }
  if (frames === 0 || !(duration > 0)) {
    throw new DfanError('ZERO_LENGTH', 'video has no frames (zero length)', {
      file: path,
      hint: 'the recording or export probably failed; use a video with at least one frame',
    });
  }
  if (duration <= WINDOWED_SCAN_S && json.packets) {
    const rows = json.packets.filter((p) => p.stream_index === v.index);
    seedFrameTimes(path, packetTimes(rows.map((p) => [p.pts_time ?? 'N/A', p.flags ?? ''])));
  }
  const rotation = rotationOf(v);
  const swap = rotation === 90 || rotation === 270;
  // non-square pixels (anamorphic DV, some WMV): the picture is shown sar× wider than coded
  const sarRaw = ratio(v.sample_aspect_ratio?.replace(':', '/'));
  const sar = sarRaw > 0.1 && sarRaw < 10 ? sarRaw : 1;
  const shownW = Math.round(width * sar);
  return {
    path,
    duration,
    fps: fps || avgFps,
    avgFps,
    frameCount: frames,
    width,
    height,
    rotation,
    displayWidth: swap ? height : shownW,
    displayHeight: swap ? shownW : height,
    sar,
    codec: v.codec_name ?? 'unknown',
    hasAudio: !!audio,
    audioCodec: audio?.codec_name ?? null,
    size,
    startTime: num(v.start_time) ?? num(json.format?.start_time) ?? 0,
    format: json.format?.format_name ?? 'unknown',
  };
}

/**
 * Presentation timestamps (absolute seconds, sorted) of the video frames, read by demuxing the
 * packets — no decoding. Packets flagged for discard (edit lists) are skipped. With `windows`
 * ([from, to] in absolute seconds) only those stretches are read (ffprobe -read_intervals seeks
 * to each), which keeps hour-long files cheap. Returns null when the container carries no
 * timestamps (e.g. raw elementary streams); callers then fall back to "first frame at or after t".
 */
export async function frameTimes(
  path: string,
  windows?: Array<[number, number]>,
  timeoutMs = 120_000,
): Promise<number[] | null> {
  // Several decodes of one video (and its probe, which seeds the whole-file scan) share one scan.
  const key = fileKey(path, windows);
  const hit = key ? timesCache.get(key) : undefined;
  if (hit !== undefined) return hit;
  const ts = await scanFrameTimes(path, windows, timeoutMs);
  if (key) remember(timesCache, key, ts);
  return ts;
}

function fileKey(path: string, windows: Array<[number, number]> | undefined): string {
  try {
    const st = statSync(path);
    return `${resolve(path)}\0${st.size}\0${st.mtimeMs}\0${JSON.stringify(windows ?? null)}`;
  } catch {
    return ''; // reported by the caller
  }
}

/** Keep the 8 most recently stored entries. */
function remember<T>(cache: Map<string, T>, key: string, value: T): void {
  cache.delete(key);
  cache.set(key, value);
  if (cache.size > 8) cache.delete(cache.keys().next().value as string);
}

/**
 * The whole-file frame timestamps of a video as this thread knows them (undefined: not known).
 * The decode thread is handed them, so that a probe here spares it a packet scan.
 */
export function knownFrameTimes(path: string): number[] | null | undefined {
  const key = fileKey(path, undefined);
  return key ? timesCache.get(key) : undefined;
}

/** Store the whole-file frame timestamps of a video (from probe's packet pass, or another thread). */
export function seedFrameTimes(path: string, ts: number[] | null): void {
  const key = fileKey(path, undefined);
  if (key) remember(timesCache, key, ts);
}

const timesCache = new Map<string, number[] | null>();
const probeCache = new Map<string, Promise<VideoInfo>>();

/**
 * Forget cached probe results and frame timestamps (benchmarks, which must pay for them on every
 * run as a user does for each new video; files rewritten in place rarely keep size and mtime).
 */
export function clearProbeCaches(): void {
  timesCache.clear();
  probeCache.clear();
}

async function scanFrameTimes(
  path: string,
  windows: Array<[number, number]> | undefined,
  timeoutMs: number,
): Promise<number[] | null> {
  const { ffprobe } = findFfmpeg();
  const intervals = windows?.length
    ? ['-read_intervals', windows.map(([a, b]) => `${Math.max(0, a).toFixed(6)}%${b.toFixed(6)}`).join(',')]
    : [];
  const res = await runCollect(
    ffprobe,
    [
      '-v',
      'error',
      ...intervals,
      '-select_streams',
      'V:0',
      '-show_entries',
      'packet=pts_time,flags',
      '-of',
      'csv=p=0',
      ffmpegInput(path),
    ],
    timeoutMs,
  );
  if (res.timedOut || res.code !== 0) return null;
  const rows = res.stdout
    .toString('latin1')
    .split('\n')
    .map((line) => line.trim().split(',') as [string, string]);
  return packetTimes(rows);
}

/**
 * Sorted unique presentation times from packet rows [pts_time, flags]; null when the packets carry
 * no timestamps (raw elementary streams).
 */
function packetTimes(rows: Array<[string, string]>): number[] | null {
  const ts: number[] = [];
  let missing = 0;
  for (const [s, flags] of rows) {
    if (!s) continue;
    // 'D': the packet is decoded only to prime the decoder, never shown (edit lists)
    if (flags?.includes('D')) continue;
    const x = Number(s);
    if (Number.isFinite(x)) ts.push(x);
    else missing++;
  }
  if (ts.length === 0 || missing > ts.length / 10) return null;
  ts.sort((a, b) => a - b);
  return ts.filter((x, i) => i === 0 || x !== ts[i - 1]);
}
