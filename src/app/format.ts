/** Terminal rendering of a Prediction: bars, key moments, where the spatial focus sat. */
import { describeGrid, mmss, pooledGrid, timeRange } from './explain.js';
import { labelsHeading } from './labels.js';
import type { Prediction } from './types.js';

export function bar(fraction: number, width = 24): string {
  const f = Math.max(0, Math.min(1, fraction));
  const eighths = Math.round(f * width * 8);
  const full = Math.floor(eighths / 8);
  const rest = eighths % 8;
  const parts = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
  return ('█'.repeat(full) + parts[rest]).padEnd(width, ' ');
}

export function modelBanner(p: Prediction): string {
  const m = p.model;
  if (m.kind === 'zero-shot')
    return `model: ${m.name} (ZERO-SHOT face-expression model, untrained on video emotion)`;
  if (m.kind === 'untrained') return `model: ${m.name} (UNTRAINED: outputs are meaningless)`;
  return `model: ${m.name} (trained DFAN run)`;
}

export function formatPrediction(p: Prediction, opts: { top?: number; color?: boolean } = {}): string {
  const top = Math.max(1, opts.top ?? 3);
  const lines: string[] = [];
  lines.push(`${p.video}  (${mmss(p.duration)}, ${p.snippets.length} snippets)`);
  lines.push(`  ${modelBanner(p)}`);
  lines.push(`  ${labelsHeading(p.labels)}`);
  const w = Math.max(...p.labels.slice(0, top).map((l) => l.label.length), 6);
  for (const l of p.labels.slice(0, top)) {
    lines.push(`    ${l.label.padEnd(w)}  ${bar(l.prob)} ${(l.prob * 100).toFixed(1).padStart(5)} %`);
  }
  const moments = p.keyMoments ?? [];
  if (moments.length === 0) lines.push('  key moments: none (the temporal focus is flat)');
  if (moments.length > 0) {
    lines.push('  key moments (temporal focus)');
    for (const k of moments) {
      lines.push(
        `    ${timeRange(k.start, k.end)}  ${(k.weight * 100).toFixed(0).padStart(3)} % of the focus  (snippet${k.snippets.length > 1 ? 's' : ''} ${k.snippets.map((i) => `#${i + 1}`).join(', ')})`,
      );
    }
  }
  const key = moments[0]?.snippets;
  const streams = Object.entries(p.spatial);
  if (streams.length > 0)
    lines.push(`  spatial focus (${key ? 'at the top key moment' : 'over the whole video'})`);
  for (const [stream, grids] of streams) {
    const weights = new Map<number, number>();
    grids.forEach((g, i) => {
      weights.set(g.snippet, p.snippets[i]?.weight ?? 0);
    });
    const grid = pooledGrid(grids, weights, key);
    if (!grid) continue;
    const d = describeGrid(grid);
    const cells = `${grid.length}×${grid[0].length}`;
    lines.push(
      d.where.startsWith('spread')
        ? `    ${stream}: ${d.where}`
        : `    ${stream}: ${d.where} (cell row ${d.row + 1}, col ${d.col + 1} of ${cells}; peak ${(d.peak * 100).toFixed(0)} %)`,
    );
  }
  for (const warning of p.warnings ?? []) lines.push(`  warning: ${warning}`);
  return lines.join('\n');
}
