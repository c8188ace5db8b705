/** Numeric agreement of two computations of the same array (tests, and the benchmarks' peer checks). */

/** max |got − ref| relative to the largest |ref| (kernels may sum in another order) */
export function relErr(got: Float32Array, ref: Float32Array): number {
  let scale = 1e-6;
  let err = 0;
  for (let i = 0; i < ref.length; i++) {
    scale = Math.max(scale, Math.abs(ref[i]));
    err = Math.max(err, Math.abs(got[i] - ref[i]));
  }
  return err / scale;
}
