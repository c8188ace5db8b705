/**
 * The protocol report as Markdown (OUT/report.md): the split protocol, the result (one line, or
 * the ablation table, with the test-selected column when it was observed), per variant its splits
 * and per-class recall, the streams, the configuration and the notes. Pure.
 */
import type { ProtocolReport, VariantSummary } from './report.js';

const pct = (x: number, d = 1) => `${(100 * x).toFixed(d)}`;

/** A Markdown table: `rows[0]` is the head; 'r' right-aligns a column (figures). */
export function mdTable(rows: string[][], align: Array<'l' | 'r'>): string[] {
  const sep = align.map((a) => (a === 'r' ? '---:' : '---'));
  return [
    `| ${rows[0].join(' | ')} |`,
    `|${sep.join('|')}|`,
    ...rows.slice(1).map((r) => `| ${r.join(' | ')} |`),
  ];
}

/** The ablation table (also printed by the CLI). */
export function ablationTable(report: ProtocolReport): string[] {
  const selected = Object.values(report.variants).some((v) => v.testSelected);
  const rows: string[][] = [
    [
      'variant',
      'spatial focus',
      'temporal focus',
      'accuracy % (mean ± std)',
      ...(selected ? [TEST_SELECTED_COLUMN] : []),
      'splits',
    ],
  ];
  const focus: Record<string, [string, string]> = {
    mean: ['–', '–'],
    temporal: ['–', '✓'],
    spatial: ['✓', '–'],
    dual: ['✓', '✓'],
  };
  for (const v of Object.values(report.variants)) {
    const f = focus[v.variant] ?? ['?', '?'];
    const sel = selected ? [selectedCell(v)] : [];
    rows.push([v.variant, f[0], f[1], `${pct(v.mean)} ± ${pct(v.std)}`, ...sel, String(v.splits.length)]);
  }
  return mdTable(rows, ['l', 'l', 'l', 'r', ...(selected ? (['r'] as const) : []), 'r']);
}

const TEST_SELECTED_COLUMN = 'test-selected % (not a fair estimate)';

/** A variant's test-selected mean ± std, with the split count when not every split has it. */
function selectedCell(v: VariantSummary): string {
  const t = v.testSelected;
  if (!t) return '–';
  const some = t.splits < v.splits.length ? ` (${t.splits} of ${v.splits.length} splits)` : '';
  return `${pct(t.mean)} ± ${pct(t.std)}${some}`;
}

/** The result: one variant's line (and its test-selected line), or the ablation table. */
function resultLines(r: ProtocolReport): string[] {
  const variants = Object.values(r.variants);
  if (r.ablation || variants.length > 1) return [...ablationTable(r), ''];
  const v = variants[0];
  if (!v) return [];
  const L = [
    `**${v.variant}**: test accuracy **${pct(v.mean)} % ± ${pct(v.std)}** (mean ± sample std over ${v.splits.length} split${v.splits.length > 1 ? 's' : ''}; min ${pct(v.min)} %, max ${pct(v.max)} %).`,
    '',
  ];
  const t = v.testSelected;
  if (t)
    L.push(
      `Test-selected (best epoch chosen on the test split, as VAANet/CTEN code does; not a fair estimate): ${pct(t.mean)} % ± ${pct(t.std)} over ${t.splits} split${t.splits > 1 ? 's' : ''}, for comparison with published tables that report it (see the notes).`,
      '',
    );
  return L;
}

/** A variant's splits (with each split's test-selected figure and epoch when observed) and its per-class recall. */
function variantLines(r: ProtocolReport, v: VariantSummary): string[] {
  const sel = v.testSelected !== null;
  const rows = [
    [
      'split',
      'accuracy %',
      ...(sel ? ['test-selected % (epoch)'] : []),
      'evaluated / listed',
      'train',
      'val',
      'best epoch',
      'confusion matrix',
    ],
  ];
  for (const s of v.splits) {
    const t = s.testSelected;
    rows.push([
      String(s.split),
      pct(s.metrics.accuracy),
      ...(sel ? [t ? `${pct(t.accuracy)} (${t.epoch})` : '–'] : []),
      `${s.evaluated} / ${s.testListed}`,
      String(s.trainSize),
      String(s.valSize),
      `${s.bestEpoch} / ${s.epochs}`,
      `[png](${v.variant}/split-${String(s.split).padStart(2, '0')}/${s.confusionPng})`,
    ]);
  }
  const cr = [['class', 'recall %']];
  for (const c of r.dataset.classes) {
    const x = v.perClassRecall[c];
    cr.push([c, x ? `${pct(x.mean)} ± ${pct(x.std)}` : '–']);
  }
  return [
    `### ${v.variant}: per split`,
    '',
    ...mdTable(rows, [...rows[0].slice(1).map(() => 'r' as const), 'l']),
    '',
    `### ${v.variant}: per-class recall (mean ± std over splits)`,
    '',
    ...mdTable(cr, ['l', 'r']),
    '',
  ];
}

export function reportMarkdown(r: ProtocolReport): string {
  const L: string[] = [];
  L.push(`# dfan protocol — ${r.dataset.name}`, '');
  L.push(
    `${r.dataset.classes.length} classes, split${r.dataset.splits.length > 1 ? 's' : ''} ${r.dataset.splits.join(', ')} (${r.dataset.randomSplits ? 'random stratified 2:1 splits made by dfan' : `from ${r.dataset.source}`}); feature pack \`${r.packId}\`; dfan ${r.dfanVersion}; ${r.createdAt}.`,
    '',
    `**Split protocol**: ${r.dataset.protocol.description}.`,
    '',
  );
  L.push('## Result', '', ...resultLines(r));
  for (const v of Object.values(r.variants)) L.push(...variantLines(r, v));
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
