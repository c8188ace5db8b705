/**
 * Inference engines share one shape: load a weights file, run a batch, dispose. The registry maps
 * an engine name (a manifest's `engine`) to a lazy factory, so onnxruntime / tfjs / tflite are
 * imported only when a backbone needs them. Other modules add engines with `registerEngine`.
 */
import { DfanError } from '../errors.js';
import type { Frame } from '../video/types.js';

/** A dense float tensor (row-major). */
export interface EngineTensor {
  data: Float32Array;
  shape: number[];
}

/**
 * Items per onnxruntime run when the caller does not say: one. Batching buys nothing on these
 * CPU models and costs memory traffic: measured 2026-12-04 (2 threads), CenterNet's backbone at
 * 512² took 20 ms/frame one frame at a time against 27 ms in batches of 8 with onnxruntime's
 * arena (peak RSS 158 vs 603 MB) and 73–86 ms in batches of 2–8 without it (~6,900 freshly
 * faulted pages and 51–58 ms of kernel time per frame); nsfwjs's MobileNetV2 to block 10 3.0 vs
 * 3.1 / 21 ms, MoveNet 5.5 vs 5.4 / 16 ms (`npm run bench -- extract` for the whole pack).
 */
export const ONNX_BATCH = 1;

export interface EngineOptions {
  /** threads for one inference (onnxruntime intra-op; default 2 = this machine's cores) */
  threads?: number;
}

/** Options of a model dfan converts to ONNX at first use, with its tfjs-wasm original as the fallback. */
export interface ConvertedModelOptions extends EngineOptions {
  /** 'auto' (default) = the ONNX conversion, tfjs-wasm if it fails; 'onnx' makes a failure an error */
  engine?: 'auto' | 'onnx' | 'tfjs';
  /** where the converted ONNX file is cached (default: the dfan cache, src/backbones/cache.ts) */
  cacheDir?: string;
  /** frames per inference call */
  batchSize?: number;
}

/** A loaded model: feed named inputs, get the named outputs. */
export interface LoadedModel {
  readonly engine: string;
  readonly path: string;
  readonly inputNames: string[];
  readonly outputNames: string[];
  run(feeds: Record<string, EngineTensor>, outputs: string[]): Promise<Record<string, EngineTensor>>;
  dispose(): Promise<void>;
}

export interface Engine {
  readonly name: string;
  load(weightsPath: string, opts?: EngineOptions): Promise<LoadedModel>;
}

const factories = new Map<string, () => Promise<Engine>>();
const loaded = new Map<string, Promise<Engine>>();

/** Register (or replace) an engine; the factory runs once, on first use. */
export function registerEngine(name: string, factory: () => Promise<Engine>): void {
  factories.set(name, factory);
  loaded.delete(name);
}

export function engineNames(): string[] {
  return [...factories.keys()];
}

export async function getEngine(name: string): Promise<Engine> {
  let p = loaded.get(name);
  if (!p) {
    const f = factories.get(name);
    if (!f) {
      throw new DfanError('BAD_MANIFEST', `unknown inference engine "${name}"`, {
        hint: `known engines: ${engineNames().join(', ')}`,
      });
    }
    p = f();
    loaded.set(name, p);
  }
  return p;
}

registerEngine('onnx', async () => (await import('./onnx.js')).onnxEngine);
registerEngine('tfjs', async () => (await import('./tfjs.js')).tfjsEngine);
// stateless .tflite models (one call per item); the addon loads only when a model does
registerEngine('tflite', async () => (await import('./tflite.js')).tfliteEngine);

/**
 * The one shape of the default pack's models: frames in (any size; each model fits them to its
 * input), one result out, on the engine it was loaded on.
 */
export interface FrameRunner<Out> {
  readonly engine: 'onnx' | 'tfjs';
  run(frames: Frame[]): Promise<Out>;
  dispose(): Promise<void>;
}

/** A pipeline that takes one frame per call (e.g. human's tfjs-wasm originals) as a FrameRunner. */
export function perFrameRunner<T>(fn: (frame: Frame) => Promise<T>): FrameRunner<T[]> {
  return {
    engine: 'tfjs',
    async run(frames) {
      const out: T[] = [];
      for (const f of frames) out.push(await fn(f));
      return out;
    },
    async dispose() {},
  };
}

/**
 * A runner converted to ONNX when that works (engine 'auto', the default), else the tfjs-wasm
 * original with a warning; 'onnx' makes a failed conversion an error, 'tfjs' skips it.
 */
export async function onnxOrTfjs<T>(
  what: string,
  engine: 'auto' | 'onnx' | 'tfjs' | undefined,
  onnx: () => Promise<T>,
  tfjs: () => T | Promise<T>,
): Promise<T> {
  if ((engine ?? 'auto') !== 'tfjs') {
    try {
      return await onnx();
    } catch (e) {
      if (engine === 'onnx') throw e;
      process.stderr.write(
        `dfan: warning: ONNX conversion of ${what} failed (${(e as Error).message}); using tfjs-wasm (slower)\n`,
      );
    }
  }
  return tfjs();
}
