/** The test packs' object map: the mean colour of each quadrant of 8×8 key frames, 0..1. */
import type { Frame } from '../../src/video/types.js';

/** [T, 2, 2, 3] from T frames decoded at 8×8 (RGB24). */
export function quadrantColours(frames: Frame[]): Float32Array {
  const map = new Float32Array(frames.length * 12);
  frames.forEach((f, t) => {
    for (let y = 0; y < 8; y++)
      for (let x = 0; x < 8; x++)
        for (let c = 0; c < 3; c++) {
          const q = (Math.floor(y / 4) * 2 + Math.floor(x / 4)) * 3 + c;
          map[t * 12 + q] += f.data[(y * 8 + x) * 3 + c] / 255 / 16;
        }
  });
  return map;
}
