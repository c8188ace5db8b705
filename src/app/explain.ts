/**
 * Pure helpers that dress a model's FocusOutput as the Prediction contract and explain it:
 * key moments (where the temporal focus sat), where in the frame the spatial focus sat, mm:ss.
 */
import { mapRegion } from '../features/region.js';
import type { Region, VideoFeatures } from '../features/types.js';
import type { FocusOutput, KeyMoment, Prediction, Predictor, SpatialGrid } from './types.js';

/** Normalise to sum 1 (uniform when the sum is not positive). */
export function normalise(xs: number[]): number[] {
  const s = xs.reduce((a, b) => a + (Number.isFinite(b) && b > 0 ? b : 0), 0);
  if (!(s > 0)) return xs.map(() => 1 / xs.length);
  return xs.map((x) => (Number.isFinite(x) && x > 0 ? x / s : 0));
}

export function normaliseGrid(grid: number[][]): number[][] {
  const flat = normalise(grid.flat());
  const w = grid[0]?.length ?? 0;
  return grid.map((row, i) => row.map((_, j) => flat[i * w + j]));
}

/** 75.4 → "1:15"; 3725 → "1:02:05" */
export function mmss(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(r)}` : `${m}:${pad(r)}`;
}

/** 2.45 → "0:02.5" (tenths, for short snippets) */
export function mmssTenths(seconds: number): string {
  const t = Math.max(0, Math.round(seconds * 10) / 10);
  const m = Math.floor(t / 60);
  const r = t - m * 60;
  return `${m}:${r.toFixed(1).padStart(4, '0')}`;
}

/** A time range in mm:ss, with tenths when it is short (so two ends never print the same). */
export function timeRange(start: number, end: number): string {
  const f = end - start < 10 || mmss(start) === mmss(end) ? mmssTenths : mmss;
  return `${f(start)}–${f(end)}`;
}

/**
 * Key moments: the fewest snippets (at most `max`) that hold the most focus, merged into
 * contiguous ranges, strongest range first. A snippet counts when its weight is above the
 * uniform share; none when the focus is flat.
 */
export function keyMoments(snippets: Prediction['snippets'], indices: number[], max = 3): KeyMoment[] {
  const n = snippets.length;
  if (n === 0) return [];
  const order = snippets.map((_, i) => i).sort((a, b) => snippets[b].weight - snippets[a].weight || a - b);
  const uniform = 1 / n;
  // a flat focus points at nothing: no key moment rather than an arbitrary first snippet
  if (snippets[order[0]].weight <= uniform * 1.05) return [];
  const picked = order.filter((i, k) => k === 0 || snippets[i].weight > uniform * 1.05).slice(0, max);
  picked.sort((a, b) => a - b);
  const ranges: number[][] = [];
  for (const i of picked) {
    const last = ranges[ranges.length - 1];
    if (last && last[last.length - 1] === i - 1) last.push(i);
    else ranges.push([i]);
  }
  return ranges
    .map((r) => ({
      start: snippets[r[0]].start,
      end: snippets[r[r.length - 1]].end,
      weight: r.reduce((a, i) => a + snippets[i].weight, 0),
      snippets: r.map((i) => indices[i]),
    }))
    .sort((a, b) => b.weight - a.weight);
}

/** A region in words: "the whole frame", or the share of the frame it spans. */
export function regionInWords(r: Region): string {
  const pct = (v: number) => `${Math.round(v * 100)} %`;
  const full = (a: number, b: number) => Math.abs(a) < 1e-3 && Math.abs(b - 1) < 1e-3;
  if (full(r[0], r[2]) && full(r[1], r[3])) return 'the whole frame';
  const past = r[0] < -1e-3 || r[1] < -1e-3 || r[2] > 1.001 || r[3] > 1.001;
  const part = `x ${pct(r[0])}–${pct(r[2])}, y ${pct(r[1])}–${pct(r[3])} of the frame`;
  if (past) return `the whole frame and the padding around it (${part})`;
  return `part of the frame: ${part}`;
}

/** describeGrid as one phrase with its cell, as the web page shows it under the heatmap. */
export function whereInWords(grid: number[][], region: Region = [0, 0, 1, 1]): string {
  const d = describeGrid(grid, region);
  if (d.where.startsWith('spread')) return d.where;
  return `${d.where} (row ${d.row + 1}, col ${d.col + 1} of ${grid.length}×${grid[0].length})`;
}

const ROWS = ['upper', 'middle', 'lower'];
const COLS = ['left', 'centre', 'right'];

/**
 * Where a grid peaks, in words of the displayed frame (the grid spans `region` of it): e.g.
 * { row: 1, col: 5, where: "upper-right", peak: 0.21 }.
 */
export function describeGrid(
  grid: number[][],
  region: Region = [0, 0, 1, 1],
): { row: number; col: number; where: string; peak: number } {
  const h = grid.length;
  const w = grid[0]?.length ?? 0;
  let best = -1;
  let row = 0;
  let col = 0;
  for (let i = 0; i < h; i++)
    for (let j = 0; j < w; j++)
      if (grid[i][j] > best) {
        best = grid[i][j];
        row = i;
        col = j;
      }
  const flat = grid.flat();
  const uniform = flat.length > 0 && flat.every((v) => Math.abs(v - flat[0]) < 1e-6);
  if (uniform) return { row, col, where: 'spread evenly (no focus)', peak: best };
  // the peak cell's centre in frame fractions, clamped to the frame (a letterbox's padding)
  const fx = Math.min(0.999, Math.max(0, region[0] + ((col + 0.5) / w) * (region[2] - region[0])));
  const fy = Math.min(0.999, Math.max(0, region[1] + ((row + 0.5) / h) * (region[3] - region[1])));
  const r = ROWS[Math.floor(fy * 3)];
  const c = COLS[Math.floor(fx * 3)];
  const where = r === 'middle' && c === 'centre' ? 'centre' : r === 'middle' ? `middle-${c}` : `${r}-${c}`;
  return { row, col, where, peak: best };
}

/** Weighted mean of the grids of the given snippets (weights = temporal focus). */
export function pooledGrid(
  grids: SpatialGrid[],
  weights: Map<number, number>,
  only?: number[],
): number[][] | null {
  const use = grids.filter((g) => (only ? only.includes(g.snippet) : true));
  if (use.length === 0) return null;
  const h = use[0].grid.length;
  const w = use[0].grid[0].length;
  const acc = Array.from({ length: h }, () => new Array<number>(w).fill(0));
  for (const g of use) {
    const b = weights.get(g.snippet) ?? 0;
    for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) acc[i][j] += b * g.grid[i][j];
  }
  return normaliseGrid(acc);
}

/**
 * The frame region a stream's grids span: the model's word, else the feature file's (map streams
 * carry it per video), else the whole frame (e.g. a grid made from face boxes in frame fractions).
 */
export function gridRegionOf(
  stream: string,
  features: VideoFeatures,
  out: Pick<FocusOutput, 'spatialRegions'>,
  size: { width?: number; height?: number } = {},
): Region {
  const given = out.spatialRegions?.[stream];
  if (given) return given;
  const info = features.meta.streams.find((s) => s.name === stream);
  if (info?.kind !== 'map') return [0, 0, 1, 1];
  return mapRegion(info, size.width ?? 16, size.height ?? 9);
}

/**
 * A clip map kept at T'·H·W cells (StreamInfo.timeSteps) has its T' grids stacked in the rows;
 * where in the frame the focus sat is their sum, one H×W grid. Other grids pass unchanged.
 */
export function foldTimeSteps(grid: number[][], steps: number): number[][] {
  if (!(steps > 1) || grid.length % steps !== 0) return grid;
  const h = grid.length / steps;
  const out = grid.slice(0, h).map((row) => row.map(() => 0));
  grid.forEach((row, k) => {
    row.forEach((v, j) => {
      out[k % h][j] += v;
    });
  });
  return out;
}

/** FocusOutput + features → the Prediction contract (real snippets only, sums renormalised). */
export function toPrediction(
  video: string,
  features: VideoFeatures,
  out: FocusOutput,
  predictor: Pick<Predictor, 'descriptor' | 'streamDescriptions'>,
  extra: { width?: number; height?: number; elapsed?: number } = {},
): Prediction {
  const T = features.snippets.length;
  const real = Array.from({ length: T }, (_, t) => (features.mask ? features.mask[t] > 0.5 : true));
  let indices = real.map((r, t) => (r ? t : -1)).filter((t) => t >= 0);
  if (indices.length === 0) indices = Array.from({ length: T }, (_, t) => t);
  const weights = normalise(indices.map((t) => out.temporalFocus[t] ?? 0));
  const snippets = indices.map((t, i) => ({
    start: features.snippets[t].start,
    end: features.snippets[t].end,
    weight: weights[i],
  }));
  const probs = normalise(out.probs);
  const labels = out.classes
    .map((label, i) => ({ label, prob: probs[i] }))
    .sort((a, b) => b.prob - a.prob || a.label.localeCompare(b.label));
  const spatial: Prediction['spatial'] = {};
  const spatialStreams: NonNullable<Prediction['spatialStreams']> = [];
  for (const [stream, grids] of Object.entries(out.spatialFocus)) {
    const region = gridRegionOf(stream, features, out, extra);
    const steps = features.meta.streams.find((s) => s.name === stream)?.timeSteps ?? 1;
    spatial[stream] = indices.map((t) => {
      const grid = normaliseGrid(foldTimeSteps(grids[t], steps));
      return { snippet: t, grid, region, where: whereInWords(grid, region) };
    });
    const g = spatial[stream][0]?.grid ?? grids[indices[0]];
    spatialStreams.push({
      name: stream,
      description: predictor.streamDescriptions[stream] ?? stream,
      gridSize: [g.length, g[0]?.length ?? 0],
      region,
      spans: regionInWords(region),
    });
  }
  const moments = keyMoments(snippets, indices);
  const warnings = [...(features.meta.warnings ?? []), ...out.warnings];
  return {
    video,
    duration: features.meta.duration,
    model: predictor.descriptor,
    labels,
    snippets,
    spatial,
    warnings,
    keyMoments: moments,
    spatialStreams,
    packId: features.meta.packId,
    ...(extra.width ? { width: extra.width, height: extra.height } : {}),
    ...(extra.elapsed !== undefined ? { elapsed: Math.round(extra.elapsed * 1000) / 1000 } : {}),
  };
}

/** Check the contract's invariants; returns the list of problems (empty = fine). Used by tests and the server. */
export function checkPrediction(p: Prediction, tol = 1e-4): string[] {
  const problems: string[] = [];
  for (let i = 1; i < p.labels.length; i++)
    if (p.labels[i].prob > p.labels[i - 1].prob) problems.push('labels are not sorted by probability');
  const ps = p.labels.reduce((a, l) => a + l.prob, 0);
  if (Math.abs(ps - 1) > tol) problems.push(`label probabilities sum to ${ps}`);
  const ws = p.snippets.reduce((a, s) => a + s.weight, 0);
  if (Math.abs(ws - 1) > tol) problems.push(`snippet weights sum to ${ws}`);
  for (const [stream, grids] of Object.entries(p.spatial))
    for (const g of grids) {
      const s = g.grid.flat().reduce((a, b) => a + b, 0);
      if (Math.abs(s - 1) > tol) problems.push(`${stream} grid of snippet ${g.snippet} sums to ${s}`);
    }
  if (!p.model?.kind) problems.push('model kind is missing');
  return problems;
}
