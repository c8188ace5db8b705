/** Generated test clips and input specs for the backbone tests. */
import type { InputSpec } from '../../src/backbones/preprocess.js';
import { lavfiClip } from '../helpers/ffmpeg.js';

/** A `seconds`-long clip of ffmpeg's testsrc2 pattern (it has moving parts: motion is non-zero). */
export function makeMovingVideo(path: string, seconds = 2, size = '160x90'): string {
  return lavfiClip(path, `testsrc2=s=${size}:r=10:d=${seconds},format=yuv420p`);
}

/** A backbone input spec: NCHW, RGB, ×1/255, no mean/std (the manifest defaults), overridden by `o`. */
export function inputSpec(o: Partial<InputSpec> = {}): InputSpec {
  return {
    name: 'input',
    size: [224, 224],
    crop: 'crop',
    layout: 'NCHW',
    colorOrder: 'RGB',
    scale: 1 / 255,
    mean: [0, 0, 0],
    std: [1, 1, 1],
    ...o,
  };
}
