/**
 * How well a run's focus finds the demo's cue (pure): the temporal hit (the top-β snippet overlaps
 * the interval the photo is shown in) and spatial pointing (the peak α cell lies on the photo's
 * box), with their chance levels, from the test predictions and the ground truth of truth.json.
 */
import { gridRegion } from '../backbones/preprocess.js';
import { DfanError } from '../errors.js';
import type { Region } from '../features/types.js';
import type { VideoResult } from '../model/evaluate.js';
import { cueCellWeights, nearestCueSnippet } from './cue-ceiling.js';
import type { FocusVideo } from './spec.js';

export interface FocusScores {
  accuracy: number;
  /** share of test videos whose top-β snippet overlaps the cue interval */
  temporalHit: number;
  temporalChance: number;
  /** share whose peak α cell at the top-β snippet lies in the cue box, one cell of tolerance */
  pointing: number;
  pointingChance: number;
  /** stricter: peak α cell at the cue snippet inside the cue box (no tolerance) */
  pointingAtCue: number;
  pointingAtCueChance: number;
  n: number;
}

/** Whether a snippet's span overlaps the cue interval (what the temporal hit counts). */
export function onCue(s: { start: number; end: number }, cue: { start: number; end: number }): boolean {
  return s.start < cue.end && s.end > cue.start;
}

/** The snippet with the largest β. */
export function topSnippet(v: Pick<VideoResult, 'beta'>): number {
  return v.beta.indexOf(Math.max(...v.beta));
}

/** The cell with the largest α; null when α is uniform (no spatial focus: it points nowhere). */
export function peakCell(alpha: number[] | undefined): number | null {
  if (!alpha) return null;
  const max = Math.max(...alpha);
  if (max - Math.min(...alpha) < 1e-9) return null;
  return alpha.indexOf(max);
}

export function truthOf(truth: Map<string, FocusVideo>, key: string): FocusVideo {
  const t = truth.get(key);
  if (!t) throw new DfanError('INTERNAL', `no ground truth for ${key}`);
  return t;
}

/** Videos classified right although their top-β snippet does not overlap the cue: fitted on something else. */
export function fittedWithoutCue(videos: VideoResult[], truth: Map<string, FocusVideo>): number {
  return videos.filter(
    (v) => v.predicted === v.label && !onCue(v.snippets[topSnippet(v)], truthOf(truth, v.key).cue),
  ).length;
}

/**
 * The region a grid spans when a feature file does not say (files from before regions): the
 * centre square of the frame, as the old centre crop onto a square input.
 */
export function centreSquareRegion(width: number, height: number): Region {
  return gridRegion(width, height, 1, 1, 'crop');
}

/**
 * Cells of an H×W object map that overlap the cue box by ≥ 10 % of a cell, when the grid spans
 * `region` of the frame ([0,0,1,1]: the whole frame stretched to the square input).
 */
export function cueCells(
  v: Pick<FocusVideo, 'cue' | 'frame'>,
  H: number,
  W: number,
  region: Region,
): number[] {
  return [...cueCellWeights(v, H, W, region).entries()].flatMap(([i, w]) => (w >= 0.1 ? [i] : []));
}

/** The cells within `tolerance` cells (Chebyshev distance) of any of `cells`. */
export function dilateCells(cells: number[], H: number, W: number, tolerance = 1): number[] {
  const out = new Set<number>();
  for (const i of cells) {
    const r = Math.floor(i / W);
    const c = i % W;
    for (let dr = -tolerance; dr <= tolerance; dr++)
      for (let dc = -tolerance; dc <= tolerance; dc++) {
        const rr = r + dr;
        const cc = c + dc;
        if (rr >= 0 && rr < H && cc >= 0 && cc < W) out.add(rr * W + cc);
      }
  }
  return [...out].sort((a, b) => a - b);
}

/** Where one video's focus landed, against its truth; chances are this video's shares. */
export interface VideoFocus {
  /** the top-β snippet overlaps the cue interval */
  hit: boolean;
  /** share of the video's snippets that overlap the cue */
  hitChance: number;
  /** the peak α cell at the top-β snippet lies within one cell of the box */
  pointing: boolean;
  pointingChance: number;
  /** the peak α cell at the cue snippet lies in the box */
  pointingAtCue: boolean;
  pointingAtCueChance: number;
}

export function videoFocus(
  v: VideoResult,
  t: FocusVideo,
  grid: { H: number; W: number },
  region: Region,
): VideoFocus {
  const overlaps = v.snippets.map((s) => onCue(s, t.cue));
  const top = topSnippet(v);
  const cells = cueCells(t, grid.H, grid.W, region);
  const near = dilateCells(cells, grid.H, grid.W, 1);
  // the pointing: the peak α cell at the top-β snippet, inside the box ± one cell
  const peak = peakCell(v.alpha.object?.[top]);
  // the earlier, stricter one: at the cue snippet, no tolerance
  const peakAtCue = peakCell(v.alpha.object?.[nearestCueSnippet(v.snippets, t.cue)]);
  return {
    hit: overlaps[top],
    hitChance: overlaps.filter(Boolean).length / v.snippets.length,
    pointing: peak !== null && near.includes(peak),
    pointingChance: near.length / (grid.H * grid.W),
    pointingAtCue: peakAtCue !== null && cells.includes(peakAtCue),
    pointingAtCueChance: cells.length / (grid.H * grid.W),
  };
}

/** Temporal hit rate and spatial pointing accuracy of a run's test predictions, with chance levels. */
export function focusScores(
  videos: VideoResult[],
  truth: Map<string, FocusVideo>,
  grid: { H: number; W: number },
  accuracy: number,
  regionOf: (key: string, v: FocusVideo) => Region = (_k, v) =>
    centreSquareRegion(v.frame.width, v.frame.height),
): FocusScores {
  const per = videos.map((v) => {
    const t = truthOf(truth, v.key);
    return videoFocus(v, t, grid, regionOf(v.key, t));
  });
  const n = videos.length;
  // summed in video order, then divided: the figures of the reports before this module
  const mean = (f: (x: VideoFocus) => number | boolean) => per.reduce((s, x) => s + Number(f(x)), 0) / n;
  return {
    accuracy,
    temporalHit: mean((x) => x.hit),
    temporalChance: mean((x) => x.hitChance),
    pointing: mean((x) => x.pointing),
    pointingChance: mean((x) => x.pointingChance),
    pointingAtCue: mean((x) => x.pointingAtCue),
    pointingAtCueChance: mean((x) => x.pointingAtCueChance),
    n,
  };
}
