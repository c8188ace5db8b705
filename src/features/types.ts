/**
 * The feature-store contract: what `dfan extract` writes for one video and what the model,
 * the protocol runner and `dfan predict` read. One safetensors file per video, holding the
 * streams of a pack (their contract is the backbone stage's: src/backbones/streams.ts) plus
 * `mask` [T] (1 = real snippet, 0 = padding) when a video has fewer real snippets than T.
 */
import type { StreamInfo, StreamTensor } from '../backbones/streams.js';

// the stream contracts (StreamInfo, StreamTensor, Region, MapFit, FACE_LAYOUT…) for the readers of feature files
export * from '../backbones/streams.js';

export interface SnippetTimes {
  start: number;
  end: number;
  keyTime: number;
}

export interface FeatureMeta {
  /** the source video path as given (relative paths stay relative to the input root) */
  source: string;
  /** dataset key of the video (e.g. `Fear/name`) when extracted from a manifest, else the file name */
  key: string;
  sourceSize: number;
  /** sha256 of the source file content (hex) */
  sourceHash: string;
  duration: number;
  packId: string;
  /** hash of everything that changes the numbers: pack, T, K, sizes */
  configHash: string;
  dfanVersion: string;
  createdAt: string;
  streams: StreamInfo[];
  /** free-form warnings raised during extraction (e.g. "no audio stream: audio is zero") */
  warnings: string[];
}

export interface VideoFeatures {
  meta: FeatureMeta;
  snippets: SnippetTimes[]; // length T
  streams: Record<string, StreamTensor>;
  /** [T] 1 = real snippet; absent means all real */
  mask?: Float32Array;
}
