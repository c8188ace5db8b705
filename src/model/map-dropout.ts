/**
 * Map dropout (training only): each value of a map batch is zeroed with probability p and the
 * rest are scaled by 1 / (1 − p), so the expected value of every cell is unchanged. Applied in
 * place to the batch's copy of the maps, before it goes to the backend: ~40 ms for a demo batch
 * of 16M values (32 videos × 16 snippets × 256 cells × 120 channels), 2–3 ns a value. The seed
 * of each batch is drawn with the other training masks (masks.ts).
 */

/** Zero each of the first n values of `a` with probability p (xorshift32 from `seed`), scale the rest. */
export function dropInPlace(a: Float32Array, n: number, p: number, seed: number): void {
  if (!(p > 0)) return;
  if (!(p < 1)) throw new Error(`map dropout must be in [0, 1) (got ${p})`);
  const keep = 1 / (1 - p);
  const threshold = Math.floor(p * 0x100000000);
  let s = seed | 0 || 1;
  for (let j = 0; j < n; j++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    a[j] *= +(s >>> 0 >= threshold) * keep; // branchless: a random branch costs ~5× more here
  }
}
