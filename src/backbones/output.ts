/**
 * A backbone's output contract: the manifest's `output` section (validated once, at the door) and
 * how one item's output becomes what the feature store holds. Maps are stored channels-last, one
 * grid of cells per snippet, whatever the model emits:
 *   frame-map  CHW [C,H,W] · HWC [H,W,C] · tokens [skip + H·W, C]              → [H, W, C]
 *   clip-map   CTHW [C,T',H,W] · THWC [T',H,W,C] · tokens [skip + T'·H·W, C]
 *              time "mean" (default)                                          → [H, W, C]
 *              time "cells": the T' grids stacked in the rows                 → [T'·H, W, C]
 * Tokens are the transformer's sequence after its last block: the `skipTokens` leading ones (class
 * token, registers) are dropped, the rest fill the patch grid in row-major order ((t,) h, w), as
 * ViT, CLIP and VideoMAE flatten their patch embeddings.
 */
import { fail, integer, type Json, object, oneOf, positiveInts, str } from './manifest-fields.js';
import type { BackboneKind, BackboneManifest, MapLayout } from './types.js';

type Output = BackboneManifest['output'];

const FRAME_LAYOUTS = ['CHW', 'HWC', 'tokens'] as const;
const CLIP_LAYOUTS = ['CTHW', 'THWC', 'tokens'] as const;

export function isMapKind(kind: BackboneKind): boolean {
  return kind === 'frame-map' || kind === 'clip-map';
}

export function isClipKind(kind: BackboneKind): boolean {
  return kind === 'clip-vector' || kind === 'clip-map';
}

function refuse(o: Json, keys: string[], file: string, prefix: string, why: string): void {
  for (const k of keys) if (o[k] !== undefined) fail(file, prefix + k, why);
}

/** Validate the `output` section of a manifest of `kind` (`prefix` = `"<id>: "`). */
export function validateOutput(raw: unknown, kind: BackboneKind, file: string, prefix: string): Output {
  const o = object(raw, file, `${prefix}output`);
  const p = `${prefix}output.`;
  const name = str(o, 'name', file, p) as string;
  const shape = positiveInts(o, 'shape', null, file, p);
  if (!isMapKind(kind)) {
    refuse(o, ['skipTokens', 'grid', 'time'], file, p, `is for map outputs, but kind is ${kind}`);
    if (shape.length !== 1) fail(file, `${p}shape`, `must have 1 dim for a ${kind}, got ${shape.length}`);
    // vectors ignore the layout; older manifests may state one, so it is still accepted
    const layout = o.layout === undefined ? undefined : oneOf(o, 'layout', ['CHW', 'HWC'] as const, file, p);
    return { name, shape, ...(layout ? { layout } : {}) };
  }
  const clip = kind === 'clip-map';
  const layout: MapLayout = clip
    ? oneOf(o, 'layout', CLIP_LAYOUTS, file, p, 'CTHW')
    : oneOf(o, 'layout', FRAME_LAYOUTS, file, p, 'CHW');
  const out: Output = { name, shape, layout };
  if (clip) out.time = oneOf(o, 'time', ['mean', 'cells'] as const, file, p, 'mean');
  else refuse(o, ['time'], file, p, 'is for clip-map outputs only');
  if (layout !== 'tokens') {
    refuse(o, ['skipTokens', 'grid'], file, p, `is for token outputs, but layout is ${layout}`);
    if (shape.length !== layout.length)
      fail(
        file,
        `${p}shape`,
        `must have ${layout.length} dims (${layout.split('').join(',')}) for a ${kind} with layout ${layout}, got ${shape.length}`,
      );
    return out;
  }
  return { ...out, ...tokenGrid(o, shape, clip, file, p) };
}

/** `skipTokens` and `grid` of a token output, checked against `shape` [tokens, C]. */
function tokenGrid(
  o: Json,
  shape: number[],
  clip: boolean,
  file: string,
  p: string,
): { skipTokens: number; grid: number[] } {
  if (shape.length !== 2)
    fail(file, `${p}shape`, `must be [tokens, C] for layout tokens, got ${shape.length} dims`);
  const skipTokens = integer(o, 'skipTokens', 0, 0, file, p);
  const dims = clip ? "[T', H, W]" : '[H, W]';
  if (o.grid === undefined) {
    const n = shape[0] - skipTokens;
    const side = Math.round(Math.sqrt(n));
    const eg = !clip && side * side === n ? ` (e.g. [${side}, ${side}] for ${n} patch tokens)` : '';
    fail(file, `${p}grid`, `is missing: a token output needs its patch grid ${dims}${eg}`);
  }
  const grid = positiveInts(o, 'grid', clip ? 3 : 2, file, p, `${dims}, positive integers`);
  const cells = grid.reduce((a, b) => a * b, 1);
  if (shape[0] !== skipTokens + cells)
    fail(
      file,
      `${p}shape`,
      `has ${shape[0]} tokens, but skipTokens ${skipTokens} + grid ${grid.join('×')} makes ${skipTokens + cells}`,
    );
  return { skipTokens, grid };
}

/** Where one item's map values sit in the model's output. */
export interface MapGeometry {
  /** channels, time steps (1 for frame maps), grid rows and columns */
  C: number;
  T: number;
  H: number;
  W: number;
  /** [C, T', H, W] order (conv maps from PyTorch); else [T', H, W, C] (HWC, THWC, tokens) */
  channelsFirst: boolean;
  /** leading values to skip: skipTokens × C */
  offset: number;
  /** keep the T' grids as cells (stacked rows) instead of their mean */
  cells: boolean;
}

/** The geometry of a validated map manifest's output. */
export function mapGeometry(m: BackboneManifest): MapGeometry {
  const s = m.output.shape;
  const cells = m.output.time === 'cells';
  const layout = m.output.layout ?? (m.kind === 'clip-map' ? 'CTHW' : 'CHW');
  const base = { offset: 0, cells };
  switch (layout) {
    case 'CHW':
      return { ...base, C: s[0], T: 1, H: s[1], W: s[2], channelsFirst: true };
    case 'HWC':
      return { ...base, C: s[2], T: 1, H: s[0], W: s[1], channelsFirst: false };
    case 'CTHW':
      return { ...base, C: s[0], T: s[1], H: s[2], W: s[3], channelsFirst: true };
    case 'THWC':
      return { ...base, C: s[3], T: s[0], H: s[1], W: s[2], channelsFirst: false };
    case 'tokens': {
      const g = m.output.grid ?? [];
      const [T, H, W] = g.length === 3 ? g : [1, g[0], g[1]];
      const C = s[1];
      return { C, T, H, W, channelsFirst: false, offset: (m.output.skipTokens ?? 0) * C, cells };
    }
  }
}

/** Shape of one item as stored: [H, W, C] (or [T'·H, W, C] with time "cells") for maps, [C] for vectors. */
export function storedItemShape(m: BackboneManifest): number[] {
  if (!isMapKind(m.kind)) return [m.output.shape[0]];
  const g = mapGeometry(m);
  return [g.cells ? g.T * g.H : g.H, g.W, g.C];
}

/** Time steps a stored map stacks in its rows (T' with time "cells", else 1). */
export function storedTimeSteps(m: BackboneManifest): number {
  return isMapKind(m.kind) && m.output.time === 'cells' ? mapGeometry(m).T : 1;
}

/**
 * One item's output (`src`, exactly the manifest's shape) → its stored map, channels-last, at
 * `out[offset…]`: cell (t', h, w) channel c, or the mean over t' unless `cells`.
 */
export function writeStoredMap(src: Float32Array, g: MapGeometry, out: Float32Array, offset: number): void {
  const { C, T, H, W } = g;
  const hw = H * W;
  const steps = g.cells ? T : 1;
  const dst = out.subarray(offset, offset + steps * hw * C);
  if (T === 1) {
    // a frame map: a plain transpose (CHW) or copy, without the accumulation below
    if (!g.channelsFirst) dst.set(src.subarray(g.offset, g.offset + hw * C));
    else for (let c = 0; c < C; c++) for (let p = 0; p < hw; p++) dst[p * C + c] = src[g.offset + c * hw + p];
    return;
  }
  dst.fill(0);
  const w = g.cells ? 1 : 1 / T;
  for (let t = 0; t < T; t++) {
    const row = g.cells ? t * hw * C : 0; // where this time step's grid goes
    if (g.channelsFirst) {
      for (let c = 0; c < C; c++) {
        const s = g.offset + (c * T + t) * hw;
        for (let p = 0; p < hw; p++) dst[row + p * C + c] += src[s + p] * w;
      }
    } else {
      const s = g.offset + t * hw * C;
      for (let i = 0; i < hw * C; i++) dst[row + i] += src[s + i] * w;
    }
  }
}
