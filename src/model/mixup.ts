/**
 * Mixup of video vectors (training only): each video's focused vector z = Σ_t β_t u_t is mixed with
 * a partner's from the same batch, z'_b = λ_b z_b + (1 − λ_b) z_partner(b), and its one-hot target
 * likewise. It is applied after the temporal focus, so the focus still looks at one video at a
 * time, and the classifier is asked to be linear between videos instead of fitting each one on
 * whatever sets it apart (on a small dataset: the footage of the snippet the focus happens to
 * pick). λ_b ~ U(1 − s/2, 1) for strength s, so a video's own label always weighs at least half.
 *
 * As a matrix: M [B, B] with M[b][b] = λ_b, M[b][partner] = 1 − λ_b; z' = M z, targets' = M y.
 */
import { shuffle } from '../util/random.js';

/** The mixing matrix for a batch of B videos (row-major [B, B]); `random` is a seeded U(0, 1). */
export function mixMatrix(B: number, strength: number, random: () => number): Float32Array {
  const m = new Float32Array(B * B);
  if (B < 2 || strength <= 0) {
    for (let b = 0; b < B; b++) m[b * B + b] = 1;
    return m;
  }
  // partners: a random permutation (a video drawn as its own partner stays unmixed)
  const perm = shuffle([...Array(B).keys()], random);
  for (let b = 0; b < B; b++) {
    const lam = perm[b] === b ? 1 : 1 - strength * 0.5 * random();
    m[b * B + b] += lam;
    m[b * B + perm[b]] += 1 - lam;
  }
  return m;
}
