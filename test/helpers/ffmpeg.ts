/** Running ffmpeg from tests: clips generated at test time from lavfi sources. */
import { execFileSync } from 'node:child_process';
import { findFfmpeg } from '../../src/video/index.js';

export const X264_FAST = ['-c:v', 'libx264', '-preset', 'ultrafast'];
/** Smaller files than X264_FAST at some more encoding time (benchmark clips that are kept). */
export const X264_VERYFAST = ['-c:v', 'libx264', '-preset', 'veryfast'];

/** Run ffmpeg quietly (no stdin); throws with ffmpeg's stderr when it fails. */
export function ffmpeg(args: string[]): void {
  const { ffmpeg: bin } = findFfmpeg();
  execFileSync(bin, ['-v', 'error', '-y', '-nostdin', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Encode one lavfi source (e.g. `testsrc2=s=160x90:d=2`) to `path`; returns `path`. */
export function lavfiClip(path: string, source: string, codec: string[] = X264_FAST): string {
  ffmpeg(['-f', 'lavfi', '-i', source, ...codec, path]);
  return path;
}
