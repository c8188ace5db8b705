/** Generated test clips for the backbone tests (ffmpeg lavfi). */
import { lavfiClip } from '../helpers/ffmpeg.js';

/** A `seconds`-long clip of ffmpeg's testsrc2 pattern (it has moving parts: motion is non-zero). */
export function makeMovingVideo(path: string, seconds = 2, size = '160x90'): string {
  return lavfiClip(path, `testsrc2=s=${size}:r=10:d=${seconds},format=yuv420p`);
}
