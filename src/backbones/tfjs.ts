/**
 * tfjs engine on the wasm backend, for the tfjs models that npm packages ship.
 *
 * - The wasm backend is initialised once per process (`initTfjs`). It runs single-threaded in
 *   Node: tfjs-backend-wasm 4.22 hard-codes WASM_HAS_MULTITHREAD_SUPPORT = false when IS_NODE
 *   (tfjs issue #3830), so `setThreadsCount` has no effect; use worker processes for parallelism.
 * - Weights: a tfjs `model.json` (+ its .bin shards beside it), graph or layers format, read from
 *   disk (no fetch); or an nsfwjs bundle `model.min.js`: nsfwjs ships each model as UMD scripts,
 *   `model.min.js` exporting the model.json object and `group1-shardXofY.min.js` exporting that
 *   shard's bytes as base64. nsfwjs `import()`s them and feeds them to tfjs through an in-memory
 *   IOHandler; we `require` the same files and do the same.
 * - Outputs: a layers model can expose any layer by name (e.g. `out_relu`); a graph model any
 *   node name.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { DfanError } from '../errors.js';
import type { Engine, EngineOptions, EngineTensor, LoadedModel } from './engine.js';

type Tf = typeof import('@tensorflow/tfjs');
type LayersModel = import('@tensorflow/tfjs').LayersModel;
type GraphModel = import('@tensorflow/tfjs').GraphModel;
type ModelArtifacts = import('@tensorflow/tfjs').io.ModelArtifacts;

const require = createRequire(import.meta.url);
let tfPromise: Promise<Tf> | undefined;

/** The process-wide tfjs instance on the wasm backend (initialised on first call). */
export function initTfjs(): Promise<Tf> {
  tfPromise ??= (async () => {
    // CommonJS builds: @vladmandic/human's node-wasm build `require`s the same tfjs-core, so
    // tensors and the backend are shared.
    const tf = require('@tensorflow/tfjs') as Tf;
    require('@tensorflow/tfjs-backend-wasm');
    if (tf.getBackend() !== 'wasm') {
      const ok = await tf.setBackend('wasm');
      if (!ok) throw new DfanError('INTERNAL', 'tfjs: the wasm backend failed to initialise');
    }
    await tf.ready();
    tf.env().set('DEBUG', false);
    return tf;
  })();
  return tfPromise;
}

/** Model artifacts (topology + weights) from a model.json or an nsfwjs `model.min.js` bundle. */
export async function readTfjsArtifacts(path: string): Promise<ModelArtifacts> {
  let json: {
    modelTopology: unknown;
    weightsManifest: { paths: string[]; weights: unknown[] }[];
    format?: string;
    signature?: unknown;
  };
  let shards: Buffer[];
  try {
    if (path.endsWith('.min.js')) {
      json = require(path);
      const dir = dirname(path);
      const files = readdirSync(dir);
      shards = json.weightsManifest.flatMap((g) =>
        g.paths.map((p) => {
          const f = files.find((x) => x === `${basename(p)}.min.js`);
          if (!f) throw new Error(`weight bundle ${basename(p)}.min.js is missing`);
          return Buffer.from(require(join(dir, f)) as string, 'base64');
        }),
      );
    } else {
      json = JSON.parse(await readFile(path, 'utf8'));
      const dir = dirname(path);
      shards = json.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(join(dir, p))));
    }
  } catch (e) {
    throw new DfanError('MODEL_MISSING', `cannot read tfjs model: ${(e as Error).message}`, {
      file: path,
      hint: 'a tfjs model is a model.json with its .bin shards beside it (or an nsfwjs model.min.js bundle)',
      cause: e,
    });
  }
  const all = Buffer.concat(shards);
  return {
    modelTopology: json.modelTopology as ModelArtifacts['modelTopology'],
    weightSpecs: json.weightsManifest.flatMap((g) => g.weights) as ModelArtifacts['weightSpecs'],
    weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
    format: json.format,
    signature: json.signature as ModelArtifacts['signature'],
  };
}

function isLayers(a: ModelArtifacts): boolean {
  if (a.format === 'layers-model') return true;
  if (a.format === 'graph-model') return false;
  const t = a.modelTopology as Record<string, unknown> | undefined;
  return !!t && ('model_config' in t || 'class_name' in t);
}

/** Load a tfjs LayersModel (e.g. for the converter, which reads its layer weights). */
export async function loadLayersModel(path: string): Promise<LayersModel> {
  const tf = await initTfjs();
  const a = await readTfjsArtifacts(path);
  return tf.loadLayersModel({ load: async () => a });
}

export async function loadGraphModel(path: string): Promise<GraphModel> {
  const tf = await initTfjs();
  const a = await readTfjsArtifacts(path);
  return tf.loadGraphModel({ load: async () => a });
}

/** Load either format behind the engine interface (inputs NHWC float32, or int32 if the graph wants it). */
export async function loadTfjs(path: string): Promise<LoadedModel> {
  const tf = await initTfjs();
  const a = await readTfjsArtifacts(path);
  if (isLayers(a)) {
    const m = await tf.loadLayersModel({ load: async () => a });
    const subModels = new Map<string, LayersModel>();
    const sub = (outputs: string[]): LayersModel => {
      const key = outputs.join('|');
      let s = subModels.get(key);
      if (!s) {
        const outs = outputs.map((n) => {
          try {
            return m.getLayer(n).output as import('@tensorflow/tfjs').SymbolicTensor;
          } catch {
            throw new DfanError('BAD_MANIFEST', `tfjs model has no layer "${n}"`, { file: path });
          }
        });
        s = tf.model({ inputs: m.inputs, outputs: outs });
        subModels.set(key, s);
      }
      return s;
    };
    return {
      engine: 'tfjs',
      path,
      inputNames: m.inputNames,
      outputNames: m.layers.map((l) => l.name),
      async run(feeds, outputs) {
        const x = Object.values(feeds)[0];
        const model = sub(outputs);
        const res = tf.tidy(() => {
          const y = model.predict(tf.tensor(x.data, x.shape, 'float32'));
          return Array.isArray(y) ? y : [y];
        });
        return collect(res, outputs);
      },
      async dispose() {
        m.dispose();
      },
    };
  }
  const g = await tf.loadGraphModel({ load: async () => a });
  const inDtype = g.inputs[0]?.dtype ?? 'float32';
  return {
    engine: 'tfjs',
    path,
    inputNames: g.inputs.map((i) => i.name),
    outputNames: g.outputs.map((o) => o.name),
    async run(feeds, outputs) {
      const inputs: Record<string, import('@tensorflow/tfjs').Tensor> = {};
      for (const [k, v] of Object.entries(feeds)) {
        inputs[k] =
          inDtype === 'int32'
            ? tf.tensor(Int32Array.from(v.data, Math.round), v.shape, 'int32')
            : tf.tensor(v.data, v.shape);
      }
      let res: import('@tensorflow/tfjs').Tensor[];
      try {
        const y = g.execute(inputs, outputs);
        res = Array.isArray(y) ? y : [y];
      } finally {
        for (const t of Object.values(inputs)) t.dispose();
      }
      return collect(res, outputs);
    },
    async dispose() {
      g.dispose();
    },
  };
}

async function collect(
  res: import('@tensorflow/tfjs').Tensor[],
  names: string[],
): Promise<Record<string, EngineTensor>> {
  const out: Record<string, EngineTensor> = {};
  try {
    for (let i = 0; i < names.length; i++) {
      const t = res[i];
      out[names[i]] = { data: (await t.data()) as Float32Array, shape: t.shape };
    }
  } finally {
    for (const t of res) t.dispose();
  }
  return out;
}

export const tfjsEngine: Engine = {
  name: 'tfjs',
  load: (weightsPath: string, _opts?: EngineOptions) => loadTfjs(weightsPath),
};
