/**
 * The ffmpeg adapter: finds the binaries, runs them with argument arrays (never a shell), with
 * timeouts, and turns their failures into DfanErrors. Everything else in src/video goes through
 * here.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join, resolve } from 'node:path';
import { DfanError } from '../errors.js';

export interface FfmpegPaths {
  ffmpeg: string;
  ffprobe: string;
  /** 'system': from PATH (or DFAN_FFMPEG/DFAN_FFPROBE); 'npm': the @ffmpeg-installer packages */
  source: 'system' | 'npm';
}

let cached: FfmpegPaths | null = null;
let cacheKey = '';

function isExecutable(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    if (isExecutable(p)) return p;
  }
  return null;
}

function npmBinary(pkg: string): string | null {
  try {
    const require = createRequire(import.meta.url);
    const mod = require(pkg) as { path?: string };
    return mod.path && isExecutable(mod.path) ? mod.path : null;
  } catch {
    return null;
  }
}

/**
 * Locate ffmpeg and ffprobe. Order: DFAN_FFMPEG / DFAN_FFPROBE (each, when set, must exist),
 * then the system binaries on PATH, then the npm packages @ffmpeg-installer/ffmpeg and
 * @ffprobe-installer/ffprobe. DFAN_FFMPEG_SOURCE=npm skips the system binaries (used by tests).
 */
export function findFfmpeg(): FfmpegPaths {
  const key = [
    process.env.DFAN_FFMPEG,
    process.env.DFAN_FFPROBE,
    process.env.DFAN_FFMPEG_SOURCE,
    process.env.PATH,
  ].join('\0');
  if (cached && key === cacheKey) return cached;
  const envFfmpeg = process.env.DFAN_FFMPEG;
  const envFfprobe = process.env.DFAN_FFPROBE;
  for (const [name, v] of [
    ['DFAN_FFMPEG', envFfmpeg],
    ['DFAN_FFPROBE', envFfprobe],
  ] as const) {
    if (v && !isExecutable(v)) {
      throw new DfanError('FFMPEG_MISSING', `${name}=${v} is not an executable file`, {
        hint: `fix or unset ${name}`,
      });
    }
  }
  const preferNpm = process.env.DFAN_FFMPEG_SOURCE === 'npm';
  const sysFfmpeg = preferNpm ? null : onPath('ffmpeg');
  const sysFfprobe = preferNpm ? null : onPath('ffprobe');
  const npmFfmpeg = npmBinary('@ffmpeg-installer/ffmpeg');
  const npmFfprobe = npmBinary('@ffprobe-installer/ffprobe');

  let source: 'system' | 'npm' = 'system';
  let ffmpeg = envFfmpeg ?? null;
  let ffprobe = envFfprobe ?? null;
  // Keep the pair from one source when we can: versions then match.
  if (!ffmpeg && !ffprobe && sysFfmpeg && sysFfprobe) {
    ffmpeg = sysFfmpeg;
    ffprobe = sysFfprobe;
  }
  if (!ffmpeg) {
    ffmpeg = sysFfmpeg ?? npmFfmpeg;
    if (ffmpeg && ffmpeg === npmFfmpeg) source = 'npm';
  }
  if (!ffprobe) {
    ffprobe = sysFfprobe ?? npmFfprobe;
    if (ffprobe && ffprobe === npmFfprobe) source = 'npm';
  }
  if (!ffmpeg || !ffprobe) {
    const missing = [!ffmpeg && 'ffmpeg', !ffprobe && 'ffprobe'].filter(Boolean).join(' and ');
    throw new DfanError('FFMPEG_MISSING', `${missing} not found`, {
      hint: 'install it (apt-get install ffmpeg), or run `npm ci` to get @ffmpeg-installer/ffmpeg and @ffprobe-installer/ffprobe, or set DFAN_FFMPEG/DFAN_FFPROBE',
    });
  }
  cached = { ffmpeg, ffprobe, source };
  cacheKey = key;
  return cached;
}

/**
 * An input path as ffmpeg must see it: absolute, with the `file:` protocol so that names
 * starting with '-' or containing ':' are never read as options or other protocols.
 */
export function ffmpegInput(path: string): string {
  return `file:${resolve(path)}`;
}

/** Checks that need no ffmpeg: the path exists, is a regular file and is not empty. */
export function checkInputFile(path: string): number {
  if (typeof path !== 'string' || path.length === 0) {
    throw new DfanError('BAD_ARGUMENT', 'no video path given', { hint: 'pass the path of a video file' });
  }
  if (!existsSync(path)) {
    throw new DfanError('NOT_FOUND', 'no such file', {
      file: path,
      hint: 'check the path; quote names with spaces or brackets',
    });
  }
  const st = statSync(path);
  if (st.isDirectory()) {
    throw new DfanError('IS_DIRECTORY', 'is a directory, not a video file', {
      file: path,
      hint: 'pass a video file inside it',
    });
  }
  if (!st.isFile()) {
    throw new DfanError('NOT_A_VIDEO', 'is not a regular file', { file: path, hint: 'pass a video file' });
  }
  if (st.size === 0) {
    throw new DfanError('EMPTY_FILE', 'file is empty (0 bytes)', {
      file: path,
      hint: 'the copy or download probably failed; fetch the video again',
    });
  }
  return st.size;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
  timedOut: boolean;
}

/**
 * Run a binary to completion, collecting stdout and stderr, killing it after `timeoutMs`.
 * For short jobs (ffprobe); decoding streams stdout instead (see decode.ts).
 */
export function runCollect(bin: string, args: string[], timeoutMs: number): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      reject(e);
      return;
    }
    const out: Buffer[] = [];
    let err = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => {
      if (err.length < 1 << 20) err += b.toString('utf8');
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(
        new DfanError('FFMPEG_FAILED', `could not start ${bin}: ${e.message}`, {
          hint: 'check the ffmpeg installation or DFAN_FFMPEG/DFAN_FFPROBE',
          cause: e,
        }),
      );
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout: Buffer.concat(out), stderr: err, timedOut });
    });
  });
}

/** The last meaningful line of ffmpeg's stderr, for error messages. */
export function lastErrorLine(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('frame=') && !/^\w+=\S*$/.test(l));
  return (lines[lines.length - 1] ?? '').slice(0, 200);
}
