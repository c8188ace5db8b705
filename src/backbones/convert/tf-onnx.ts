/**
 * What both converters (Keras layers → ONNX, TF graphs → ONNX) share: the ONNX graph under
 * construction, and where TensorFlow and ONNX disagree: the sub-graph a set of outputs needs, TF's
 * "same" padding as explicit pads, TF's HWIO convolution kernels as ONNX's OIHW weights, and the
 * output size of a window op.
 */
import type { OnnxGraph, OnnxInitializer, OnnxNode } from '../onnx-writer.js';

/** [C, H, W] of a tensor (the batch axis N is symbolic) */
export type Shape = [number, number, number];

/** An ONNX graph being built from a TF model: nodes, initializers, and each source tensor's name and shape. */
export class OnnxGraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly inits: OnnxInitializer[] = [];
  readonly inputs: OnnxGraph['inputs'] = [];
  /** source layer / node → ONNX tensor name */
  readonly alias = new Map<string, string>();
  readonly shapes = new Map<string, Shape>();

  addInit(name: string, dims: number[], data: Float32Array | BigInt64Array): string {
    this.inits.push({ name, dims, data });
    return name;
  }

  shapeOf(n: string): Shape {
    return this.shapes.get(n) as Shape;
  }

  /** Graph output `name` = source tensor `n` (through an Identity when the ONNX tensor has another name). */
  output(name: string, n: string): OnnxGraph['outputs'][number] {
    const t = this.alias.get(n) as string;
    if (t !== name) this.nodes.push({ op: 'Identity', inputs: [t], outputs: [name] });
    const [C, H, W] = this.shapeOf(n);
    return { name, dims: ['N', C, H, W] };
  }

  graph(name: string, outputs: OnnxGraph['outputs'], producer: string): OnnxGraph {
    return {
      name,
      nodes: this.nodes,
      initializers: this.inits,
      inputs: this.inputs,
      outputs,
      opset: 13,
      producer,
    };
  }
}

/**
 * Names of everything `outputs` depend on: a walk back from them through `inputsOf` (a leaf, such
 * as a constant, has no inputs). An unknown name is the converter's `unsupported` error.
 */
export function neededFor<N>(
  outputs: string[],
  byName: Map<string, N>,
  inputsOf: (n: N) => string[],
  unknown: (name: string) => never,
): Set<string> {
  const needed = new Set<string>();
  const stack = [...outputs];
  while (stack.length) {
    const n = stack.pop() as string;
    if (needed.has(n)) continue;
    const item = byName.get(n);
    if (!item) unknown(n);
    needed.add(n);
    stack.push(...inputsOf(item));
  }
  return needed;
}

/** A window op's kernel, strides and dilations along H and W. */
export interface Window {
  k: [number, number];
  s: [number, number];
  d: [number, number];
}

/** Explicit ONNX pads [top, left, bottom, right] for TF "same" padding. */
export function samePads(inH: number, inW: number, { k, s, d }: Window): number[] {
  const one = (n: number, kk: number, ss: number, dd: number) => {
    const out = Math.ceil(n / ss);
    const total = Math.max(0, (out - 1) * ss + (kk - 1) * dd + 1 - n);
    return [Math.floor(total / 2), total - Math.floor(total / 2)];
  };
  const [t, b] = one(inH, k[0], s[0], d[0]);
  const [l, r] = one(inW, k[1], s[1], d[1]);
  return [t, l, b, r];
}

/**
 * A TF convolution kernel [kh, kw, cin, m] (HWIO; depthwise: m is the channel multiplier) as an
 * ONNX Conv weight [cout, cin/group, kh, kw] (cout = m, or cin·m when depthwise).
 */
export function convWeight(kernel: ArrayLike<number>, shape: number[], depthwise: boolean): Float32Array {
  const [kh, kw, cin, m] = shape;
  const cout = depthwise ? cin * m : m;
  const weight = new Float32Array(cout * (depthwise ? 1 : cin) * kh * kw);
  if (depthwise) {
    for (let i = 0; i < cin; i++)
      for (let j = 0; j < m; j++)
        for (let y = 0; y < kh; y++)
          for (let x = 0; x < kw; x++)
            weight[((i * m + j) * kh + y) * kw + x] = kernel[((y * kw + x) * cin + i) * m + j];
  } else {
    for (let o = 0; o < cout; o++)
      for (let i = 0; i < cin; i++)
        for (let y = 0; y < kh; y++)
          for (let x = 0; x < kw; x++)
            weight[((o * cin + i) * kh + y) * kw + x] = kernel[((y * kw + x) * cin + i) * cout + o];
  }
  return weight;
}

/** Output length of a window op (convolution, pooling) along one axis. */
export function windowOut(
  size: number,
  padBefore: number,
  padAfter: number,
  k: number,
  stride: number,
  dil = 1,
): number {
  return Math.floor((size + padBefore + padAfter - ((k - 1) * dil + 1)) / stride) + 1;
}
