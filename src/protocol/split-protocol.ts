/**
 * Which split protocol a protocol run followed, said so that a reader compares like with like:
 * the VE-8 lists distributed with VAANet (the ones CTEN and MART read too), the Ekman-6 819/818
 * lists distributed with CTEN, the ten random 2:1 splits of the VE-8 workbook, dfan's own random
 * 2:1 splits, or the dataset's own train/test split. Each split's train/test keys are
 * fingerprinted and compared with the published lists dfan knows (the real lists in
 * ../shared/datasets), so "as distributed with VAANet" is said only of lists that are. Pure.
 */
import type { SplitSource } from '../data/open.js';
import type { Dataset } from '../data/types.js';
import { VE8_CLASSES } from '../data/ve8-splits.js';
import { jsonTag } from '../util/hash.js';

export type SplitProtocolId = 've8-lists' | 'ek6-lists' | 've8-workbook' | 'lists' | 'random' | 'own';

/** One split as run: its sizes, fingerprint and the published list it is identical to. */
export interface SplitFingerprint {
  split: number;
  train: number;
  test: number;
  /** tag of the sorted `key<TAB>label` lines of its train (train + val) and test items */
  fingerprint: string;
  /** the published list it is identical to, or null when it matches none dfan knows */
  published: string | null;
}

export interface SplitProtocol {
  id: SplitProtocolId;
  /** one line for the report, with the split numbers */
  description: string;
  splits: SplitFingerprint[];
}

/** Fingerprints of the published lists (split 1 of each: the lists dfan has seen). */
const PUBLISHED: Record<string, { family: 've8' | 'ek6'; name: string }> = {
  '90579b9561f8f03a': { family: 've8', name: 'VE-8 split 1 as distributed with VAANet' },
  '821e1a15130cbf3d': { family: 'ek6', name: 'Ekman-6 split 1 as distributed with CTEN' },
};

/** A split's train (with any val) and test items as sorted `key<TAB>label` lines. */
export function splitKeys(ds: Dataset): { train: string[]; test: string[] } {
  const all = [...ds.items, ...ds.missing];
  const lines = (test: boolean) =>
    all
      .filter((i) => (i.split === 'test') === test)
      .map((i) => `${i.key}\t${i.label}`)
      .sort();
  return { train: lines(false), test: lines(true) };
}

export function fingerprintSplit(n: number, ds: Dataset): SplitFingerprint {
  const keys = splitKeys(ds);
  const fingerprint = jsonTag(keys);
  return {
    split: n,
    train: keys.train.length,
    test: keys.test.length,
    fingerprint,
    published: PUBLISHED[fingerprint]?.name ?? null,
  };
}

/** "split 1", "splits 1–10", "splits 1, 3, 4". */
export function splitNumbers(ns: readonly number[]): string {
  if (ns.length === 1) return `split ${ns[0]}`;
  const run = ns.every((n, i) => i === 0 || n === ns[i - 1] + 1);
  return `splits ${run ? `${ns[0]}–${ns[ns.length - 1]}` : ns.join(', ')}`;
}

type Described = Pick<SplitSource, 'kind' | 'source' | 'classes' | 'randomSplits'>;

/** VE-8 or Ekman-6 lists: said by the preset, a published fingerprint, or VE-8's class set. */
function listFamily(src: Described, splits: readonly SplitFingerprint[]): 've8' | 'ek6' | null {
  if (src.kind === 've8' || src.kind === 'ek6') return src.kind;
  const known = splits.map((s) => PUBLISHED[s.fingerprint]?.family).find((f) => f);
  if (known) return known;
  const same = (a: readonly string[], b: readonly string[]) =>
    a.length === b.length && a.every((c, i) => c.toLowerCase() === b[i].toLowerCase());
  return src.kind === 'lists' && same(src.classes, VE8_CLASSES) ? 've8' : null;
}

/** Each split against the published lists, in words. */
function verification(family: 've8' | 'ek6', splits: readonly SplitFingerprint[]): string {
  const owner = family === 've8' ? 'VAANet' : 'CTEN';
  const same = splits.filter((s) => s.published);
  const unknown = splits.filter((s) => !s.published && s.split !== 1);
  const differs = splits.filter((s) => !s.published && s.split === 1);
  const parts: string[] = [];
  if (same.length)
    parts.push(`${splitNumbers(same.map((s) => s.split))} identical to the lists distributed with ${owner}`);
  if (differs.length)
    parts.push(
      `split 1 DIFFERS from the list distributed with ${owner} (not comparable with figures measured on it)`,
    );
  if (unknown.length)
    parts.push(
      `${splitNumbers(unknown.map((s) => s.split))} not checked (dfan knows the published split 1 only)`,
    );
  return parts.join('; ');
}

/** The split protocol of a run over `splits` of `src`. */
export function describeSplitProtocol(src: Described, splits: SplitFingerprint[]): SplitProtocol {
  const which = splitNumbers(splits.map((s) => s.split));
  const sizes = splits.length === 1 ? ` (${splits[0].train} train / ${splits[0].test} test videos)` : '';
  if (src.randomSplits)
    return {
      id: 'random',
      description: `ten random stratified 2:1 train/test splits made by dfan (seeded) from ${src.source}, ${which}${sizes}: dfan's own protocol, not a published one`,
      splits,
    };
  if (/\.xlsx$/i.test(src.source))
    return {
      id: 've8-workbook',
      description: `the ten random 2:1 train/test splits of the VE-8 workbook ${src.source} (the original VE-8 protocol, mean ± std over splits; layout inferred), ${which}${sizes}; not the list split that the VAANet, CTEN and MART code reads`,
      splits,
    };
  if (src.kind === 'manifest' || src.kind === 'folders')
    return { id: 'own', description: `the train/test split written in ${src.source}${sizes}`, splits };
  const family = listFamily(src, splits);
  if (family === 've8')
    return {
      id: 've8-lists',
      description: `VE-8 trainlistNN/testlistNN lists (the layout VAANet distributes and CTEN and MART read) from ${src.source}, ${which}${sizes}: ${verification(family, splits)}`,
      splits,
    };
  if (family === 'ek6')
    return {
      id: 'ek6-lists',
      description: `Ekman-6 trainlistNN/testlistNN lists (the layout of CTEN's 819/818 split) from ${src.source}, ${which}${sizes}: ${verification(family, splits)}`,
      splits,
    };
  return {
    id: 'lists',
    description: `split lists trainlistNN/testlistNN from ${src.source}, ${which}${sizes}`,
    splits,
  };
}
