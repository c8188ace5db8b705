/**
 * Matrices for the native head: a view names a block of a row-major Float32Array (offset, row
 * stride, rows × cols), so that products read and write column blocks of wider buffers (a
 * stream's part of u_t) without copies. `mm` checks that the shapes agree before the kernel runs.
 */
import type { NativeKernels } from './native.js';

export interface View {
  a: Float32Array;
  off: number;
  /** row stride */
  ld: number;
  rows: number;
  cols: number;
}

/** rows × cols at `off` of `a`, rows `ld` apart (default: packed) */
export function view(a: Float32Array, rows: number, cols: number, off = 0, ld = cols): View {
  return { a, off, ld, rows, cols };
}

/** Columns [c0, c0 + n) of v. */
export function columns(v: View, c0: number, n: number): View {
  return { a: v.a, off: v.off + c0, ld: v.ld, rows: v.rows, cols: n };
}

export interface MmOptions {
  /** use Aᵀ / Bᵀ */
  tA?: boolean;
  tB?: boolean;
  alpha?: number;
  /** C += … instead of C = … */
  accumulate?: boolean;
}

/** C = alpha · op(A) · op(B) (+ C). */
export function mm(nk: NativeKernels, C: View, A: View, B: View, o: MmOptions = {}): void {
  mmEach(nk, 1, C, A, B, [0, 0, 0], o);
}

/**
 * The same product for `count` items (videos), item i's matrices `steps` = [A, B, C] elements after
 * item 0's: e.g. z_b = β_b · u_b for every video b of a batch.
 */
export function mmEach(
  nk: NativeKernels,
  count: number,
  C: View,
  A: View,
  B: View,
  steps: [number, number, number],
  o: MmOptions = {},
): void {
  const M = o.tA ? A.cols : A.rows;
  const K = o.tA ? A.rows : A.cols;
  const Kb = o.tB ? B.cols : B.rows;
  const N = o.tB ? B.rows : B.cols;
  if (K !== Kb || M !== C.rows || N !== C.cols)
    throw new Error(`mm: op(A) [${M}, ${K}] · op(B) [${Kb}, ${N}] does not give C [${C.rows}, ${C.cols}]`);
  nk.gemm(
    o.tA ? 1 : 0,
    o.tB ? 1 : 0,
    M,
    N,
    K,
    o.alpha ?? 1,
    A.a,
    A.off,
    A.ld,
    B.a,
    B.off,
    B.ld,
    o.accumulate ? 1 : 0,
    C.a,
    C.off,
    C.ld,
    count,
    steps[0],
    steps[1],
    steps[2],
  );
}

/** A growable scratch array per name: the step reuses its buffers (no garbage per step). */
export class Scratch {
  private readonly arrays = new Map<string, Float32Array>();
  private readonly words = new Map<string, Uint16Array>();

  /** `n` 16-bit words under `name` (whatever the last use left) */
  bits(name: string, n: number): Uint16Array {
    let a = this.words.get(name);
    if (!a || a.length < n) {
      a = new Uint16Array(n);
      this.words.set(name, a);
    }
    return a.length === n ? a : a.subarray(0, n);
  }

  /** `n` floats under `name`; zeroed when `zero` (else whatever the last step left) */
  get(name: string, n: number, zero = false): Float32Array {
    let a = this.arrays.get(name);
    if (!a || a.length < n) {
      a = new Float32Array(n);
      this.arrays.set(name, a);
      return a.length === n ? a : a.subarray(0, n);
    }
    const out = a.length === n ? a : a.subarray(0, n);
    if (zero) out.fill(0);
    return out;
  }
}
