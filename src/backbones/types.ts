/**
 * Contracts of the backbone stage. A backbone is a JSON manifest + weights; a pack is a set of
 * backbones that together produce the named streams of ./streams.ts (stored by src/features).
 */

import type { DecodeOptions, Frame, Snippet, VideoInfo } from '../video/types.js';
import type { StreamInfo, StreamTensor } from './streams.js';

export type BackboneKind = 'frame-map' | 'frame-vector' | 'clip-vector' | 'clip-map';

/**
 * How a map backbone lays out one item's output (without the batch axis):
 *   CHW / HWC     frame-map conv map [C,H,W] / [H,W,C]
 *   CTHW / THWC   clip-map conv map [C,T',H,W] / [T',H,W,C]
 *   tokens        a token sequence [skipTokens + (T'·)H·W, C]: leading tokens (class, registers)
 *                 first, then the patch tokens in row-major grid order ((t,) h, w)
 */
export type MapLayout = 'CHW' | 'HWC' | 'CTHW' | 'THWC' | 'tokens';
export type EngineName = 'onnx' | 'tfjs' | 'tflite';

/** The JSON manifest of one backbone (documented in docs/backbones.md with a complete example). */
export interface BackboneManifest {
  id: string; // unique, e.g. "mobilenetv2-imagenet-int8"
  stream: string; // which feature stream it fills: object | context | action | face | audio | <custom>
  kind: BackboneKind;
  engine: EngineName;
  /** weights file, relative to the manifest */
  weights: string;
  sha256?: string;
  input: {
    name: string;
    size: [number, number]; // [height, width]
    crop: 'crop' | 'letterbox' | 'stretch';
    layout: 'NCHW' | 'NHWC' | 'NCTHW' | 'NTHWC';
    colorOrder: 'RGB' | 'BGR';
    scale: number; // pixel (0..255) × scale, then (x - mean) / std
    mean: [number, number, number];
    std: [number, number, number];
    /** clip-vector and clip-map: frames per clip */
    frames?: number;
  };
  output: {
    name: string;
    /** shape per item without batch, e.g. [1280, 7, 7] (C,H,W), [197, 768] (tokens) or [1280] */
    shape: number[];
    /** maps: CHW (frame-map default), HWC, CTHW (clip-map default), THWC or tokens */
    layout?: MapLayout;
    /** tokens: leading tokens dropped before the patch grid (class token, registers); default 0 */
    skipTokens?: number;
    /** tokens: the patch grid the other tokens fill, [H, W] (frame-map) or [T', H, W] (clip-map) */
    grid?: number[];
    /** clip-map: `mean` over T' → H×W cells (default), or `cells` → T'·H·W cells per snippet */
    time?: 'mean' | 'cells';
  };
  licence: string;
  /** one honest line: what the weights were trained on */
  description: string;
}

/** Everything a pack needs to compute features for one video. */
export interface PackInput {
  info: VideoInfo;
  snippets: Snippet[];
  /** decode frames at the given times (delegates to src/video/decode) */
  decode: (times: number[], opts: DecodeOptions) => Promise<Frame[]>;
}

/** A loaded pack: produces every stream it declares for one video. */
export interface FeaturePack {
  id: string; // e.g. "default@0.1.0" — stored in every feature file
  streams: StreamInfo[];
  /** returns one tensor per declared stream; warnings (e.g. "no audio") go to `warnings` */
  extract(input: PackInput): Promise<{ streams: Record<string, StreamTensor>; warnings: string[] }>;
  dispose(): Promise<void>;
}
