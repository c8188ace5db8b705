/**
 * TFLite engine on the optional npm package `tfjs-tflite-node` (0.0.2). We talk to its compiled
 * addon (`build/Release/node_tflite_binding.node`) directly: its JS wrapper converts every
 * tensor through @tensorflow/tfjs-core, which costs a copy and a heavy import per call for
 * nothing. The addon's API (read from its dist/ and binding/ sources):
 *   new Interpreter(modelBytes: ArrayBuffer, { threads })
 *   .getInputs() / .getOutputs() → TensorInfo[] { id, name, shape: "1,172,172,3", dataType, data() }
 *   .infer() → boolean (synchronous; inputs are copied in, outputs copied out, by the addon)
 * `data()` returns the same typed array on every call: we write inputs into it and read outputs
 * from it. One interpreter per model; calls are not re-entrant.
 *
 * The addon keeps one static class reference, so all interpreters must live in ONE JS thread
 * (never load it in the main thread and in a worker at once).
 */

import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { DfanError } from '../errors.js';
import type { Engine, EngineTensor, LoadedModel } from './engine.js';

type TypedArray =
  | Float32Array
  | Int32Array
  | Uint8Array
  | Int8Array
  | Int16Array
  | Float64Array
  | Uint32Array;

interface AddonTensorInfo {
  readonly id: number;
  readonly name: string;
  readonly shape: string;
  readonly dataType: string;
  data(): TypedArray;
}
interface AddonInterpreter {
  getInputs(): AddonTensorInfo[];
  getOutputs(): AddonTensorInfo[];
  infer(): boolean;
}
interface Addon {
  Interpreter: new (model: ArrayBuffer, options: { threads?: number }) => AddonInterpreter;
}

export interface TfliteTensorInfo {
  index: number;
  name: string;
  shape: number[];
  dtype: string;
}

/** A loaded .tflite model. `input(i)`/`output(i)` are live buffers: write, `run()`, read. */
export interface TfliteModel {
  readonly path: string;
  readonly inputs: TfliteTensorInfo[];
  readonly outputs: TfliteTensorInfo[];
  input(i: number): TypedArray;
  output(i: number): TypedArray;
  /** synchronous inference; throws DfanError on failure */
  run(): void;
  dispose(): void;
}

export const TFLITE_PACKAGE = 'tfjs-tflite-node';
const HINT =
  'install it with `npm install tfjs-tflite-node@0.0.2`, which compiles a small addon and needs a C++ toolchain; ' +
  'or use the default pack, which needs no TFLite';

let addon: Addon | null = null;
let addonError: string | null = null;

function unavailable(reason: string): DfanError {
  return new DfanError('MODEL_MISSING', `the TFLite engine cannot load (${TFLITE_PACKAGE}): ${reason}`, {
    hint: HINT,
  });
}

/**
 * Load the compiled addon once; throws a DfanError that says what to do when it is missing.
 * DFAN_NO_TFLITE=1 simulates a machine without the optional engine (tests, support).
 */
export function loadTfliteAddon(): Addon {
  if (process.env.DFAN_NO_TFLITE === '1') throw unavailable('disabled by DFAN_NO_TFLITE=1');
  if (addon) return addon;
  if (addonError === null) {
    try {
      const req = createRequire(import.meta.url);
      const dir = dirname(req.resolve(`${TFLITE_PACKAGE}/package.json`));
      const mod = req(join(dir, 'build', 'Release', 'node_tflite_binding.node')) as Addon;
      if (typeof mod.Interpreter !== 'function') throw new Error('the addon exports no Interpreter');
      addon = mod;
      return addon;
    } catch (e) {
      addonError = e instanceof Error ? (e.message.split('\n')[0] ?? e.message) : String(e);
    }
  }
  throw unavailable(addonError);
}

/** true when the TFLite engine can be used here; otherwise the reason. */
export function tfliteStatus(): { ok: true } | { ok: false; reason: string } {
  try {
    loadTfliteAddon();
    return { ok: true };
  } catch (e) {
    return { ok: false, reason: e instanceof DfanError ? e.oneLine() : String(e) };
  }
}

function info(t: AddonTensorInfo, index: number): TfliteTensorInfo {
  return {
    index,
    name: t.name,
    shape: t.shape === '' ? [] : t.shape.split(',').map(Number),
    dtype: t.dataType,
  };
}

/** Load a .tflite file. `threads` defaults to 2 (this machine's core count). */
export async function loadTflite(path: string, opts: { threads?: number } = {}): Promise<TfliteModel> {
  const { Interpreter } = loadTfliteAddon();
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new DfanError('MODEL_MISSING', 'cannot read the TFLite model', {
      file: path,
      hint: 'install the pack that holds it (`dfan pack install`) or check the path',
      cause: e,
    });
  }
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  let interp: AddonInterpreter | null;
  try {
    interp = new Interpreter(ab, { threads: opts.threads ?? 2 });
  } catch (e) {
    throw new DfanError('BAD_MANIFEST', `not a valid TFLite model: ${(e as Error).message}`, {
      file: path,
      hint: 'reinstall the pack and run `dfan pack verify`',
      cause: e,
    });
  }
  const ins = interp.getInputs();
  const outs = interp.getOutputs();
  const inBufs = ins.map((t) => t.data());
  const outBufs = outs.map((t) => t.data());
  return {
    path,
    inputs: ins.map(info),
    outputs: outs.map(info),
    input: (i) => inBufs[i],
    output: (i) => outBufs[i],
    run() {
      if (!interp) throw new DfanError('INTERNAL', 'TFLite model used after dispose', { file: path });
      let ok: boolean;
      try {
        ok = interp.infer();
      } catch (e) {
        throw new DfanError('INTERNAL', `TFLite inference failed: ${(e as Error).message}`, {
          file: path,
          cause: e,
        });
      }
      if (!ok) throw new DfanError('INTERNAL', 'TFLite inference failed', { file: path });
    },
    dispose() {
      // the addon frees the interpreter when it is garbage-collected; drop our references
      interp = null;
    },
  };
}

function findTensor(list: TfliteTensorInfo[], name: string): TfliteTensorInfo | undefined {
  // TFLite exports often prefix signature names ("serving_default_x:0")
  return (
    list.find((t) => t.name === name) ??
    list.find((t) => t.name === `serving_default_${name}:0`) ??
    (list.length === 1 ? list[0] : undefined)
  );
}

/**
 * The generic engine (src/backbones/engine.ts) over a stateless .tflite model. TFLite models
 * have a fixed batch (usually 1): a feed holding N items runs N calls and the outputs are
 * concatenated. Stateful models (MoViNet) are driven by their own code (research/movinet.ts).
 */
export async function loadTfliteEngineModel(
  weightsPath: string,
  opts: { threads?: number } = {},
): Promise<LoadedModel> {
  const m = await loadTflite(weightsPath, opts);
  return {
    engine: 'tflite',
    path: weightsPath,
    inputNames: m.inputs.map((t) => t.name),
    outputNames: m.outputs.map((t) => t.name),
    async run(feeds, outputs) {
      const plan = Object.entries(feeds).map(([name, x]) => {
        const t = findTensor(m.inputs, name);
        if (!t)
          throw new DfanError('BAD_MANIFEST', `TFLite model has no input "${name}"`, { file: weightsPath });
        const per = m.input(t.index).length;
        if (x.data.length % per !== 0)
          throw new DfanError(
            'BAD_MANIFEST',
            `input "${name}" holds ${x.data.length} values, not a multiple of ${per}`,
            {
              file: weightsPath,
            },
          );
        return { t, x, per, n: x.data.length / per };
      });
      const n = plan[0]?.n ?? 1;
      if (plan.some((p) => p.n !== n))
        throw new DfanError('BAD_MANIFEST', 'TFLite inputs disagree on the batch size', {
          file: weightsPath,
        });
      const outs = outputs.map((name) => {
        const t = findTensor(m.outputs, name);
        if (!t)
          throw new DfanError('BAD_MANIFEST', `TFLite model has no output "${name}"`, { file: weightsPath });
        const per = m.output(t.index).length;
        return { name, t, per, data: new Float32Array(n * per) };
      });
      for (let i = 0; i < n; i++) {
        for (const p of plan)
          (m.input(p.t.index) as Float32Array).set(p.x.data.subarray(i * p.per, (i + 1) * p.per));
        m.run();
        for (const o of outs) o.data.set(m.output(o.t.index) as Float32Array, i * o.per);
      }
      const r: Record<string, EngineTensor> = {};
      for (const o of outs) {
        const shape =
          o.t.shape.length > 0 && o.t.shape[0] === 1 ? [n, ...o.t.shape.slice(1)] : [n, ...o.t.shape];
        r[o.name] = { data: o.data, shape };
      }
      return r;
    },
    async dispose() {
      m.dispose();
    },
  };
}

export const tfliteEngine: Engine = {
  name: 'tflite',
  load: (weightsPath, opts) => loadTfliteEngineModel(weightsPath, opts),
};

/**
 * Default TFLite thread count: DFAN_TFLITE_THREADS when set; else 2 on an idle machine with ≥ 2
 * cores, 1 when the 1-minute load average says the cores are already busy. TFLite's pool spins,
 * so 2 threads on oversubscribed cores run 4–6× slower than 1 (measured on this 2-core machine).
 */
export function defaultTfliteThreads(): number {
  const env = Number(process.env.DFAN_TFLITE_THREADS);
  if (Number.isInteger(env) && env > 0) return env;
  const cores = availableParallelism();
  if (cores < 2) return 1;
  return loadavg()[0] < cores - 0.5 ? 2 : 1;
}
