/**
 * Seeded randomness: one small PRNG (mulberry32) and a Fisher–Yates shuffle. Every seeded
 * choice in dfan (splits, initial weights, batches, masks, generated datasets) draws from here,
 * so a seed means the same sequence on every platform.
 */

/** mulberry32: small, fast, good enough for shuffling and initialisation. Returns numbers in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A shuffled copy of `xs` (Fisher–Yates, drawing from `random`). */
export function shuffle<T>(xs: readonly T[], random: () => number): T[] {
  const a = xs.slice();
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}
