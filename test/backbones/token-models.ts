/**
 * Generated ONNX backbones whose outputs are known functions of their input, in the output shapes
 * of today's video backbones (written with src/backbones/onnx-writer.ts, nothing downloaded):
 *
 *   ViT-like (frame)      input [N,3,H·P,W·P] → tokens [N, 1 + R + H·W, 4]: a class token, R
 *                         register tokens, then the patch tokens in row-major order
 *   3-D CNN-like (clip)   input [N,3,T,H·P,W·P] → map [N,4,T',H,W] (CTHW), the same as [N,T',H,W,4]
 *                         (THWC), and as tokens [N, T'·H·W, 4] (VideoMAE-like, no class token)
 *
 * Channels 0..2 of a patch (tubelet) token are the mean of the model's input channels R, G, B over
 * its pixels (frames); channel 3 is a position code: patch index + 1 for the ViT, t'·100 + patch
 * index for the clip model; the class token's channel 3 is −1, the registers' −2, −3, …
 */
import { writeFileSync } from 'node:fs';
import { type OnnxNode, writeOnnx } from '../../src/backbones/onnx-writer.js';

const i64 = (...v: number[]) => BigInt64Array.from(v.map(BigInt));

/** Conv weights [4, 3, ...k] averaging each input channel into the same output channel (channel 3: 0). */
function meanKernel(k: number[]): Float32Array {
  const per = k.reduce((a, b) => a * b, 1);
  const w = new Float32Array(4 * 3 * per);
  for (let c = 0; c < 3; c++) w.fill(1 / per, (c * 3 + c) * per, (c * 3 + c + 1) * per);
  return w;
}

export interface VitSpec {
  /** patch grid [H, W] and patch side P: the input is [3, H·P, W·P] */
  grid: [number, number];
  patch: number;
  /** register tokens after the class token */
  registers: number;
}

/** Write the ViT-like token model to `path`: input `pixel_values`, output `last_hidden_state`. */
export function writeVitLike(path: string, spec: VitSpec): void {
  const [H, W] = spec.grid;
  const P = spec.patch;
  const R = spec.registers;
  const pos = new Float32Array(H * W * 4);
  for (let k = 0; k < H * W; k++) pos[k * 4 + 3] = k + 1;
  const lead = new Float32Array((1 + R) * 4);
  for (let k = 0; k <= R; k++) lead[k * 4 + 3] = -(k + 1);
  const nodes: OnnxNode[] = [
    {
      op: 'Conv',
      inputs: ['pixel_values', 'Wp'],
      outputs: ['emb'],
      attrs: { kernel_shape: [P, P], strides: [P, P] },
    },
    { op: 'Reshape', inputs: ['emb', 'flat'], outputs: ['emb_flat'] }, // [N,4,H·W]
    { op: 'Transpose', inputs: ['emb_flat'], outputs: ['patches0'], attrs: { perm: [0, 2, 1] } },
    { op: 'Add', inputs: ['patches0', 'pos'], outputs: ['patches'] },
    // class token and registers: the image mean (so they carry the batch axis) + their codes
    { op: 'ReduceMean', inputs: ['patches0'], outputs: ['gap'], attrs: { axes: [1], keepdims: 1 } },
  ];
  const gaps = Array.from({ length: 1 + R }, () => 'gap');
  nodes.push({ op: 'Concat', inputs: gaps, outputs: ['leads0'], attrs: { axis: 1 } });
  nodes.push({ op: 'Add', inputs: ['leads0', 'lead'], outputs: ['leads'] });
  nodes.push({
    op: 'Concat',
    inputs: ['leads', 'patches'],
    outputs: ['last_hidden_state'],
    attrs: { axis: 1 },
  });
  const bytes = writeOnnx({
    name: 'vit_like',
    nodes,
    initializers: [
      { name: 'Wp', dims: [4, 3, P, P], data: meanKernel([P, P]) },
      { name: 'flat', dims: [3], data: i64(0, 4, H * W) },
      { name: 'pos', dims: [1, H * W, 4], data: pos },
      { name: 'lead', dims: [1, 1 + R, 4], data: lead },
    ],
    inputs: [{ name: 'pixel_values', dims: ['N', 3, H * P, W * P] }],
    outputs: [{ name: 'last_hidden_state', dims: ['N', 1 + R + H * W, 4] }],
  });
  writeFileSync(path, bytes);
}

export interface ClipSpec {
  /** output grid [T', H, W]; tubelet [frames, P, P]: the input is [3, T'·tubelet, H·P, W·P] */
  grid: [number, number, number];
  tubelet: number;
  patch: number;
}

/** Write the clip model: input `clip`, outputs `map` (CTHW), `map_thwc` (THWC) and `tokens`. */
export function writeClip3dLike(path: string, spec: ClipSpec): void {
  const [T, H, W] = spec.grid;
  const P = spec.patch;
  const k = [spec.tubelet, P, P];
  const code = new Float32Array(4 * T * H * W); // [1,4,T',H,W]: channel 3 only
  for (let t = 0; t < T; t++)
    for (let p = 0; p < H * W; p++) code[3 * T * H * W + t * H * W + p] = t * 100 + p;
  const bytes = writeOnnx({
    name: 'clip3d_like',
    nodes: [
      { op: 'Conv', inputs: ['clip', 'Wt'], outputs: ['emb'], attrs: { kernel_shape: k, strides: k } },
      { op: 'Add', inputs: ['emb', 'code'], outputs: ['map'] },
      { op: 'Transpose', inputs: ['map'], outputs: ['map_thwc'], attrs: { perm: [0, 2, 3, 4, 1] } },
      { op: 'Reshape', inputs: ['map', 'flat'], outputs: ['map_flat'] },
      { op: 'Transpose', inputs: ['map_flat'], outputs: ['tokens'], attrs: { perm: [0, 2, 1] } },
    ],
    initializers: [
      { name: 'Wt', dims: [4, 3, ...k], data: meanKernel(k) },
      { name: 'code', dims: [1, 4, T, H, W], data: code },
      { name: 'flat', dims: [3], data: i64(0, 4, T * H * W) },
    ],
    inputs: [{ name: 'clip', dims: ['N', 3, T * spec.tubelet, H * P, W * P] }],
    outputs: [
      { name: 'map', dims: ['N', 4, T, H, W] },
      { name: 'map_thwc', dims: ['N', T, H, W, 4] },
      { name: 'tokens', dims: ['N', T * H * W, 4] },
    ],
  });
  writeFileSync(path, bytes);
}
