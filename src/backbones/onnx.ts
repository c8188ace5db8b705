/**
 * ONNX engine on onnxruntime-node (CPU). `threads` sets intra-op threads (default 2, this
 * machine's cores; use 1 per worker when several workers run side by side). `run` blocks the JS
 * thread while onnxruntime computes (measured: no timer fires during a run), so work meant to
 * overlap inference must live in another thread or process (decoding does: src/video/decode.ts).
 * The CPU memory arena is on (DFAN_ORT_ARENA=0 turns it off); runners feed one frame per run
 * (ONNX_BATCH in engine.ts).
 */
import { DfanError } from '../errors.js';
import type { Engine, EngineOptions, EngineTensor, LoadedModel } from './engine.js';

type Ort = typeof import('onnxruntime-node');
let ortPromise: Promise<Ort> | undefined;

function ort(): Promise<Ort> {
  ortPromise ??= import('onnxruntime-node');
  return ortPromise;
}

/** Load from a file path or from bytes (e.g. a model converted in memory). */
export async function loadOnnx(source: string | Uint8Array, opts: EngineOptions = {}): Promise<LoadedModel> {
  const o = await ort();
  const sessionOptions = {
    intraOpNumThreads: opts.threads ?? 2,
    interOpNumThreads: 1,
    executionMode: 'sequential' as const,
    graphOptimizationLevel: 'all' as const,
    // the CPU arena reuses activation buffers from run to run. Without it every large activation
    // is allocated afresh and its pages faulted in again on each run (CenterNet 512²: ~1,000
    // page faults per frame one frame at a time, ~6,900 in batches; 3–4× the time). It keeps the
    // peak of one run for the process lifetime, which is small at one frame per run (ONNX_BATCH).
    enableCpuMemArena: process.env.DFAN_ORT_ARENA !== '0',
    // idle intra-op threads sleep instead of spinning: a spinning pool that shares the 2 cores
    // with ffmpeg or another job costs CPU and time (BlazeFace, 2 threads on a busy machine:
    // 28–31 CPU ms/frame spinning, 16–18 not; 1 thread 15–20). DFAN_ORT_SPIN=1 restores spinning.
    extra: { session: { intra_op: { allow_spinning: process.env.DFAN_ORT_SPIN === '1' ? '1' : '0' } } },
  };
  const path = typeof source === 'string' ? source : '<memory>';
  let session: Awaited<ReturnType<Ort['InferenceSession']['create']>>;
  try {
    session =
      typeof source === 'string'
        ? await o.InferenceSession.create(source, sessionOptions)
        : await o.InferenceSession.create(source, sessionOptions);
  } catch (e) {
    throw new DfanError(
      'BAD_MANIFEST',
      `onnxruntime cannot load the model: ${(e as Error).message.split('\n')[0]}`,
      {
        file: path,
        hint: 'is it an ONNX file? check the manifest\'s "weights"',
        cause: e,
      },
    );
  }
  return {
    engine: 'onnx',
    path,
    inputNames: [...session.inputNames],
    outputNames: [...session.outputNames],
    async run(feeds: Record<string, EngineTensor>, outputs: string[]): Promise<Record<string, EngineTensor>> {
      const f: Record<string, InstanceType<Ort['Tensor']>> = {};
      for (const [k, v] of Object.entries(feeds)) f[k] = new o.Tensor('float32', v.data, v.shape);
      for (const name of outputs) {
        if (!session.outputNames.includes(name)) {
          throw new DfanError(
            'BAD_MANIFEST',
            `model has no output "${name}" (outputs: ${session.outputNames.join(', ')})`,
            {
              file: path,
            },
          );
        }
      }
      const r = await session.run(f, outputs);
      const out: Record<string, EngineTensor> = {};
      for (const name of outputs) {
        const t = r[name];
        out[name] = { data: t.data as Float32Array, shape: t.dims.map(Number) };
      }
      return out;
    },
    async dispose() {
      await session.release();
    },
  };
}

export const onnxEngine: Engine = {
  name: 'onnx',
  load: (weightsPath: string, opts?: EngineOptions) => loadOnnx(weightsPath, opts),
};
