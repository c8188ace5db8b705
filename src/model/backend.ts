/**
 * The training backend: tfjs on WebAssembly, with three slow kernels replaced.
 *
 * Why: on the wasm backend
 * - BatchMatMul/_FusedMatMul with transposeA or transposeB set run a slow generic loop (5–40×
 *   slower than the XNNPACK path here), and every backward pass of a dense layer needs exactly
 *   those products (dW = Xᵀ·dY, dX = dY·Wᵀ). The replacements move data once and then call the
 *   original kernel on the fast path. For a plain BatchMatMul they pick the cheaper of two
 *   identities, C = op(A)·op(B) or C = (op(B)ᵀ·op(A)ᵀ)ᵀ, counting the elements each must
 *   physically transpose (a matrix with a unit dimension transposes for free: same memory).
 *   For dW = Xᵀ·dY with X the [B·T·N, D] object cells this moves dY instead of the larger X.
 * - Tanh is a scalar libm loop (about 15× slower than Sigmoid, which XNNPACK vectorises). The
 *   replacement computes tanh(x) = 2·σ(2x) − 1 with the Sigmoid, Multiply and Sub kernels; the
 *   absolute error is a few float32 ulps. The gradient is tfjs's own (dy·(1 − y²)), unchanged.
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

/** tfjs on the wasm backend, initialised once per process; `fastKernels` installs the replacement kernels. */
export async function loadTf(opts: { fastKernels?: boolean } = {}): Promise<Tf> {
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
  setFastKernels(tf, opts.fastKernels ?? true);
  return tf;
}

/**
 * tf.tidy for a computation whose result is plain data (typed arrays, numbers). tf.tidy walks
 * whatever its callback returns looking for tensors, element by element for a typed array: ≈ 0.1 s
 * for one video's reduced map. Here the callback returns nothing and the value is passed out.
 */
export function tidyValue<T>(tf: Tf, fn: () => T): T {
  let out: T | undefined;
  tf.tidy(() => {
    out = fn();
  });
  return out as T;
}

interface KernelArgs {
  inputs: Record<string, TF.TensorInfo | undefined>;
  backend: unknown;
  attrs?: Record<string, unknown>;
}
type KernelFn = (args: KernelArgs) => TF.TensorInfo;
interface WasmBackend {
  disposeData(dataId: object): void;
  incRef(dataId: object): void;
  makeOutput(shape: number[], dtype: TF.DataType): TF.TensorInfo;
  typedArrayFromHeap(t: TF.TensorInfo): Float32Array;
}

const REPLACED = ['BatchMatMul', '_FusedMatMul', 'Tanh', 'Identity'] as const;
type Replaced = (typeof REPLACED)[number];
const originals = new Map<string, KernelFn>();

function kernel(tf: Tf, name: string): KernelFn {
  const k = tf.getKernel(name, 'wasm');
  if (!k) throw new Error(`wasm ${name} kernel missing`);
  return k.kernelFunc as unknown as KernelFn;
}

/** Install (on = true) or remove (on = false) the replacement kernels on the wasm backend. */
export function setFastKernels(tf: Tf, on: boolean): void {
  if (on === patched) return;
  for (const name of REPLACED) if (!originals.has(name)) originals.set(name, kernel(tf, name));
  const ops = {
    reshape: kernel(tf, 'Reshape'),
    sigmoid: kernel(tf, 'Sigmoid'),
    multiply: kernel(tf, 'Multiply'),
    sub: kernel(tf, 'Sub'),
  };
  const replacement: Record<Replaced, KernelFn> = {
    BatchMatMul: matMulKernel(originals.get('BatchMatMul')!, ops, true),
    _FusedMatMul: matMulKernel(originals.get('_FusedMatMul')!, ops, false),
    Tanh: tanhKernel(ops),
    Identity: shareIdentity(originals.get('Identity')!),
  };
  for (const name of REPLACED) {
    tf.unregisterKernel(name, 'wasm');
    // setupFunc already ran when the backend initialised; the original kernels keep their bindings
    const kernelFunc = on ? replacement[name] : originals.get(name)!;
    tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: kernelFunc as never });
  }
  patched = on;
}

/** Elements a swap of the last two axes must move: none when either axis is 1 (same memory order). */
function swapCost(shape: number[]): number {
  const r = shape.length;
  if (shape[r - 1] === 1 || shape[r - 2] === 1) return 0;
  return size(shape);
}

function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * XNNPACK packs the right-hand operand B of every product that is not cached (ours never are:
 * batches and gradients are new tensors each step); measured here, packing an element costs a
 * little more than moving it in a transpose.
 */
const PACK_COST = 1.25;
/** a plain copy, relative to moving an element in a transpose */
const COPY_COST = 0.2;

function swappedShape(shape: number[]): number[] {
  const s = [...shape];
  const r = s.length;
  [s[r - 2], s[r - 1]] = [s[r - 1], s[r - 2]];
  return s;
}

/**
 * Swap the last two axes into a new heap tensor in JS, eight source rows at a time (about 3× faster
 * here than the wasm Transpose kernel, which walks the output with a generic index computation).
 */
function swapLastTwo(backend: WasmBackend, x: TF.TensorInfo): TF.TensorInfo {
  const r = x.shape.length;
  const rows = x.shape[r - 2];
  const cols = x.shape[r - 1];
  const out = backend.makeOutput(swappedShape(x.shape), x.dtype);
  // views after the allocation: makeOutput may grow (and so move) the heap
  const src = backend.typedArrayFromHeap(x);
  const dst = backend.typedArrayFromHeap(out);
  const plane = rows * cols;
  const rows8 = rows - (rows % 8);
  for (let base = 0; base < src.length; base += plane) {
    for (let i = 0; i < rows8; i += 8) {
      for (let j = 0; j < cols; j++) {
        const d = base + j * rows + i;
        let k = base + i * cols + j;
        dst[d] = src[k];
        k += cols;
        dst[d + 1] = src[k];
        k += cols;
        dst[d + 2] = src[k];
        k += cols;
        dst[d + 3] = src[k];
        k += cols;
        dst[d + 4] = src[k];
        k += cols;
        dst[d + 5] = src[k];
        k += cols;
        dst[d + 6] = src[k];
        k += cols;
        dst[d + 7] = src[k];
      }
    }
    for (let i = rows8; i < rows; i++) {
      for (let j = 0; j < cols; j++) dst[base + j * rows + i] = src[base + i * cols + j];
    }
  }
  return out;
}

/** A copy of x in a new heap buffer, under `shape` (same element order). */
function copyAs(backend: WasmBackend, x: TF.TensorInfo, shape: number[]): TF.TensorInfo {
  const out = backend.makeOutput(shape, x.dtype);
  backend.typedArrayFromHeap(out).set(backend.typedArrayFromHeap(x));
  return out;
}

/**
 * The right-hand operand of the original kernel must never be an alias of another buffer under
 * a new shape: the wasm kernel caches XNNPACK's packed copy of B by buffer id, so an alias would
 * be multiplied with a stale packing. Such operands are copied (cheap next to packing them).
 */
function matMulKernel(original: KernelFn, ops: { reshape: KernelFn }, mayFlip: boolean): KernelFn {
  return (args) => {
    const attrs = args.attrs ?? {};
    const tA = Boolean(attrs.transposeA);
    const tB = Boolean(attrs.transposeB);
    if (!tA && !tB) return original(args);
    const backend = args.backend as WasmBackend;
    const temps: TF.TensorInfo[] = [];
    const keep = (t: TF.TensorInfo): TF.TensorInfo => {
      temps.push(t);
      return t;
    };
    /** x with its last two axes swapped: a new buffer, or an alias when that is free and x is not B */
    const swap = (x: TF.TensorInfo, asB: boolean): TF.TensorInfo => {
      const shape = swappedShape(x.shape);
      if (swapCost(x.shape) > 0) return keep(swapLastTwo(backend, x));
      if (asB) return keep(copyAs(backend, x, shape));
      return keep(ops.reshape({ inputs: { x }, backend: args.backend, attrs: { shape } }));
    };
    const a = args.inputs.a!;
    const b = args.inputs.b!;
    if (mayFlip && tA && !tB && a.shape.length === 2 && b.shape.length === 2 && b.shape[1] === 1)
      return transposedTimesVector(backend, a, b);
    const plain = { ...attrs, transposeA: false, transposeB: false };
    const ra = a.shape.length;
    const rb = b.shape.length;
    // direct: C = op(A)·op(B): move A if tA and B if tB, pack op(B)
    const direct = (tA ? swapCost(a.shape) : 0) + (tB ? swapCost(b.shape) : 0) + PACK_COST * size(b.shape);
    // flipped: C = (op(B)ᵀ·op(A)ᵀ)ᵀ: move B unless tB, A unless tA (else copy it), then C; pack op(A)ᵀ
    const cShape = [...a.shape.slice(0, -2), a.shape[tA ? ra - 1 : ra - 2], b.shape[tB ? rb - 2 : rb - 1]];
    const flipped =
      (tB ? 0 : swapCost(b.shape)) +
      (tA ? COPY_COST * size(a.shape) : swapCost(a.shape)) +
      swapCost(cShape) +
      PACK_COST * size(a.shape);
    let out: TF.TensorInfo;
    if (mayFlip && ra === rb && flipped < direct) {
      const bT = tA ? keep(copyAs(backend, a, a.shape)) : swap(a, true);
      const ct = keep(
        original({ inputs: { a: tB ? b : swap(b, false), b: bT }, backend: args.backend, attrs: plain }),
      );
      out = swap(ct, false);
      temps.pop(); // out is the result, not a temporary
    } else {
      out = original({
        inputs: { ...args.inputs, a: tA ? swap(a, false) : a, b: tB ? swap(b, true) : b },
        backend: args.backend,
        attrs: plain,
      });
    }
    for (const t of temps) backend.disposeData(t.dataId);
    return out;
  };
}

/**
 * Aᵀ·v for A [K, M] and a column v [K, 1] (the gradient of a score vector, e.g. dw = Hᵀ·dE): one
 * pass over A in row order, instead of transposing A and packing it for a matrix-vector product.
 */
function transposedTimesVector(backend: WasmBackend, a: TF.TensorInfo, v: TF.TensorInfo): TF.TensorInfo {
  const [K, M] = a.shape;
  const out = backend.makeOutput([M, 1], 'float32');
  const A = backend.typedArrayFromHeap(a);
  const x = backend.typedArrayFromHeap(v);
  const acc = new Float64Array(M);
  for (let k = 0; k < K; k++) {
    const xk = x[k];
    if (xk === 0) continue;
    const row = k * M;
    for (let m = 0; m < M; m++) acc[m] += A[row + m] * xk;
  }
  backend.typedArrayFromHeap(out).set(acc);
  return out;
}

/** Identity without the copy: the output shares the input's buffer (reference-counted). */
function shareIdentity(original: KernelFn): KernelFn {
  return (args) => {
    const x = args.inputs.x!;
    if (x.dtype === 'string') return original(args);
    (args.backend as WasmBackend).incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  };
}

/** tanh(x) = 2·σ(2x) − 1 on the vectorised Multiply, Sigmoid and Sub kernels. */
function tanhKernel(ops: { sigmoid: KernelFn; multiply: KernelFn; sub: KernelFn }): KernelFn {
  return (args) => {
    const backend = args.backend as WasmBackend;
    const scalar = (v: number): TF.TensorInfo => {
      const t = backend.makeOutput([], 'float32');
      backend.typedArrayFromHeap(t)[0] = v;
      return t;
    };
    const one = scalar(1);
    const two = scalar(2);
    const run = (k: KernelFn, inputs: Record<string, TF.TensorInfo>) => k({ inputs, backend: args.backend });
    const x2 = run(ops.multiply, { a: args.inputs.x!, b: two });
    const s = run(ops.sigmoid, { x: x2 });
    const s2 = run(ops.multiply, { a: s, b: two });
    const out = run(ops.sub, { a: s2, b: one });
    for (const t of [one, two, x2, s, s2]) backend.disposeData(t.dataId);
    return out;
  };
}
