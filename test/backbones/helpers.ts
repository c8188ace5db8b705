/** Generated test clips and input contracts for the backbone tests. */
import type { InputSpec } from '../../src/backbones/preprocess.js';
import { lavfiClip } from '../helpers/ffmpeg.js';

/** An input contract: NCHW RGB scaled to 0..1, centre-cropped to 224², then what `o` changes. */
export function rgbInput(o: Partial<InputSpec> = {}): InputSpec {
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

/** ImageNet's mean and std (torchvision, ONNX Model Zoo) on 0..1 RGB. */
export const IMAGENET: Pick<InputSpec, 'mean' | 'std'> = {
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
};

/** A `seconds`-long clip of ffmpeg's testsrc2 pattern (it has moving parts: motion is non-zero). */
export function makeMovingVideo(path: string, seconds = 2, size = '160x90'): string {
  return lavfiClip(path, `testsrc2=s=${size}:r=10:d=${seconds},format=yuv420p`);
}
