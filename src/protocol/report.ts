/**
 * The protocol report: per-split results → mean ± std per variant, per-class recall, the
 * ablation table, and the honest notes. No I/O: `buildReport` and `reportMarkdown` take plain data.
 */
import type { Metrics } from '../data/metrics-types.js';
import type { SplitSource } from '../data/open.js';
import { DFAN_VERSION } from '../version.js';

export const SPLIT_RESULT_FORMAT = 'dfan-protocol-split';
export const REPORT_FORMAT = 'dfan-protocol-report';

/** What `dfan protocol` writes per (variant, split) as `result.json` — the resume marker. */
export interface SplitResult {
  format: typeof SPLIT_RESULT_FORMAT;
  version: 1;
  variant: string;
  split: number;
  /** hash of everything that changes this split's numbers; a result with another hash is redone */
  configHash: string;
  metrics: Metrics;
  /** test items in the list, and those evaluated (others had no features) */
  testListed: number;
  evaluated: number;
  skipped: Array<{ key: string; reason: string }>;
  trainSize: number;
  valSize: number;
  bestEpoch: number;
  epochs: number;
  valAccuracy: number | null;
  seconds: number;
  /** file names relative to the split folder */
  confusionPng: string;
  run: string | null;
  createdAt: string;
}

export function isSplitResult(x: unknown, configHash?: string): x is SplitResult {
  const r = x as Partial<SplitResult> | null;
  return (
    !!r &&
    r.format === SPLIT_RESULT_FORMAT &&
    typeof r.split === 'number' &&
    typeof r.metrics?.accuracy === 'number' &&
    Array.isArray(r.metrics?.confusion) &&
    (configHash === undefined || r.configHash === configHash)
  );
}

export interface VariantSummary {
  variant: string;
  splits: SplitResult[];
  /** mean and sample standard deviation (n − 1; 0 for one split) of the test accuracy */
  mean: number;
  std: number;
  min: number;
  max: number;
  /** per class: mean recall over splits */
  perClassRecall: Record<string, { mean: number; std: number }>;
  /** confusion matrix summed over splits */
  confusion: number[][];
}

export interface ProtocolReport {
  format: typeof REPORT_FORMAT;
  version: 1;
  createdAt: string;
  dfanVersion: string;
  dataset: {
    name: string;
    kind: string;
    source: string;
    classes: string[];
    randomSplits: boolean;
    splits: number[];
    missingVideos: number;
    missingKeys: string[];
  };
  packId: string;
  streams: Array<{ name: string; what: string }>;
  config: Record<string, unknown>;
  variants: Record<string, VariantSummary>;
  ablation: boolean;
  notes: string[];
  wallSeconds: number;
}

export function meanStd(xs: readonly number[]): { mean: number; std: number } {
  if (xs.length === 0) return { mean: 0, std: 0 };
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  if (xs.length < 2) return { mean, std: 0 };
  const v = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1);
  return { mean, std: Math.sqrt(v) };
}

export function summariseVariant(variant: string, splits: SplitResult[], classes: string[]): VariantSummary {
  const sorted = splits.slice().sort((a, b) => a.split - b.split);
  const accs = sorted.map((s) => s.metrics.accuracy);
  const { mean, std } = meanStd(accs);
  const perClassRecall: VariantSummary['perClassRecall'] = {};
  for (const c of classes) {
    // a class absent from a split's test items has no recall there: left out of its mean
    perClassRecall[c] = meanStd(
      sorted.filter((s) => (s.metrics.perClass[c]?.n ?? 0) > 0).map((s) => s.metrics.perClass[c].recall),
    );
  }
  const k = classes.length;
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (const s of sorted) {
    for (let i = 0; i < k; i++)
      for (let j = 0; j < k; j++) confusion[i][j] += s.metrics.confusion[i]?.[j] ?? 0;
  }
  return {
    variant,
    splits: sorted,
    mean,
    std,
    min: accs.length ? Math.min(...accs) : 0,
    max: accs.length ? Math.max(...accs) : 0,
    perClassRecall,
    confusion,
  };
}

/** The dataset facts the report states (a SplitSource is one). */
export type ReportedDataset = Pick<SplitSource, 'name' | 'kind' | 'source' | 'classes' | 'randomSplits'>;

/** The honest notes under the figures: what was trained, how epochs were chosen, what is missing. */
export function protocolNotes(
  src: ReportedDataset,
  missingKeys: readonly string[],
  results: readonly SplitResult[],
): string[] {
  const notes: string[] = [
    'Backbones are frozen; only the small DFAN head is trained, from scratch, on this dataset.',
    'Epochs are chosen on a stratified validation slice carved from each split’s TRAINING videos when it holds ≥ 50 videos (accuracy averaged over 3 epochs); smaller training sets keep the weights averaged over their last epochs. The test videos are used once, for the figures above (the public VAANet/CTEN code selects epochs on the test split; dfan does not).',
    'Mean ± std: over splits, std is the sample standard deviation (n − 1).',
    'Streams are named for what they are (see above): no stream here is a Places365 scene model, and a stream is a Kinetics action model only if its description says so.',
  ];
  if (src.randomSplits)
    notes.push(
      'The dataset has no test split: dfan made random stratified 2:1 train/test splits (seeded, reproducible).',
    );
  if (src.kind === 've8' && /\.xlsx$/i.test(src.source)) {
    notes.push(
      'VE-8 splits were read from the 10-split workbook, whose layout dfan INFERRED from public scripts (see docs/datasets.md).',
    );
  }
  if (src.kind === 've8' || src.kind === 'ek6') {
    notes.push(
      `Published DFAN figures (ICME 2020, as tabulated by CTEN): Ekman-6 57.3 %, VE-8 53.3 %. They used other backbones (unpublished) and cannot be compared directly with this run.`,
    );
  }
  if (missingKeys.length)
    notes.push(
      `${missingKeys.length} listed video(s) were not found and were left out of training and testing.`,
    );
  const missingSet = new Set(missingKeys);
  const skippedTotal = results.reduce(
    (a, r) => a + r.skipped.filter((x) => !missingSet.has(x.key)).length,
    0,
  );
  if (skippedTotal) {
    notes.push(
      `${skippedTotal} test evaluation(s) were skipped because the video's features were missing or damaged.`,
    );
  }
  return notes;
}

/** Everything the report is assembled from. */
export interface ReportInput {
  dataset: ReportedDataset;
  splits: number[];
  missingKeys: string[];
  packId: string;
  /** stream name → what it really is */
  streamInfo: Record<string, string>;
  config: Record<string, unknown>;
  /** per variant, its split results (in the order the variants ran) */
  results: ReadonlyMap<string, SplitResult[]>;
  ablation: boolean;
  wallSeconds: number;
}

export function buildReport(r: ReportInput): ProtocolReport {
  const { dataset: d, missingKeys } = r;
  const variants = Object.fromEntries(
    [...r.results].map(([v, results]) => [v, summariseVariant(v, results, d.classes)]),
  );
  return {
    format: REPORT_FORMAT,
    version: 1,
    createdAt: new Date().toISOString(),
    dfanVersion: DFAN_VERSION,
    dataset: {
      name: d.name,
      kind: d.kind,
      source: d.source,
      classes: d.classes,
      randomSplits: d.randomSplits,
      splits: r.splits,
      missingVideos: missingKeys.length,
      missingKeys,
    },
    packId: r.packId || 'unknown',
    streams: Object.entries(r.streamInfo).map(([name, what]) => ({ name, what })),
    config: r.config,
    variants,
    ablation: r.ablation,
    notes: protocolNotes(d, missingKeys, [...r.results.values()].flat()),
    wallSeconds: r.wallSeconds,
  };
}

/** A duration for the log: seconds, minutes and seconds, or hours. */
export function fmtTime(s: number): string {
  if (s < 90) return `${s.toFixed(0)} s`;
  const m = Math.floor(s / 60);
  return m < 90 ? `${m} min ${Math.round(s - 60 * m)} s` : `${(s / 3600).toFixed(1)} h`;
}

const pct = (x: number, d = 1) => `${(100 * x).toFixed(d)}`;

function mdTable(rows: string[][], align: Array<'l' | 'r'>): string[] {
  const sep = align.map((a) => (a === 'r' ? '---:' : '---'));
  return [
    `| ${rows[0].join(' | ')} |`,
    `|${sep.join('|')}|`,
    ...rows.slice(1).map((r) => `| ${r.join(' | ')} |`),
  ];
}

/** The ablation table (also printed by the CLI). */
export function ablationTable(report: ProtocolReport): string[] {
  const rows: string[][] = [
    ['variant', 'spatial focus', 'temporal focus', 'accuracy % (mean ± std)', 'splits'],
  ];
  const focus: Record<string, [string, string]> = {
    mean: ['–', '–'],
    temporal: ['–', '✓'],
    spatial: ['✓', '–'],
    dual: ['✓', '✓'],
  };
  for (const v of Object.values(report.variants)) {
    const f = focus[v.variant] ?? ['?', '?'];
    rows.push([v.variant, f[0], f[1], `${pct(v.mean)} ± ${pct(v.std)}`, String(v.splits.length)]);
  }
  return mdTable(rows, ['l', 'l', 'l', 'r', 'r']);
}

export function reportMarkdown(r: ProtocolReport): string {
  const L: string[] = [];
  const variants = Object.values(r.variants);
  L.push(`# dfan protocol — ${r.dataset.name}`, '');
  L.push(
    `${r.dataset.classes.length} classes, split${r.dataset.splits.length > 1 ? 's' : ''} ${r.dataset.splits.join(', ')} (${r.dataset.randomSplits ? 'random stratified 2:1 splits made by dfan' : `from ${r.dataset.source}`}); feature pack \`${r.packId}\`; dfan ${r.dfanVersion}; ${r.createdAt}.`,
    '',
  );
  L.push('## Result', '');
  if (r.ablation || variants.length > 1) {
    L.push(...ablationTable(r), '');
  } else {
    const v = variants[0];
    if (v) {
      L.push(
        `**${v.variant}**: test accuracy **${pct(v.mean)} % ± ${pct(v.std)}** (mean ± sample std over ${v.splits.length} split${v.splits.length > 1 ? 's' : ''}; min ${pct(v.min)} %, max ${pct(v.max)} %).`,
        '',
      );
    }
  }
  for (const v of variants) {
    L.push(`### ${v.variant}: per split`, '');
    const rows = [
      ['split', 'accuracy %', 'evaluated / listed', 'train', 'val', 'best epoch', 'confusion matrix'],
    ];
    for (const s of v.splits) {
      rows.push([
        String(s.split),
        pct(s.metrics.accuracy),
        `${s.evaluated} / ${s.testListed}`,
        String(s.trainSize),
        String(s.valSize),
        `${s.bestEpoch} / ${s.epochs}`,
        `[png](${v.variant}/split-${String(s.split).padStart(2, '0')}/${s.confusionPng})`,
      ]);
    }
    L.push(...mdTable(rows, ['r', 'r', 'r', 'r', 'r', 'r', 'l']), '');
    L.push(`### ${v.variant}: per-class recall (mean ± std over splits)`, '');
    const cr = [['class', 'recall %']];
    for (const c of r.dataset.classes) {
      const x = v.perClassRecall[c];
      cr.push([c, x ? `${pct(x.mean)} ± ${pct(x.std)}` : '–']);
    }
    L.push(...mdTable(cr, ['l', 'r']), '');
  }
  L.push('## Streams (what the features really are)', '');
  for (const s of r.streams) L.push(`- **${s.name}** — ${s.what}`);
  L.push('', '## Configuration', '', '```json', JSON.stringify(r.config, null, 2), '```', '');
  if (r.dataset.missingVideos > 0) {
    const shown = r.dataset.missingKeys.slice(0, 30);
    L.push(
      `## Missing videos (${r.dataset.missingVideos})`,
      '',
      `Listed but not found under the root; left out of training and testing: ${shown.map((k) => `\`${k}\``).join(', ')}${r.dataset.missingVideos > shown.length ? ', …' : ''}`,
      '',
    );
  }
  L.push('## Notes', '');
  for (const n of r.notes) L.push(`- ${n}`);
  L.push('', `Wall time: ${r.wallSeconds.toFixed(1)} s.`, '');
  return L.join('\n');
}
