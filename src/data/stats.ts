/** Per-split and per-class counts of a dataset (`dfan dataset stats`). Pure. */
import type { Dataset, SplitName } from './types.js';

export interface DatasetStats {
  name: string;
  split?: number;
  classes: string[];
  total: number;
  perSplit: Record<SplitName, number>;
  /** class → counts per split and total */
  perClass: Record<string, Record<SplitName | 'total', number>>;
  /** present only when the videos were looked up (a root was given) */
  videos?: {
    root: string;
    found: number;
    missing: number;
    perSplit: Record<SplitName, { found: number; missing: number }>;
    missingKeys: string[];
  };
}

const SPLITS: SplitName[] = ['train', 'val', 'test'];
const zero = (): Record<SplitName, number> => ({ train: 0, val: 0, test: 0 });

export function datasetStats(ds: Dataset): DatasetStats {
  const perSplit = zero();
  const perClass: DatasetStats['perClass'] = {};
  for (const c of ds.classes) perClass[c] = { ...zero(), total: 0 };
  const all = [...ds.items, ...ds.missing];
  for (const it of all) {
    perSplit[it.split]++;
    perClass[it.label] ??= { ...zero(), total: 0 };
    perClass[it.label][it.split]++;
    perClass[it.label].total++;
  }
  const stats: DatasetStats = {
    name: ds.name,
    split: ds.splitNumber,
    classes: ds.classes,
    total: all.length,
    perSplit,
    perClass,
  };
  if (ds.root !== undefined) {
    const vs: Record<SplitName, { found: number; missing: number }> = {
      train: { found: 0, missing: 0 },
      val: { found: 0, missing: 0 },
      test: { found: 0, missing: 0 },
    };
    for (const it of all) vs[it.split][it.video ? 'found' : 'missing']++;
    const missing = all.filter((i) => !i.video);
    stats.videos = {
      root: ds.root,
      found: all.length - missing.length,
      missing: missing.length,
      perSplit: vs,
      missingKeys: missing.map((i) => i.key),
    };
  }
  return stats;
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows
    .map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '))
    .join('\n');
}

/** A plain-text table for the terminal. `maxMissing` caps the list of missing keys shown. */
export function formatStats(s: DatasetStats, maxMissing = 20): string {
  const splits = SPLITS.filter((k) => s.perSplit[k] > 0);
  const head = `${s.name}${s.split !== undefined ? ` — split ${s.split}` : ''}: ${s.total} videos, ${s.classes.length} classes`;
  const rows: string[][] = [['class', ...splits, 'total']];
  for (const c of Object.keys(s.perClass)) {
    rows.push([c, ...splits.map((k) => String(s.perClass[c][k])), String(s.perClass[c].total)]);
  }
  rows.push(['all', ...splits.map((k) => String(s.perSplit[k])), String(s.total)]);
  const out = [head, table(rows)];
  if (s.videos) {
    const v = s.videos;
    const per = splits.map((k) => `${k} ${v.perSplit[k].found}/${s.perSplit[k]}`).join(', ');
    out.push(`videos under ${v.root}: ${v.found} found, ${v.missing} missing (${per})`);
    if (v.missing > 0) {
      const shown = v.missingKeys.slice(0, maxMissing);
      out.push(
        `missing: ${shown.join(', ')}${v.missing > shown.length ? `, … (${v.missing - shown.length} more; --json lists all)` : ''}`,
      );
    }
  }
  return out.join('\n');
}
