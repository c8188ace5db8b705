/** Generated test clips for the backbone tests (ffmpeg lavfi). */
import { execFileSync } from 'node:child_process';
import { findFfmpeg } from '../../src/video/index.js';

/** A `seconds`-long clip of ffmpeg's testsrc2 pattern (it has moving parts: motion is non-zero). */
export function makeMovingVideo(path: string, seconds = 2, size = '160x90'): string {
  const { ffmpeg } = findFfmpeg();
  execFileSync(
    ffmpeg,
    [
      '-v',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      `testsrc2=s=${size}:r=10:d=${seconds},format=yuv420p`,
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      path,
    ],
    { stdio: 'ignore' },
  );
  return path;
}
