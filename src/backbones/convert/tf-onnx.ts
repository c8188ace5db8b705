/**
 * What both converters (Keras layers → ONNX, TF graphs → ONNX) need where TensorFlow and ONNX
 * disagree: the sub-graph a set of outputs needs, TF's "same" padding as explicit pads, TF's
 * HWIO convolution kernels as ONNX's OIHW weights, and the output size of a window op.
 */

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

/** Explicit ONNX pads [top, left, bottom, right] for TF "same" padding. */
export function samePads(
  inH: number,
  inW: number,
  k: [number, number],
  s: [number, number],
  d: [number, number],
): number[] {
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
