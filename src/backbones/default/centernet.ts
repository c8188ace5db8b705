/**
 * The default object map: the backbone of @vladmandic/human's CenterNet, a COCO-trained object
 * detector (MobileNetV3). Its `expanded_conv_14/add` map [16,16,120] at 512² input knows objects
 * in small parts of the frame: of the maps that npm ships, it scored best in docs/probe.md (a
 * photo at 1/16 of the frame: 73 % by a linear probe on its cells, 71 % for an attention head that
 * had to find it, against 36–37 % for nsfwjs's fine-tuned `out_relu`).
 *
 * Engines: onnxruntime on an ONNX file converted from human's tfjs graph (only the backbone up
 * to that layer; cached), or tfjs-wasm on the same weights when the conversion fails.
 * Input: NHWC float32 [N,512,512,3], RGB 0..255 (no normalisation), the frame fitted by `fit`.
 */
import { join } from 'node:path';
import type { ConvertedModelOptions, FrameRunner, LoadedModel } from '../engine.js';
import { ONNX_BATCH, onnxOrTfjs } from '../engine.js';
import { chwToHwc, framesToTensor, type InputSpec } from '../preprocess.js';
import type { MapFit } from '../streams.js';
import { convertedHumanGraph, humanModelsDir } from './human.js';

/** Bump when the converted graph changes (names the cache file). */
const CONV_VERSION = 2;
export const CENTERNET_LAYER = 'tower_0/MobilenetV3/expanded_conv_14/add';
export const CENTERNET_SIZE = 512;
/** [H, W, C] of the map at 512² */
export const CENTERNET_SHAPE = [16, 16, 120] as const;

/** frames of any size → maps [N, H, W, C] (HWC per frame) */
export interface ObjectMapRunner extends FrameRunner<Float32Array> {
  readonly mapShape: readonly [number, number, number];
  readonly fit: MapFit;
}

function inputSpec(name: string, fit: MapFit): InputSpec {
  return {
    name,
    size: [CENTERNET_SIZE, CENTERNET_SIZE],
    crop: fit,
    layout: 'NHWC',
    colorOrder: 'RGB',
    scale: 1,
    mean: [0, 0, 0],
    std: [1, 1, 1],
  };
}

/** The converted backbone (ONNX bytes), cached in `<cache>/converted/`. */
export async function convertedCenternet(cacheDir?: string): Promise<Uint8Array> {
  const conversion = {
    version: CONV_VERSION,
    outputs: [CENTERNET_LAYER],
    file: 'human-centernet-backbone',
    graph: 'human_centernet_backbone',
    what: `centernet, backbone up to ${CENTERNET_LAYER}`,
  };
  return (await convertedHumanGraph('centernet', conversion, cacheDir)).bytes;
}

function runner(
  model: LoadedModel,
  engine: 'onnx' | 'tfjs',
  fit: MapFit,
  batchSize: number,
): ObjectMapRunner {
  const nchw = engine === 'onnx'; // the converted graph returns [N,C,H,W]; tfjs [N,H,W,C]
  const spec = inputSpec(engine === 'onnx' ? 'input' : 'tower_0/images', fit);
  const out = engine === 'onnx' ? 'output_0' : CENTERNET_LAYER;
  const [H, W, C] = CENTERNET_SHAPE;
  const size = H * W * C;
  return {
    engine,
    mapShape: CENTERNET_SHAPE,
    fit,
    async run(frames) {
      const maps = new Float32Array(frames.length * size);
      for (let i = 0; i < frames.length; i += batchSize) {
        const part = frames.slice(i, i + batchSize);
        const r = await model.run({ [spec.name]: framesToTensor(part, spec) }, [out]);
        const y = r[out].data;
        for (let j = 0; j < part.length; j++) {
          const o = (i + j) * size;
          const src = y.subarray(j * size, (j + 1) * size);
          if (nchw) chwToHwc(src, C, H, W, maps, o);
          else maps.set(src, o);
        }
      }
      return maps;
    },
    dispose: () => model.dispose(),
  };
}

export async function loadCenternet(
  opts: ConvertedModelOptions & { fit?: MapFit } = {},
): Promise<ObjectMapRunner> {
  const fit = opts.fit ?? 'stretch';
  const batch = opts.batchSize ?? ONNX_BATCH;
  return onnxOrTfjs(
    'the CenterNet backbone',
    opts.engine,
    async () => {
      const { loadOnnx } = await import('../onnx.js');
      return runner(await loadOnnx(await convertedCenternet(opts.cacheDir), opts), 'onnx', fit, batch);
    },
    async () => {
      const { loadTfjs } = await import('../tfjs.js');
      return runner(await loadTfjs(join(humanModelsDir(), 'centernet.json')), 'tfjs', fit, 1);
    },
  );
}
