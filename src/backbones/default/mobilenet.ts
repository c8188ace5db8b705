/**
 * The nsfwjs MobileNetV2 (224×224, RGB/255) as used by the default pack: one pass gives
 *   map  `block_10_expand_relu`  [N, 14, 14, 384] (ImageNet weights: nsfwjs's fine-tuning starts
 *        at block 11; `out_relu` [7,7,1280] after the fine-tuned blocks knows no object classes)
 *   mid  `block_10_expand_relu`  [N, 384] global-average-pooled
 * Engines: tfjs-wasm on the weights nsfwjs ships, or onnxruntime on an ONNX file converted from
 * those same weights at first use (src/backbones/convert/keras2onnx.ts, cached).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { cachedConversion, convertedPath } from '../cache.js';
import { CONVERTER_VERSION, kerasSourceFromTfjs, kerasToOnnx } from '../convert/keras2onnx.js';
import {
  type ConvertedModelOptions,
  type FrameRunner,
  type LoadedModel,
  ONNX_BATCH,
  onnxOrTfjs,
} from '../engine.js';
import { writeOnnx } from '../onnx-writer.js';
import { chwToHwc, framesToTensor } from '../preprocess.js';
import type { MapFit } from '../streams.js';
import type { BackboneManifest } from '../types.js';
import { packageDir, packageVersion } from './pkg.js';

/**
 * MobileNetV2's map layer when a MobileNetV2 object map is asked for: the last layer whose weights
 * are still ImageNet's (nsfwjs fine-tuned blocks 11–16). The default pack's object map is
 * CenterNet's (./centernet.ts); both were measured in docs/probe.md.
 */
export const MAP_LAYER = 'block_10_expand_relu';
/** Layers the object map may come from: [H, W, C] each. */
export const MAP_LAYERS = {
  block_10_expand_relu: [14, 14, 384],
  block_13_expand_relu: [14, 14, 576],
  out_relu: [7, 7, 1280],
} as const;
/** How key frames meet the 224² input by default: the whole frame, stretched (docs/probe.md). */
export const MAP_FIT = 'stretch' as const;
export type MapLayer = keyof typeof MAP_LAYERS;
export const MID_LAYER = 'block_10_expand_relu';
export const MAP_SHAPE = [7, 7, 1280] as const;
export const MID_DIM = 384;
export const INPUT_SIZE = 224;

export function nsfwjsVersion(): string {
  return packageVersion('nsfwjs');
}

/** nsfwjs's MobileNetV2 bundle (`model.min.js` + base64 weight shards). */
export function nsfwMobilenetPath(): string {
  return join(packageDir('nsfwjs'), 'dist', 'models', 'mobilenet_v2', 'model.min.js');
}

export type MobilenetEngine = 'tfjs' | 'onnx';

/** frames of any size (fitted to 224² by `fit`) → map [N,H,W,C] and pooled mid features [N,384] */
export interface MobilenetRunner extends FrameRunner<{ map: Float32Array; mid: Float32Array }> {
  readonly engine: MobilenetEngine;
  /** the map layer and its [H, W, C] */
  readonly mapLayer: MapLayer;
  readonly mapShape: readonly [number, number, number];
  /** how frames meet the square input */
  readonly fit: MapFit;
}

/** The object stream's manifest (documentation and the generic runner use it). */
export function objectManifest(
  engine: MobilenetEngine,
  layer: MapLayer = MAP_LAYER,
  fit: MapFit = MAP_FIT,
): BackboneManifest {
  const [h, w, c] = MAP_LAYERS[layer];
  return {
    id: `nsfwjs-mobilenet_v2@${nsfwjsVersion()}/${layer}`,
    stream: 'object',
    kind: 'frame-map',
    engine,
    weights: nsfwMobilenetPath(),
    input: {
      name: engine === 'onnx' ? 'input' : 'input_1',
      size: [INPUT_SIZE, INPUT_SIZE],
      crop: fit,
      layout: engine === 'onnx' ? 'NCHW' : 'NHWC',
      colorOrder: 'RGB',
      scale: 1 / 255,
      mean: [0, 0, 0],
      std: [1, 1, 1],
    },
    output: {
      name: layer,
      shape: engine === 'onnx' ? [c, h, w] : [h, w, c],
      layout: engine === 'onnx' ? 'CHW' : 'HWC',
    },
    licence: 'MIT (nsfwjs)',
    description:
      'MobileNetV2 1.0/224: ImageNet weights up to block 10, blocks 11-16 fine-tuned by nsfwjs on 5 content classes (drawing, hentai, neutral, porn, sexy)',
  };
}

/**
 * Wrap a loaded model (either engine) that outputs the map layer and MID_LAYER.
 * `nchw`: the model takes NCHW input and returns CHW maps (ONNX); else NHWC / HWC (tfjs).
 */
export function mobilenetRunner(
  model: LoadedModel,
  engine: MobilenetEngine,
  batchSize = ONNX_BATCH,
  layer: MapLayer = MAP_LAYER,
  fit: MapFit = MAP_FIT,
): MobilenetRunner {
  const m = objectManifest(engine, layer, fit);
  const outputs = layer === MID_LAYER ? [layer] : [layer, MID_LAYER];
  const nchw = engine === 'onnx';
  const shape = MAP_LAYERS[layer];
  const mapSize = shape[0] * shape[1] * shape[2];
  return {
    engine,
    mapLayer: layer,
    mapShape: shape,
    fit,
    async run(frames) {
      const n = frames.length;
      const map = new Float32Array(n * mapSize);
      const mid = new Float32Array(n * MID_DIM);
      for (let i = 0; i < n; i += batchSize) {
        const part = frames.slice(i, i + batchSize);
        const x = framesToTensor(part, m.input);
        const r = await model.run({ [m.input.name]: x }, outputs);
        const y = r[layer].data;
        const z = r[MID_LAYER].data;
        const midHW = z.length / part.length / MID_DIM;
        for (let j = 0; j < part.length; j++) {
          const o = (i + j) * mapSize;
          const src = y.subarray(j * mapSize, (j + 1) * mapSize);
          if (nchw) chwToHwc(src, shape[2], shape[0], shape[1], map, o);
          else map.set(src, o);
          // global average pool of the mid layer
          const zb = j * MID_DIM * midHW;
          const mo = (i + j) * MID_DIM;
          for (let p = 0; p < midHW; p++) {
            for (let ch = 0; ch < MID_DIM; ch++) {
              mid[mo + ch] += nchw ? z[zb + ch * midHW + p] : z[zb + p * MID_DIM + ch];
            }
          }
          for (let ch = 0; ch < MID_DIM; ch++) mid[mo + ch] /= midHW;
        }
      }
      return { map, mid };
    },
    dispose: () => model.dispose(),
  };
}

export interface MobilenetOptions extends ConvertedModelOptions {
  /** object map layer (default MAP_LAYER, block_10_expand_relu) */
  mapLayer?: MapLayer;
  /** how frames meet the square input (default stretch: the whole frame) */
  fit?: MapFit;
}

/** sha256 over the nsfwjs bundle files (model + shards) and the converter version. */
function sourceKey(modelPath: string): string {
  const h = createHash('sha256');
  h.update(`keras2onnx v${CONVERTER_VERSION}\n`);
  const dir = dirname(modelPath);
  for (const f of readdirSync(dir).sort()) h.update(readFileSync(join(dir, f)));
  return h.digest('hex').slice(0, 16);
}

/**
 * The nsfwjs MobileNetV2 (outputs `out_relu`, `block_13_expand_relu`, `block_10_expand_relu`) as
 * ONNX: converted on first use, cached as `<cache>/converted/nsfwjs-mobilenet_v2-<version>-<key>.onnx`;
 * an unwritable cache only costs a conversion per process.
 */
export async function convertedMobilenetBytes(
  cacheDir?: string,
  layers: string[] = [...Object.keys(MAP_LAYERS), MID_LAYER],
): Promise<{ bytes: Uint8Array; file: string | null }> {
  const src = nsfwMobilenetPath();
  // only the layers asked for are converted: a map from block 10 skips blocks 11-16 entirely
  const outputs = [...new Set(layers)].sort();
  const all = [...new Set([...Object.keys(MAP_LAYERS), MID_LAYER])].sort();
  const tag = outputs.join() === all.join() ? '' : `-${outputs.join('+')}`;
  const name = `nsfwjs-mobilenet_v2-${nsfwjsVersion()}-${sourceKey(src)}${tag}.onnx`;
  return cachedConversion(convertedPath(name, cacheDir), async () => {
    const graph = kerasToOnnx(await kerasSourceFromTfjs(src), outputs, 'nsfwjs_mobilenet_v2');
    graph.doc = `converted by dfan keras2onnx v${CONVERTER_VERSION} from nsfwjs ${nsfwjsVersion()} (MIT) mobilenet_v2`;
    return writeOnnx(graph);
  });
}

export async function loadMobilenet(opts: MobilenetOptions = {}): Promise<MobilenetRunner> {
  return onnxOrTfjs(
    'the nsfwjs MobileNetV2',
    opts.engine,
    async () => {
      const { bytes } = await convertedMobilenetBytes(opts.cacheDir, [opts.mapLayer ?? MAP_LAYER, MID_LAYER]);
      const { loadOnnx } = await import('../onnx.js');
      const model = await loadOnnx(bytes, { threads: opts.threads });
      return mobilenetRunner(model, 'onnx', opts.batchSize, opts.mapLayer, opts.fit);
    },
    async () => {
      const { loadTfjs } = await import('../tfjs.js');
      const model = await loadTfjs(nsfwMobilenetPath());
      return mobilenetRunner(model, 'tfjs', opts.batchSize ?? 16, opts.mapLayer, opts.fit);
    },
  );
}
