/**
 * Which vector streams carry the label, on a training set too small for a validation set.
 *
 * On a few dozen videos every extra stream is something to memorise: a linear classifier on a
 * 400-channel context vector separates 96 training videos whatever their labels, the loss goes
 * to zero through that stream, and the spatial and temporal focus on the map stream stop
 * learning (on the real-imagery focus set, all four default-pack streams stayed at chance while
 * the object map alone reached 40–44 %, docs/model.md). Without a validation set, the check asks
 * each vector stream the question a validation set would: does its video-level mean predict the
 * label of a video it was not fitted on? Leave-one-out accuracy of a ridge classifier, exact in
 * closed form (one n×n solve per λ), against the same accuracy under 99 shuffles of the labels
 * (a permutation test at 5 %). Map streams are always kept: their cue can be too small for any mean to show it, and
 * finding it is what the spatial focus is for.
 */

import type { VideoFeatures } from '../features/types.js';
import { shuffle } from '../util/random.js';
import { ridgeLooAccuracies, standardisedMeans } from './ridge.js';

export interface StreamCheck {
  stream: string;
  /** leave-one-out accuracy of a ridge classifier on the stream's video means (best λ) */
  looAccuracy: number;
  /** the rate to beat: the 95th percentile of the same accuracy under shuffled labels (≥ the majority rate) */
  threshold: number;
  kept: boolean;
}

/** Seeded Fisher–Yates permutations of `labels` (their own LCG stream: the verdicts of old runs stay). */
export function permutations(labels: number[], count: number, seed: number): number[][] {
  let s = seed >>> 0 || 1;
  const random = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  return Array.from({ length: count }, () => shuffle(labels, random));
}

/**
 * Check every vector stream: `means[stream]` holds each training video's mean vector (same order
 * as `labels`). A stream is kept when its leave-one-out accuracy beats that of all but 5 % of
 * `nullDraws` label permutations (a permutation test: it holds whatever the clustering of the
 * videos, e.g. many videos cut from the same footage) and the majority-class rate.
 */
export function checkVectorStreams(
  means: Record<string, Float64Array[]>,
  labels: number[],
  classes: number,
  opts: { nullDraws?: number; seed?: number } = {},
): StreamCheck[] {
  const draws = opts.nullDraws ?? 99;
  const perms = permutations(labels, draws, opts.seed ?? 1);
  const counts = new Array<number>(classes).fill(0);
  for (const y of labels) counts[y]++;
  const majority = Math.max(...counts) / Math.max(1, labels.length);
  return Object.entries(means).map(([stream, rows]) => {
    const [looAccuracy, ...nulls] = ridgeLooAccuracies(standardisedMeans(rows), [labels, ...perms], classes);
    nulls.sort((a, b) => a - b);
    const q = nulls[Math.min(nulls.length - 1, Math.ceil(0.95 * nulls.length) - 1)] ?? majority;
    const threshold = Math.max(q, majority);
    return { stream, looAccuracy, threshold, kept: looAccuracy > threshold };
  });
}

/**
 * The check on the streams a model would read, from training videos' features: each vector
 * stream's video means (over real snippets) against the labels. null when there is nothing to
 * decide (no vector stream, no map stream to fall back on, or fewer than 10 videos).
 */
export function checkModelStreams(
  streams: string[],
  videos: VideoFeatures[],
  labels: number[],
  classes: number,
): StreamCheck[] | null {
  const isMap = (s: string) => videos[0]?.streams[s]?.shape.length === 4;
  const vectors = streams.filter((s) => !isMap(s));
  if (!vectors.length || vectors.length === streams.length || videos.length < 10) return null;
  const means: Record<string, Float64Array[]> = {};
  for (const s of vectors) means[s] = videos.map((vf) => videoMeanOf(vf, s));
  return checkVectorStreams(means, labels, classes);
}

/** A vector stream's mean over the video's real snippets  [C]. */
function videoMeanOf(vf: VideoFeatures, stream: string): Float64Array {
  const [T, C] = vf.streams[stream].shape;
  const out = new Float64Array(C);
  let n = 0;
  for (let t = 0; t < T; t++) {
    if (vf.mask && vf.mask[t] === 0) continue;
    n++;
    for (let c = 0; c < C; c++) out[c] += vf.streams[stream].data[t * C + c];
  }
  for (let c = 0; c < C; c++) out[c] /= Math.max(1, n);
  return out;
}

/** One log line for the verdicts. */
export function describeChecks(checks: StreamCheck[], n: number): string {
  const parts = checks.map(
    (c) =>
      `${c.stream} ${(100 * c.looAccuracy).toFixed(1)} % vs ${(100 * c.threshold).toFixed(1)} % → ${c.kept ? 'kept' : 'left out'}`,
  );
  return `stream check (no validation set): leave-one-out accuracy of each vector stream's video means on ${n} training videos vs the 95th percentile under shuffled labels; a stream no better than chance is left out, map streams are always kept (--no-stream-check keeps all): ${parts.join('; ')}`;
}
