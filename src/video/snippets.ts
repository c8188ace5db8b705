/**
 * Snippet sampling (TSN style, deterministic): T uniform segments over the duration; each has a
 * key frame at its centre and K clip frame times centred on the key frame.
 */
import { DfanError } from '../errors.js';
import type { Snippet } from './types.js';

/** Round to microseconds so times print and compare cleanly (and stay deterministic). */
function us(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

/**
 * Sample T snippets of K clip frames over `duration` seconds.
 *
 * - Segment t covers [t·L, (t+1)·L) with L = duration/T; its key time is the segment centre.
 * - Clip frames are spaced 1/fps apart (consecutive frames of the video) when `fps` is given,
 *   else spread evenly over the segment (spacing L/K); the spacing never exceeds L/K, so a clip
 *   stays inside its segment and clips of neighbouring snippets never overlap.
 * - Every time lies in [0, duration): times are distinct whenever duration > 0, even on clips
 *   shorter than T×K frames (several times may then decode to the same frame).
 */
export function sampleSnippets(duration: number, T = 16, K = 8, fps?: number): Snippet[] {
  if (typeof duration !== 'number' || !Number.isFinite(duration) || duration <= 0) {
    throw new DfanError('BAD_ARGUMENT', `cannot sample snippets from a duration of ${String(duration)} s`, {
      hint: 'the video must be longer than 0 s',
    });
  }
  if (!Number.isInteger(T) || T < 1 || T > 100_000) {
    throw new DfanError('BAD_ARGUMENT', `invalid snippet count T=${String(T)}`, {
      hint: 'use an integer ≥ 1',
    });
  }
  if (!Number.isInteger(K) || K < 1 || K > 10_000) {
    throw new DfanError('BAD_ARGUMENT', `invalid clip length K=${String(K)}`, { hint: 'use an integer ≥ 1' });
  }
  if (fps !== undefined && !(Number.isFinite(fps) && fps > 0)) {
    throw new DfanError('BAD_ARGUMENT', `invalid clip frame rate ${String(fps)}`, {
      hint: 'use a positive number',
    });
  }
  const L = duration / T;
  const step = Math.min(fps ? 1 / fps : L / K, L / K);
  // the largest representable time strictly below the duration (after rounding to µs)
  let maxT = Math.max(0, Math.floor(duration * 1e6 - 1) / 1e6);
  if (maxT >= duration) maxT = Math.max(0, maxT - 1e-6);
  const clamp = (x: number) => Math.min(Math.max(0, us(x)), maxT);
  const out: Snippet[] = [];
  for (let t = 0; t < T; t++) {
    const start = t * L;
    const end = (t + 1) * L;
    const keyTime = start + L / 2;
    const clipTimes: number[] = [];
    for (let k = 0; k < K; k++) clipTimes.push(clamp(keyTime + (k - (K - 1) / 2) * step));
    out.push({ index: t, start: us(start), end: us(end), keyTime: clamp(keyTime), clipTimes });
  }
  return out;
}

/** All frame times a set of snippets needs (key frames and clip frames), sorted and unique. */
export function snippetTimes(snippets: Snippet[]): number[] {
  const s = new Set<number>();
  for (const sn of snippets) {
    s.add(sn.keyTime);
    for (const c of sn.clipTimes) s.add(c);
  }
  return [...s].sort((a, b) => a - b);
}
