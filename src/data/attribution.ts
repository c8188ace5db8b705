/**
 * Emotion attribution: does the temporal focus β sit on the key clips people annotated?
 * Pure functions over snippet times, snippet weights and key clips (seconds).
 *
 *   key snippet   a snippet whose centre lies inside a key clip (padding snippets, mask 0, are ignored)
 *   hit@1         the snippet with the largest weight is a key snippet
 *   tIoU@k        temporal IoU between the union of the k heaviest snippets and the union of the key clips
 *   AUC           ROC AUC of the weights as a score separating key from non-key snippets
 *                 (Mann–Whitney, ties count ½); undefined when a video's snippets are all key or none
 * Each comes with its chance level (a focus that knows nothing) so a figure can be read honestly:
 * hit@1 chance = share of key snippets; AUC chance = 0.5; tIoU@k chance = tIoU of k random snippets
 * (its expected value, estimated from 400 random k-subsets with a fixed seed).
 */

import { rng, shuffle } from '../util/random.js';
import type { KeyClip, KeyClipSet, KeyClipVideo } from './keyclips.js';

export interface Interval {
  start: number;
  end: number;
}

/** Sorted, merged union of intervals (zero-length ones dropped). */
export function unionIntervals(xs: readonly Interval[]): Interval[] {
  const s = xs.filter((x) => x.end > x.start).sort((a, b) => a.start - b.start);
  const out: Interval[] = [];
  for (const x of s) {
    const last = out[out.length - 1];
    if (last && x.start <= last.end) last.end = Math.max(last.end, x.end);
    else out.push({ start: x.start, end: x.end });
  }
  return out;
}

export function totalLength(xs: readonly Interval[]): number {
  return unionIntervals(xs).reduce((s, x) => s + (x.end - x.start), 0);
}

/** Length of the intersection of two interval sets. */
export function intersectionLength(a: readonly Interval[], b: readonly Interval[]): number {
  const ua = unionIntervals(a);
  const ub = unionIntervals(b);
  let i = 0;
  let j = 0;
  let s = 0;
  while (i < ua.length && j < ub.length) {
    const lo = Math.max(ua[i].start, ub[j].start);
    const hi = Math.min(ua[i].end, ub[j].end);
    if (hi > lo) s += hi - lo;
    if (ua[i].end < ub[j].end) i++;
    else j++;
  }
  return s;
}

/** Temporal IoU of two interval sets (0 when both are empty). */
export function tIoU(a: readonly Interval[], b: readonly Interval[]): number {
  const inter = intersectionLength(a, b);
  const union = totalLength(a) + totalLength(b) - inter;
  return union > 0 ? inter / union : 0;
}

/** Key snippet flags: the snippet's centre lies inside a key clip. */
export function keySnippets(snippets: readonly Interval[], clips: readonly KeyClip[]): boolean[] {
  return snippets.map((s) => {
    const c = (s.start + s.end) / 2;
    return clips.some((k) => c >= k.start && c <= k.end);
  });
}

/** ROC AUC of `scores` for `labels` (Mann–Whitney U / (P·N), ties ½); null without both classes. */
export function rocAuc(scores: readonly number[], labels: readonly boolean[]): number | null {
  const idx = scores.map((s, i) => ({ s, y: labels[i] })).sort((a, b) => a.s - b.s);
  const P = labels.filter(Boolean).length;
  const N = labels.length - P;
  if (P === 0 || N === 0) return null;
  // average ranks over ties
  let rankSumPos = 0;
  let i = 0;
  while (i < idx.length) {
    let j = i;
    while (j + 1 < idx.length && idx[j + 1].s === idx[i].s) j++;
    const avgRank = (i + j + 2) / 2; // 1-based ranks i+1 … j+1
    for (let k = i; k <= j; k++) if (idx[k].y) rankSumPos += avgRank;
    i = j + 1;
  }
  return (rankSumPos - (P * (P + 1)) / 2) / (P * N);
}

/** Indices of the k largest weights (ties → earlier snippet first). */
export function topK(weights: readonly number[], k: number): number[] {
  return weights
    .map((w, i) => ({ w, i }))
    .sort((a, b) => b.w - a.w || a.i - b.i)
    .slice(0, Math.max(0, k))
    .map((x) => x.i);
}

export interface AttributionInput {
  snippets: readonly Interval[]; // [T]
  weights: readonly number[]; // [T], temporal focus β
  clips: readonly KeyClip[];
  /** [T] 1 = real snippet; absent = all real */
  mask?: ArrayLike<number>;
  /** clips are clipped to the video's real duration when given */
  duration?: number;
}

export interface AttributionScore {
  hit1: boolean;
  /** tIoU of the k heaviest snippets, for each k asked */
  tiou: Record<number, number>;
  auc: number | null;
  /** chance levels for this video */
  chance: { hit1: number; tiou: Record<number, number> };
  keyShare: number; // share of real snippets that are key
  snippets: number;
}

function expectedRandomTiou(snips: Interval[], clips: Interval[], k: number, seed = 7): number {
  const T = snips.length;
  if (k >= T) return tIoU(snips, clips);
  const random = rng(seed);
  const draws = 400;
  let s = 0;
  for (let d = 0; d < draws; d++) {
    const pick = shuffle(
      snips.map((_, i) => i),
      random,
    ).slice(0, k);
    s += tIoU(
      pick.map((i) => snips[i]),
      clips,
    );
  }
  return s / draws;
}

/** Score one video's temporal focus against its key clips. Null when the video has no key clip. */
export function scoreAttribution(
  input: AttributionInput,
  ks: readonly number[] = [1, 3],
): AttributionScore | null {
  const real = input.snippets.map((_, i) => (input.mask ? input.mask[i] > 0.5 : true));
  const snips = input.snippets.filter((_, i) => real[i]);
  const weights = input.weights.filter((_, i) => real[i]);
  let clips = input.clips.filter((c) => c.end > c.start);
  if (input.duration !== undefined) {
    const d = input.duration;
    clips = clips
      .map((c) => ({ start: Math.min(c.start, d), end: Math.min(c.end, d) }))
      .filter((c) => c.end > c.start);
  }
  if (clips.length === 0 || snips.length === 0) return null;
  const key = keySnippets(snips, clips);
  const top = topK(weights, 1)[0];
  const tiou: Record<number, number> = {};
  const chanceTiou: Record<number, number> = {};
  for (const k of ks) {
    tiou[k] = tIoU(
      topK(weights, k).map((i) => snips[i]),
      clips,
    );
    chanceTiou[k] = expectedRandomTiou(snips, clips, k);
  }
  const keyShare = key.filter(Boolean).length / key.length;
  return {
    hit1: key[top],
    tiou,
    auc: rocAuc(weights, key),
    chance: { hit1: keyShare, tiou: chanceTiou },
    keyShare,
    snippets: snips.length,
  };
}

export interface AttributionSummary {
  /** videos scored (had key clips and a prediction) */
  n: number;
  hit1: number;
  tiou: Record<number, number>;
  /** mean AUC over the videos where it is defined */
  auc: number | null;
  aucN: number;
  chance: { hit1: number; tiou: Record<number, number>; auc: 0.5 };
  perClass: Record<string, { n: number; hit1: number; auc: number | null }>;
}

const mean = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

export function summariseAttribution(
  scores: ReadonlyArray<{ label: string; score: AttributionScore }>,
  ks: readonly number[] = [1, 3],
): AttributionSummary {
  const s = scores.map((x) => x.score);
  const aucs = s.map((x) => x.auc).filter((a): a is number => a !== null);
  const tiou: Record<number, number> = {};
  const chanceTiou: Record<number, number> = {};
  for (const k of ks) {
    tiou[k] = mean(s.map((x) => x.tiou[k] ?? 0));
    chanceTiou[k] = mean(s.map((x) => x.chance.tiou[k] ?? 0));
  }
  const perClass: AttributionSummary['perClass'] = {};
  for (const label of [...new Set(scores.map((x) => x.label))].sort()) {
    const g = scores.filter((x) => x.label === label).map((x) => x.score);
    const ga = g.map((x) => x.auc).filter((a): a is number => a !== null);
    perClass[label] = {
      n: g.length,
      hit1: mean(g.map((x) => (x.hit1 ? 1 : 0))),
      auc: ga.length ? mean(ga) : null,
    };
  }
  return {
    n: s.length,
    hit1: mean(s.map((x) => (x.hit1 ? 1 : 0))),
    tiou,
    auc: aucs.length ? mean(aucs) : null,
    aucN: aucs.length,
    chance: { hit1: mean(s.map((x) => x.chance.hit1)), tiou: chanceTiou, auc: 0.5 },
    perClass,
  };
}

// ---------------------------------------------------------------------------------------------
// Matching annotations (original Ekman-6 file names) to dataset items

export type KeyClipMatch = 'name' | 'order';

export interface MatchableItem {
  key: string;
  label: string;
  video: string | null;
}

export interface KeyClipMapping {
  /** item key → annotation */
  byKey: Map<string, KeyClipVideo>;
  strategy: string;
  warnings: string[];
}

const stemOf = (p: string): string =>
  (p.replace(/\\/g, '/').split('/').pop() ?? p)
    .replace(/\.(mp4|wmv|flv|avi|mkv|webm|mov|3gp)$/i, '')
    .toLowerCase();

/**
 * Map annotations to items.
 *   explicit   a `Map<annotation name, item key>` (from a CSV given by the user) wins;
 *   'name'     (default) same class and same file stem: the item's key basename or its video's
 *              file name equals the annotation's original file name (`anger/02` ↔ `…/anger/02.mp4`);
 *   'order'    INFERRED, unverified: the CTEN lists number Ekman-6 videos 1–1637 by class blocks;
 *              the i-th annotated row of a class is taken as the i-th numeric id of that class,
 *              only for classes where the counts agree (anger has 225 ids for 224 rows: skipped).
 */
export function matchKeyClips(
  items: readonly MatchableItem[],
  set: KeyClipSet,
  opts: { strategy?: KeyClipMatch; explicit?: Map<string, string> } = {},
): KeyClipMapping {
  const byKey = new Map<string, KeyClipVideo>();
  const warnings: string[] = [];
  const itemKeys = new Set(items.map((i) => i.key));
  if (opts.explicit) {
    const byName = new Map(set.videos.map((v) => [v.name.toLowerCase(), v]));
    for (const [ann, key] of opts.explicit) {
      const v = byName.get(ann.toLowerCase()) ?? byName.get(ann.toLowerCase().replace(/\.[a-z0-9]+$/, ''));
      if (!v) warnings.push(`mapping: "${ann}" is not in the annotations`);
      else if (!itemKeys.has(key)) warnings.push(`mapping: item "${key}" is not in the dataset`);
      else byKey.set(key, v);
    }
    return { byKey, strategy: 'explicit mapping file', warnings };
  }
  const strategy = opts.strategy ?? 'name';
  if (strategy === 'name') {
    const ann = new Map<string, KeyClipVideo>();
    for (const v of set.videos) ann.set(`${v.label.toLowerCase()}/${stemOf(v.name)}`, v);
    for (const it of items) {
      const label = it.label.toLowerCase();
      const candidates = [stemOf(it.key), it.video ? stemOf(it.video) : null].filter((x): x is string => !!x);
      for (const c of candidates) {
        const v = ann.get(`${label}/${c}`);
        if (v) {
          byKey.set(it.key, v);
          break;
        }
      }
    }
    return { byKey, strategy: 'same class and file name', warnings };
  }
  // 'order'
  const rows = new Map<string, KeyClipVideo[]>();
  for (const v of set.videos)
    rows.set(v.label.toLowerCase(), [...(rows.get(v.label.toLowerCase()) ?? []), v]);
  const groups = new Map<string, MatchableItem[]>();
  for (const it of items)
    groups.set(it.label.toLowerCase(), [...(groups.get(it.label.toLowerCase()) ?? []), it]);
  for (const [label, its] of groups) {
    const r = (rows.get(label) ?? []).slice().sort((a, b) => a.row - b.row);
    const ids = its
      .map((it) => ({ it, id: Number(it.key.split('/').pop()) }))
      .filter((x) => Number.isFinite(x.id))
      .sort((a, b) => a.id - b.id);
    if (ids.length !== its.length) {
      warnings.push(`order mapping: ${label} has non-numeric keys: skipped`);
      continue;
    }
    if (r.length !== ids.length) {
      warnings.push(
        `order mapping: ${label} has ${ids.length} items and ${r.length} annotated rows: skipped`,
      );
      continue;
    }
    for (const [i, x] of ids.entries()) byKey.set(x.it.key, r[i]);
  }
  warnings.push(
    'order mapping is INFERRED (row order ↔ numeric id order) and unverified: treat its figures as indicative',
  );
  return { byKey, strategy: 'row order ↔ numeric id (inferred)', warnings };
}

/** Parse a two-column CSV `annotation,key` (header optional) into an explicit mapping. */
export function parseKeyClipMap(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) continue;
    const k = t.lastIndexOf(',');
    if (k < 0) continue;
    const a = t.slice(0, k).trim().replace(/^"|"$/g, '');
    const b = t
      .slice(k + 1)
      .trim()
      .replace(/^"|"$/g, '');
    if (/^annotation$/i.test(a) && /^key$/i.test(b)) continue;
    m.set(a, b);
  }
  return m;
}
