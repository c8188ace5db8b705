/**
 * dfan's native training kernels (native/: C++, built at install by native/build.mjs with the
 * system's compiler; nothing is downloaded). Loaded once per thread; when the build is absent or
 * fails to load, `nativeKernels()` returns null with the reason in `nativeStatus()`, and training
 * stays on tfjs-wasm. DFAN_ENGINE=tfjs turns the kernels off.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { projectRoot } from '../../version.js';

/**
 * The addon's functions (native/addon.cc). Matrices are row-major Float32Arrays addressed by an
 * element offset and a row stride; every call checks its indices against the arrays' lengths.
 */
export interface NativeKernels {
  /** C = alpha·op(A)·op(B) + beta·C, op = transpose when tA / tB; repeated `batch` times with strides */
  gemm(
    tA: number,
    tB: number,
    M: number,
    N: number,
    K: number,
    alpha: number,
    A: Float32Array,
    offA: number,
    lda: number,
    B: Float32Array,
    offB: number,
    ldb: number,
    beta: number,
    C: Float32Array,
    offC: number,
    ldc: number,
    batch?: number,
    strideA?: number,
    strideB?: number,
    strideC?: number,
  ): void;
  /** the fused spatial focus, forward (backward = 0) or backward (1); see native/addon.cc and kernels.h */
  spatial(
    backward: number,
    dims: Int32Array,
    ...args: Array<Float32Array | Int32Array | Uint16Array | number | null>
  ): void;
  /** map dropout's keep decisions for n values as bits (⌈n/16⌉ + 1 words), the JS mask stream of `seed` */
  maskBits(n: number, p: number, seed: number, bits: Uint16Array): void;
  /** one Adam update in place (L2 `decay` folded into the gradient); returns Σ θ² before it */
  adam(
    theta: Float32Array,
    m: Float32Array,
    v: Float32Array,
    g: Float32Array,
    lr: number,
    beta1: number,
    beta2: number,
    epsilon: number,
    c1: number,
    c2: number,
    decay: number,
  ): number;
  /** Y = act(Y + bias) on a block of rows (act 0 none, 1 relu, 2 tanh) */
  biasAct(
    Y: Float32Array,
    off: number,
    rows: number,
    cols: number,
    ld: number,
    bias: Float32Array | null,
    act: number,
  ): void;
  /** dY *= act'(Y) from the activation's output Y (same offset and stride) */
  actGrad(
    dY: Float32Array,
    Y: Float32Array,
    off: number,
    rows: number,
    cols: number,
    ld: number,
    act: number,
  ): void;
  /** out (+)= column sums of a block of rows */
  colSum(
    X: Float32Array,
    off: number,
    rows: number,
    cols: number,
    ld: number,
    out: Float32Array,
    accumulate: number,
  ): void;
  /** rows idx of src (each `per` values) into dst, then map dropout p with the JS mask stream of `seed` */
  gather(src: Float32Array, per: number, idx: Int32Array, dst: Float32Array, p?: number, seed?: number): void;
  /** CPU seconds of the calling thread (benchmarks: the machine may be shared) */
  threadCpu(): number;
  /** the instruction set the kernels were picked for: avx512, avx2 or base */
  isa(): string;
  /** the addon's interface version: INTERFACE_VERSION, or the build is stale */
  interfaceVersion(): number;
}

/** The version of native/addon.cc's functions this file describes. */
const INTERFACE_VERSION = 2;

let loaded: { kernels: NativeKernels | null; status: string } | null = null;

/** Where native/build.mjs puts the addon. */
export function nativeAddonPath(): string {
  return join(projectRoot(), 'native', 'build', 'dfan_native.node');
}

/** The native kernels, or null (see nativeStatus for why). */
export function nativeKernels(): NativeKernels | null {
  if (!loaded) loaded = load();
  return loaded.kernels;
}

/** One line on the native kernels: which instruction set, or why they are not used. */
export function nativeStatus(): string {
  if (!loaded) loaded = load();
  return loaded.status;
}

function load(): { kernels: NativeKernels | null; status: string } {
  if (process.env.DFAN_ENGINE === 'tfjs') return { kernels: null, status: 'off (DFAN_ENGINE=tfjs)' };
  const path = nativeAddonPath();
  if (!existsSync(path))
    return { kernels: null, status: `not built (${path} is missing: run node native/build.mjs)` };
  try {
    const kernels = createRequire(import.meta.url)(path) as NativeKernels;
    const v = typeof kernels.interfaceVersion === 'function' ? kernels.interfaceVersion() : 0;
    if (v !== INTERFACE_VERSION)
      return {
        kernels: null,
        status: `stale build (interface ${v}, expected ${INTERFACE_VERSION}: run node native/build.mjs)`,
      };
    return { kernels, status: `native ${kernels.isa()}` };
  } catch (e) {
    return { kernels: null, status: `failed to load: ${e instanceof Error ? e.message : String(e)}` };
  }
}
