/**
 * The training backend: tfjs on WebAssembly, with the transposed matrix products rewritten.
 *
 * Why: the wasm backend's BatchMatMul/_FusedMatMul with transposeA or transposeB set runs a slow
 * generic loop (5–40× slower than the XNNPACK path here), and every backward pass of a dense layer
 * needs exactly those products (dW = Xᵀ·dY, dX = dY·Wᵀ). The replacement kernels transpose the
 * operand once (a cheap memory pass) and then call the original kernel on the fast path.
 *
 * Threads: the threaded wasm build is not usable in Node with tfjs 4.22 — the flag
 * WASM_HAS_MULTITHREAD_SUPPORT is hard-wired to false for Node, and forcing it fails because the
 * pthread worker is created from a `blob:` URL that node's Worker refuses (ERR_WORKER_PATH).
 * So training runs single-threaded SIMD wasm.
 */
import type * as TF from '@tensorflow/tfjs';

export type Tf = typeof TF;

let tfPromise: Promise<Tf> | null = null;
let patched = false;

/** tfjs on the wasm backend, initialised once per process; `fastMatMul` installs the replacement kernels. */
export async function loadTf(opts: { fastMatMul?: boolean } = {}): Promise<Tf> {
  if (!tfPromise) {
    tfPromise = (async () => {
      const tf = await import('@tensorflow/tfjs');
      await import('@tensorflow/tfjs-backend-wasm');
      // silence the "install tfjs-node" banner: it cannot install here and wasm is our choice
      tf.env().set('IS_NODE', true);
      const ok = await tf.setBackend('wasm');
      if (!ok) throw new Error('tfjs wasm backend failed to initialise');
      await tf.ready();
      return tf;
    })();
  }
  const tf = await tfPromise;
  setFastMatMul(tf, opts.fastMatMul ?? true);
  return tf;
}

interface KernelArgs {
  inputs: Record<string, TF.TensorInfo | undefined>;
  backend: unknown;
  attrs?: Record<string, unknown>;
}
type KernelFn = (args: KernelArgs) => TF.TensorInfo;
interface Backend {
  disposeData(dataId: object): void;
}

const originals = new Map<string, KernelFn>();

/** Install (on = true) or remove (on = false) the transpose-first matmul kernels on the wasm backend. */
export function setFastMatMul(tf: Tf, on: boolean): void {
  if (on === patched) return;
  const transpose = tf.getKernel('Transpose', 'wasm')?.kernelFunc as unknown as KernelFn | undefined;
  if (!transpose) throw new Error('wasm Transpose kernel missing');
  for (const name of ['BatchMatMul', '_FusedMatMul']) {
    const current = tf.getKernel(name, 'wasm');
    if (!current) throw new Error(`wasm ${name} kernel missing`);
    if (!originals.has(name)) originals.set(name, current.kernelFunc as unknown as KernelFn);
    const original = originals.get(name)!;
    const kernelFunc: KernelFn = on
      ? (args) => {
          const attrs = args.attrs ?? {};
          if (!attrs.transposeA && !attrs.transposeB) return original(args);
          const backend = args.backend as Backend;
          const temps: TF.TensorInfo[] = [];
          const swapLast = (x: TF.TensorInfo): TF.TensorInfo => {
            const r = x.shape.length;
            const perm = [...Array(r).keys()];
            [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
            const t = transpose({ inputs: { x }, backend: args.backend, attrs: { perm } });
            temps.push(t);
            return t;
          };
          const inputs = { ...args.inputs };
          if (attrs.transposeA) inputs.a = swapLast(inputs.a!);
          if (attrs.transposeB) inputs.b = swapLast(inputs.b!);
          const out = original({
            inputs,
            backend: args.backend,
            attrs: { ...attrs, transposeA: false, transposeB: false },
          });
          for (const t of temps) backend.disposeData(t.dataId);
          return out;
        }
      : original;
    tf.unregisterKernel(name, 'wasm');
    // setupFunc already ran when the backend initialised; the original kernels keep their bindings
    tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: kernelFunc as never });
  }
  patched = on;
}

export function fastMatMulEnabled(): boolean {
  return patched;
}
