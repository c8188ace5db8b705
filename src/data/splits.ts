/**
 * Seeded, stratified splitting: random train/test splits for datasets that come without any
 * (VE-8's protocol is 10 random 2:1 splits), and the validation slice that early stopping uses,
 * always carved from the TRAINING split (the public VAANet/CTEN code selects epochs on the test
 * split; we do not).
 */
import { rng, shuffle } from '../util/random.js';
import type { Dataset, DatasetItem } from './types.js';

/** Group by label, keeping the first-seen order of labels and the input order inside a group. */
function byLabel<T extends { label: string }>(items: readonly T[]): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) {
    const g = m.get(it.label) ?? [];
    g.push(it);
    m.set(it.label, g);
  }
  return m;
}

/**
 * Stratified pick of ≈ fraction of every class (at least one per class that has ≥ 2 items, and
 * never the whole class). Returns the picked keys. Deterministic for a given seed and input order.
 */
export function stratifiedPick<T extends { key: string; label: string }>(
  items: readonly T[],
  fraction: number,
  seed: number,
): Set<string> {
  const random = rng(seed);
  const picked = new Set<string>();
  const groups = [...byLabel(items).entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  for (const [, group] of groups) {
    if (group.length < 2) continue;
    const sorted = group.slice().sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const n = Math.min(group.length - 1, Math.max(1, Math.round(group.length * fraction)));
    for (const it of shuffle(sorted, random).slice(0, n)) picked.add(it.key);
  }
  return picked;
}

/**
 * The validation slice for early stopping: ≈ `fraction` of each class of the TRAIN items
 * (items already marked `val` stay val; test items are never touched).
 */
export function withValidationSlice(ds: Dataset, fraction = 0.15, seed = 1): Dataset {
  if ([...ds.items, ...ds.missing].some((i) => i.split === 'val')) return ds;
  const train = [...ds.items, ...ds.missing].filter((i) => i.split === 'train');
  const val = stratifiedPick(train, fraction, seed);
  const items: DatasetItem[] = ds.items.map((i) => (val.has(i.key) ? { ...i, split: 'val' } : i));
  return { ...ds, items, missing: ds.missing.map((i) => (val.has(i.key) ? { ...i, split: 'val' } : i)) };
}

/**
 * Random stratified train/test split number `n` (1-based) of a dataset that has none: about
 * `testFraction` of each class goes to test. Split n is the same on every run for the same seed.
 */
export function randomSplit(ds: Dataset, n: number, seed = 0, testFraction = 1 / 3): Dataset {
  const test = stratifiedPick([...ds.items, ...ds.missing], testFraction, (seed * 1000003 + n * 7919) >>> 0);
  const relabel = (i: DatasetItem): DatasetItem => ({ ...i, split: test.has(i.key) ? 'test' : 'train' });
  return { ...ds, items: ds.items.map(relabel), missing: ds.missing.map(relabel), splitNumber: n };
}

/** `1-10`, `1,3,5`, `2-4,7` → sorted unique numbers. Returns null when the text does not parse. */
export function parseSplitRange(text: string): number[] | null {
  const out = new Set<number>();
  for (const part of text.split(',').map((s) => s.trim())) {
    const m = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(part);
    if (!m) return null;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (a < 1 || b < a || b - a > 1000) return null;
    for (let k = a; k <= b; k++) out.add(k);
  }
  return out.size > 0 ? [...out].sort((x, y) => x - y) : null;
}
