/** The prediction contract (DESIGN.md): what `dfan predict --json` prints and the server returns. */
import type { Region } from '../features/types.js';

export type { Region };

/** Progress of one prediction: the step it is at and the fraction of the whole done, in [0, 1]. */
export type ProgressFn = (stage: string, fraction: number) => void;

export interface LabelProb {
  label: string;
  prob: number;
}

export interface SnippetWeight {
  start: number;
  end: number;
  weight: number;
}

export interface SpatialGrid {
  snippet: number;
  /** [H][W], sums to 1; row 0 is the top of `region`, column 0 its left */
  grid: number[][];
  /**
   * the part of the displayed frame the grid spans, [x0, y0, x1, y1] as fractions of its width
   * and height: [0,0,1,1] = the whole frame; a centre crop is narrower, a letterbox reaches past
   * the frame (< 0 or > 1). Cell (i, j) covers x0 + (x1−x0)·[j, j+1]/W, y0 + (y1−y0)·[i, i+1]/H.
   */
  region: Region;
  /** where the grid peaks, in words, e.g. "upper-right (row 1, col 6 of 7×7)" */
  where: string;
}

export interface ModelDescriptor {
  /** e.g. "zero-shot-face-expression" or the run folder name */
  name: string;
  /** 'zero-shot' | 'trained' | 'untrained' — always shown to users */
  kind: 'zero-shot' | 'trained' | 'untrained';
  description: string;
}

export interface Prediction extends PredictionExtras {
  video: string;
  duration: number;
  model: ModelDescriptor;
  labels: LabelProb[]; // sorted by prob, descending
  snippets: SnippetWeight[]; // temporal focus, weights sum to 1
  spatial: Record<string, SpatialGrid[]>;
  warnings?: string[];
}

// ---- additions (H7): optional fields every producer may fill; consumers must tolerate absence ----

/** A contiguous range of snippets that together hold a large share of the temporal focus. */
export interface KeyMoment {
  start: number; // seconds
  end: number; // seconds
  /** summed temporal focus of the snippets in the range */
  weight: number;
  /** snippet indices in the range (indices into the feature file's snippets) */
  snippets: number[];
}

/** What one spatial stream is (shown next to its heatmap). */
export interface SpatialStreamInfo {
  name: string;
  description: string;
  /** [H, W] of the grids */
  gridSize: [number, number];
  /** the frame region its grids span (as on each grid) and the same in words, e.g. "the whole frame" */
  region?: Region;
  spans?: string;
}

/** Optional extras of a Prediction (filled by src/app/predict.ts). */
export interface PredictionExtras {
  /** snippet weight order, strongest first, merged into ranges */
  keyMoments?: KeyMoment[];
  spatialStreams?: SpatialStreamInfo[];
  /** displayed frame size of the video */
  width?: number;
  height?: number;
  /** feature pack that produced the model's inputs */
  packId?: string;
  /** seconds spent on this prediction (features + model) */
  elapsed?: number;
}

/** The model-side output before it is dressed as a Prediction (pure maths). */
export interface FocusOutput {
  /** class probabilities in `classes` order, sum 1 */
  probs: number[];
  classes: string[];
  /** temporal focus over ALL T snippets (padding = 0), sums to 1 */
  temporalFocus: number[];
  /** spatial focus per stream: [T][H][W], each grid sums to 1 */
  spatialFocus: Record<string, number[][][]>;
  /** the frame region each stream's grids span (default: from the feature file's stream info) */
  spatialRegions?: Record<string, Region>;
  warnings: string[];
}

/** A model that `dfan predict` and `dfan serve` can use: zero-shot or a trained DFAN run. */
export interface Predictor {
  descriptor: ModelDescriptor;
  /** pack to extract features with (loadPack name or id, e.g. "default") */
  pack: string;
  /** the only streams the model reads: extraction requests just these */
  streams: string[];
  /** snippets and frames per clip the model expects */
  T: number;
  K: number;
  /** one honest line per spatial stream */
  streamDescriptions: Record<string, string>;
  predict(features: import('../features/types.js').VideoFeatures): Promise<FocusOutput> | FocusOutput;
  dispose?(): Promise<void> | void;
}
