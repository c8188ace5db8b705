/**
 * The feature streams a pack produces: the backbone stage's output contract, stored per video by
 * the feature store (src/features/types.ts) and read by the model, `dfan predict` and the reports.
 *
 * Stream names (a pack may provide any subset; users' packs may add more):
 *   object   [T, H, W, C]  spatial map of an image backbone (key frame of each snippet)
 *   context  [T, C] or [T, H, W, C]  global context descriptor ("scene" only if a Places model made it)
 *   action   [T, C]        motion / action vector per snippet
 *   face     [T, C]        most prominent face: see FACE_LAYOUT
 *   audio    [T, C]        audio event scores pooled per snippet
 */

export type StreamKind = 'map' | 'vector';

/**
 * A rectangle of the displayed frame as fractions [x0, y0, x1, y1] (0..1 = the frame's edges).
 * For a map stream it is the part of the frame its H×W grid spans: [0,0,1,1] when the whole
 * frame was stretched onto the backbone's input, the centre square for a centre crop, and a
 * rectangle reaching past the frame (< 0 or > 1) for a letterbox, whose padding also has cells.
 */
export type Region = [number, number, number, number];

/** How a key frame was fitted onto a map backbone's input (src/backbones/preprocess.ts). */
export type MapFit = 'crop' | 'letterbox' | 'stretch';

export interface StreamTensor {
  /** row-major; maps are [T, H, W, C], vectors [T, C] */
  shape: number[];
  data: Float32Array;
}

export interface StreamInfo {
  name: string;
  kind: StreamKind;
  /** backbone id that produced it, e.g. "nsfwjs-mobilenet_v2@4.3.0/out_relu" */
  backbone: string;
  /** one honest line: what the weights were trained on / what the vector means */
  description: string;
  /** map streams: how the frame was fitted onto the backbone's input (absent in files before it: 'crop') */
  fit?: MapFit;
  /** map streams: width / height of the backbone's input (default 1, a square) */
  inputAspect?: number;
  /** map streams, per video: the frame region the grid spans (written by the extraction) */
  region?: Region;
  /**
   * map streams of a clip backbone kept at T'·H·W cells (manifest output.time "cells"): the map is
   * [T, T'·H, W, C], its T' grids of H×W stacked in the rows, each spanning `region`. Absent = 1.
   */
  timeSteps?: number;
}

/** Layout of the `face` vector (12 dims). Expression order follows FACE_EXPRESSIONS. */
export const FACE_EXPRESSIONS = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'] as const;
export const FACE_LAYOUT = {
  presence: 0, // 0 or 1 (detector confidence when present)
  box: [1, 2, 3, 4], // x, y, w, h in [0,1] of the displayed frame
  expressions: [5, 6, 7, 8, 9, 10, 11], // probabilities, FACE_EXPRESSIONS order
  size: 12,
} as const;
