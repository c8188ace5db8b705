/**
 * The training-time masks of one batch, all drawn here from the training PRNG, in this order:
 *
 *   1. dropout      keep mask for z, [B, K·D_u]: 0 with probability p, else 1 / (1 − p)
 *   2. map dropout  one nonzero 32-bit seed; the maps are dropped with it as they are batched
 *                   (map-dropout.ts: each value zeroed with probability p, the rest scaled)
 *   3. stream drop  whole-stream keep mask for u_t, [B, S·d]
 *   4. mixup        mixing matrix M [B, B] for the video vectors and their targets
 *
 * The order is part of a run's reproducibility: same seed → same masks → same weights, so a mask
 * added later is drawn after these. A mask whose option is off draws nothing (map dropout draws
 * its seed whenever its rate is > 0, spatial variant or not, as runs have always done).
 *
 * Mixup: each video's focused vector z = Σ_t β_t u_t is mixed with a partner's from the same
 * batch, z'_b = λ_b z_b + (1 − λ_b) z_partner(b), and its one-hot target likewise. It is applied
 * after the temporal focus, so the focus still looks at one video at a time, and the classifier is
 * asked to be linear between videos instead of fitting each one on whatever sets it apart (on a
 * small dataset: the footage of the snippet the focus happens to pick). λ_b ~ U(1 − s/2, 1) for
 * strength s, so a video's own label always weighs at least half.
 */
import { shuffle } from '../util/random.js';
import type { Tf } from './backend.js';
import type { BatchTensors } from './features.js';

/** What to draw for each batch (from the model and training configs). */
export interface MaskPlan {
  /** dropout rate before the classifier, and the width K·D_u of z */
  dropout: number;
  zWidth: number;
  /** map dropout rate (0 = off) */
  mapDropout: number;
  /** stream dropout rate, the number of streams S and the width d of each one's part of u_t */
  streamDropout: number;
  streams: number;
  projDim: number;
  /** mixup strength (0 = off) */
  mixup: number;
}

export interface TrainingMasks {
  dropout?: Float32Array; // [B, K·D_u]
  mapDrop?: { p: number; seed: number };
  streamKeep?: Float32Array; // [B, S·d]
  mix?: Float32Array; // [B, B]
}

/** The masks of a batch of B videos, in the order above. */
export function drawMasks(B: number, plan: MaskPlan, random: () => number): TrainingMasks {
  const masks: TrainingMasks = {};
  if (plan.dropout > 0) masks.dropout = dropoutMask(B * plan.zWidth, plan.dropout, random);
  if (plan.mapDropout > 0) masks.mapDrop = { p: plan.mapDropout, seed: maskSeed(random) };
  if (plan.streamDropout > 0 && plan.streams > 1)
    masks.streamKeep = streamKeepMask(B, plan.streams, plan.projDim, plan.streamDropout, random);
  if (plan.mixup > 0 && B > 1) masks.mix = mixMatrix(B, plan.mixup, random);
  return masks;
}

/**
 * The batch's dropout, stream and mixup masks as its tensors (map dropout is applied to the maps
 * as they are batched: FeatureSet.batch); disposeBatch frees them with the rest.
 */
export function attachMasks(tf: Tf, batch: BatchTensors, masks: TrainingMasks, plan: MaskPlan): void {
  const { B } = batch;
  if (masks.dropout) batch.dropMask = tf.tensor(masks.dropout, [B, plan.zWidth]);
  if (masks.streamKeep) batch.streamMask = tf.tensor(masks.streamKeep, [B, plan.projDim * plan.streams]);
  if (masks.mix) batch.mix = tf.tensor2d(masks.mix, [B, B]);
}

/** Inverted dropout: n values, each 0 with probability p, else 1 / (1 − p). */
export function dropoutMask(n: number, p: number, random: () => number): Float32Array {
  const out = new Float32Array(n);
  const keep = 1 / (1 - p);
  for (let j = 0; j < n; j++) out[j] = random() >= p ? keep : 0;
  return out;
}

/** A nonzero 32-bit seed for the map-dropout mask of one batch. */
export function maskSeed(random: () => number): number {
  return (Math.floor(random() * 0xffffffff) | 1) >>> 0;
}

/**
 * Whole-stream keep masks for a batch, [B, S·d] row-major: each stream is dropped for a video
 * with probability p, at least one is kept, and the kept streams are scaled by S / kept so that
 * u_t keeps its expected size.
 */
export function streamKeepMask(
  B: number,
  S: number,
  d: number,
  p: number,
  random: () => number,
): Float32Array {
  const out = new Float32Array(B * S * d);
  const keep = new Array<boolean>(S);
  for (let b = 0; b < B; b++) {
    let kept = 0;
    for (let s = 0; s < S; s++) {
      keep[s] = random() >= p;
      if (keep[s]) kept++;
    }
    if (!kept) {
      keep[Math.min(S - 1, Math.floor(random() * S))] = true;
      kept = 1;
    }
    for (let s = 0; s < S; s++) if (keep[s]) out.fill(S / kept, (b * S + s) * d, (b * S + s + 1) * d);
  }
  return out;
}

/**
 * The mixup matrix for a batch of B videos (row-major [B, B]): M[b][b] = λ_b,
 * M[b][partner] = 1 − λ_b; z' = M z, targets' = M y.
 */
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
