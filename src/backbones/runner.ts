/**
 * Manifest-driven backbone runner: frames (or clips) in, one output row per item out, batched.
 *   frame-map     [N, H, W, C]  (channels-last, whatever the model's output layout: conv map or tokens)
 *   frame-vector  [N, C]
 *   clip-map      [N, H, W, C]  (mean over T'), or [N, T'·H, W, C] with output.time "cells"
 *   clip-vector   [N, C]        (clip input NCTHW / NTHWC over `input.frames` frames)
 * The reshaping of map outputs lives in ./output.ts.
 */
import { DfanError } from '../errors.js';
import type { Frame } from '../video/types.js';
import { type EngineOptions, getEngine, type LoadedModel, ONNX_BATCH } from './engine.js';
import type { ResolvedManifest } from './manifest.js';
import { isClipKind, isMapKind, mapGeometry, storedItemShape, writeStoredMap } from './output.js';
import { clipsToTensor, framesToTensor } from './preprocess.js';
import type { BackboneManifest } from './types.js';

export interface RunnerOptions extends EngineOptions {
  /** items per inference call (default 16) */
  batchSize?: number;
}

export interface BackboneRunner {
  readonly manifest: BackboneManifest;
  /** per-item output shape as stored: [H, W, C] (clip maps with time "cells": [T'·H, W, C]) for maps, [C] for vectors */
  readonly itemShape: number[];
  /** 2-D backbones: N frames → [N, ...itemShape] */
  runFrames(frames: Frame[]): Promise<{ data: Float32Array; shape: number[] }>;
  /** clip backbones: N clips of input.frames frames → [N, ...itemShape] */
  runClips(clips: Frame[][]): Promise<{ data: Float32Array; shape: number[] }>;
  dispose(): Promise<void>;
}

export async function loadBackbone(m: ResolvedManifest, opts: RunnerOptions = {}): Promise<BackboneRunner> {
  const engine = await getEngine(m.engine);
  const model = await engine.load(m.weightsPath, opts);
  return makeRunner(m, model, opts.batchSize ?? (m.engine === 'onnx' ? ONNX_BATCH : 16));
}

/** Wrap an already-loaded model (lets callers share one model between runners). */
export function makeRunner(m: BackboneManifest, model: LoadedModel, batchSize = 16): BackboneRunner {
  const itemShape = storedItemShape(m);
  const itemSize = itemShape.reduce((a, b) => a * b, 1);
  const expected = m.output.shape.reduce((a, b) => a * b, 1);
  const geometry = isMapKind(m.kind) ? mapGeometry(m) : null;

  async function infer(
    data: Float32Array,
    shape: number[],
    n: number,
    out: Float32Array,
    offset: number,
  ): Promise<void> {
    const r = await model.run({ [m.input.name]: { data, shape } }, [m.output.name]);
    const y = r[m.output.name];
    // a map's dims must match too: [768,197] tokens or HWC read as CHW have the right size but scramble the cells
    const dimsDiffer =
      geometry !== null &&
      y.shape.length === m.output.shape.length + 1 &&
      y.shape.slice(1).some((d, k) => d !== m.output.shape[k]);
    if (y.data.length !== n * expected || dimsDiffer) {
      throw new DfanError(
        'BAD_MANIFEST',
        `backbone "${m.id}": output "${m.output.name}" has shape [${y.shape.join(',')}], manifest says [${m.output.shape.join(',')}] per item`,
        { hint: 'fix output.shape (and output.layout) in the manifest: see docs/backbones.md' },
      );
    }
    if (geometry) {
      for (let i = 0; i < n; i++)
        writeStoredMap(
          y.data.subarray(i * expected, (i + 1) * expected),
          geometry,
          out,
          offset + i * itemSize,
        );
    } else {
      out.set(y.data.subarray(0, n * itemSize), offset);
    }
  }

  return {
    manifest: m,
    itemShape,
    async runFrames(frames) {
      if (isClipKind(m.kind)) throw new Error(`backbone ${m.id} is a clip backbone: use runClips`);
      const out = new Float32Array(frames.length * itemSize);
      for (let i = 0; i < frames.length; i += batchSize) {
        const part = frames.slice(i, i + batchSize);
        const x = framesToTensor(part, m.input);
        await infer(x.data, x.shape, part.length, out, i * itemSize);
      }
      return { data: out, shape: [frames.length, ...itemShape] };
    },
    async runClips(clips) {
      if (!isClipKind(m.kind)) throw new Error(`backbone ${m.id} is a ${m.kind} backbone: use runFrames`);
      const out = new Float32Array(clips.length * itemSize);
      for (let i = 0; i < clips.length; i += batchSize) {
        const part = clips.slice(i, i + batchSize);
        const x = clipsToTensor(part, m.input);
        await infer(x.data, x.shape, part.length, out, i * itemSize);
      }
      return { data: out, shape: [clips.length, ...itemShape] };
    },
    dispose: () => model.dispose(),
  };
}

/** `frames` times spread evenly over [first, last] of a snippet's clip times (the clip itself when the counts match). */
export function clipSampleTimes(clipTimes: number[], frames: number): number[] {
  if (clipTimes.length === frames) return clipTimes;
  const a = clipTimes[0];
  const b = clipTimes[clipTimes.length - 1];
  if (frames === 1) return [(a + b) / 2];
  return Array.from({ length: frames }, (_, i) => a + ((b - a) * i) / (frames - 1));
}
