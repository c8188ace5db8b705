/**
 * tfjs graph-model (TensorFlow GraphDef) → ONNX for the convolutional part of the small vision
 * graphs npm packages ship (MoveNet Lightning's body and heads; BlazeFace, the face mesh and the
 * emotion model of @vladmandic/human). Supported ops: _FusedConv2D / FusedDepthwiseConv2dNative
 * (BiasAdd + Relu / Relu6 / Prelu), DepthwiseConv2dNative, AddV2 / Sub / Mul / RealDiv (tensor or
 * constant), Mean over H,W with keep_dims (squeeze-excite pooling), ResizeBilinear, Sigmoid, Relu,
 * Relu6, Prelu, MaxPool, Pad (constant 0), and the batch-axis no-ops a tfjs export wraps its input
 * in (Cast to float, Unpack/ExpandDims/Squeeze on axis 0). The ONNX graph computes in NCHW; its
 * input stays NHWC float32 (the graph's own input layout) and is transposed once. The conversion
 * cuts the graph at `outputs` (e.g. the heads): post-processing such as ArgMax / GatherNd is done
 * by the caller in JS.
 */
import { DfanError } from '../../errors.js';
import type { OnnxGraph } from '../onnx-writer.js';
import {
  convWeight,
  neededFor,
  OnnxGraphBuilder,
  type Shape,
  samePads,
  type Window,
  windowOut,
} from './tf-onnx.js';

export interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<
    string,
    { s?: string; i?: string; f?: number; b?: boolean; list?: { i?: string[]; s?: string[] } }
  >;
}

export interface ConstTensor {
  shape: number[];
  data: Float32Array | Int32Array;
}

function unsupported(what: string): never {
  throw new DfanError('INTERNAL', `tfgraph2onnx: ${what}`, {
    hint: 'only plain CNN graph ops are supported',
  });
}

const str = (b64?: string) => (b64 ? Buffer.from(b64, 'base64').toString() : '');
const srcName = (s: string) => s.replace(/^\^/, '').replace(/:0$/, '');
const inputsOf = (n: TfNode) => (n.input ?? []).filter((s) => !s.startsWith('^')).map(srcName);

/** One node being converted: its data inputs, attributes and the ONNX name of its first input. */
interface Step {
  node: TfNode;
  ins: string[];
  a: NonNullable<TfNode['attr']>;
  x: string;
}

const ELEMENTWISE: Record<string, string> = {
  Sub: 'Sub',
  Mul: 'Mul',
  AddV2: 'Add',
  Add: 'Add',
  RealDiv: 'Div',
};
const PASS_THROUGH = ['Cast', 'Unpack', 'ExpandDims', 'Squeeze', 'Identity'];
const ACTIVATIONS = ['Sigmoid', 'Relu', 'Relu6'];
const CONVOLUTIONS = ['_FusedConv2D', 'FusedDepthwiseConv2dNative', 'DepthwiseConv2dNative', 'Conv2D'];

/** A TF graph being converted: the ONNX graph so far, and the TF graph's nodes and constants. */
class TfGraphConversion extends OnnxGraphBuilder {
  constructor(
    private byName: Map<string, TfNode>,
    private consts: Map<string, ConstTensor>,
  ) {
    super();
  }

  constOf(n: string): ConstTensor {
    const c = this.consts.get(n);
    if (!c) unsupported(`constant "${n}" has no value`);
    return c;
  }

  isConst(n: string): boolean {
    return this.byName.get(n)?.op === 'Const';
  }

  /** The node's output: ONNX tensor `tensor` (default: the node's own name) of shape `shape`. */
  done(node: TfNode, shape: Shape, tensor = node.name): void {
    this.alias.set(node.name, tensor);
    this.shapes.set(node.name, shape);
  }

  /** A constant operand of an element-wise op on an NCHW tensor: NHWC-shaped → NCHW-broadcastable. */
  constOperand(n: string): string {
    const c = this.constOf(n);
    const data = Float32Array.from(c.data);
    const s = c.shape;
    if (s.length === 0 || data.length === 1) return this.addInit(`${n}/c`, [], Float32Array.of(data[0]));
    if (s.length === 4 && s[0] === 1 && s[1] === 1 && s[2] === 1)
      return this.addInit(`${n}/c`, [1, s[3], 1, 1], data);
    if (s.length === 1) return this.addInit(`${n}/c`, [1, s[0], 1, 1], data);
    return unsupported(`constant ${n} of shape [${s}] in an element-wise op`);
  }

  /** PReLU slope (a [C] or [1,1,C] constant) as an NCHW-broadcastable [C,1,1] initializer. */
  slopeOf(n: string, c: number): string {
    const a = this.constOf(n);
    if (a.data.length !== c) unsupported(`PReLU slope ${n} has ${a.data.length} values for ${c} channels`);
    return this.addInit(`${n}/slope`, [c, 1, 1], Float32Array.from(a.data));
  }

  /** ReLU6 as Clip(x, 0, 6). */
  relu6(x: string, name: string): void {
    const lo = this.addInit(`${name}/lo`, [], Float32Array.of(0));
    const hi = this.addInit(`${name}/hi`, [], Float32Array.of(6));
    this.nodes.push({ op: 'Clip', inputs: [x, lo, hi], outputs: [name] });
  }

  convert(s: Step): void {
    const op = s.node.op;
    if (op === 'Placeholder') this.placeholder(s);
    else if (PASS_THROUGH.includes(op)) this.passThrough(s);
    else if (Object.hasOwn(ELEMENTWISE, op)) this.elementwise(s);
    else if (op === 'Prelu') this.prelu(s);
    else if (op === 'MaxPool') this.maxPool(s);
    else if (op === 'Pad') this.pad(s);
    else if (ACTIVATIONS.includes(op)) this.activation(s);
    else if (CONVOLUTIONS.includes(op)) this.conv(s);
    else if (op === 'Mean') this.mean(s);
    else if (op === 'ResizeBilinear') this.resize(s);
    else unsupported(`op ${op} (${s.node.name})`);
  }

  private placeholder({ node, a }: Step): void {
    const dims = (a.shape as unknown as { shape: { dim: { size: string }[] } }).shape.dim.map((d) =>
      Number(d.size),
    );
    if (dims.length !== 4) unsupported('the input must be NHWC');
    this.inputs.push({ name: 'input', dims: ['N', dims[1], dims[2], dims[3]] });
    this.nodes.push({
      op: 'Transpose',
      inputs: ['input'],
      outputs: ['input_nchw'],
      attrs: { perm: [0, 3, 1, 2] },
    });
    this.done(node, [dims[3], dims[1], dims[2]], 'input_nchw');
  }

  /** Batch-axis wrappers of a single-image export: no-ops on [N, C, H, W]. */
  private passThrough({ node, ins, a, x }: Step): void {
    if (node.op === 'Unpack' && Number(a.num?.i ?? 1) !== 1) unsupported(`Unpack ${node.name} with num ≠ 1`);
    this.done(node, this.shapeOf(ins[0]), x);
  }

  private elementwise({ node, ins }: Step): void {
    const [l, r] = ins;
    const li = this.isConst(l) ? this.constOperand(l) : (this.alias.get(l) as string);
    const ri = this.isConst(r) ? this.constOperand(r) : (this.alias.get(r) as string);
    this.nodes.push({ op: ELEMENTWISE[node.op], inputs: [li, ri], outputs: [node.name] });
    // broadcasting: the larger operand's shape (a squeeze-excite gate is [C, 1, 1])
    const sl = this.isConst(l) ? undefined : this.shapes.get(l);
    const sr = this.isConst(r) ? undefined : this.shapes.get(r);
    const sh = !sl ? sr : !sr ? sl : sr[1] * sr[2] > sl[1] * sl[2] ? sr : sl;
    this.done(node, sh ?? unsupported(`shape of ${node.name}`));
  }

  private prelu({ node, ins, x }: Step): void {
    const [C] = this.shapeOf(ins[0]);
    this.nodes.push({ op: 'PRelu', inputs: [x, this.slopeOf(ins[1], C)], outputs: [node.name] });
    this.done(node, this.shapeOf(ins[0]));
  }

  private maxPool({ node, ins, a, x }: Step): void {
    nhwcOnly(node, a);
    const k = (a.ksize?.list?.i ?? []).map(Number);
    const st = (a.strides?.list?.i ?? []).map(Number);
    if (k.length !== 4 || st.length !== 4 || k[0] !== 1 || k[3] !== 1 || st[0] !== 1 || st[3] !== 1)
      unsupported(`${node.name}: pooling over batch or channels`);
    const [C, H, W] = this.shapeOf(ins[0]);
    const pad = str(a.padding?.s);
    let pads = [0, 0, 0, 0];
    if (pad === 'SAME') pads = samePads(H, W, { k: [k[1], k[2]], s: [st[1], st[2]], d: [1, 1] });
    else if (pad !== 'VALID') unsupported(`${node.name}: padding ${pad}`);
    this.nodes.push({
      op: 'MaxPool',
      inputs: [x],
      outputs: [node.name],
      attrs: { kernel_shape: [k[1], k[2]], strides: [st[1], st[2]], pads },
    });
    this.done(node, [
      C,
      windowOut(H, pads[0], pads[2], k[1], st[1]),
      windowOut(W, pads[1], pads[3], k[2], st[2]),
    ]);
  }

  /** Constant (zero) padding; paddings [[n0,n1],[h0,h1],[w0,w1],[c0,c1]] in NHWC. */
  private pad({ node, ins, x }: Step): void {
    const p = Array.from(this.constOf(ins[1]).data).map(Number);
    if (p.length !== 8 || p[0] !== 0 || p[1] !== 0) unsupported(`${node.name}: padding of the batch axis`);
    const [C, H, W] = this.shapeOf(ins[0]);
    const pads = BigInt64Array.from([0, p[6], p[2], p[4], 0, p[7], p[3], p[5]].map((v) => BigInt(v)));
    this.nodes.push({
      op: 'Pad',
      inputs: [x, this.addInit(`${node.name}/pads`, [8], pads)],
      outputs: [node.name],
    });
    this.done(node, [C + p[6] + p[7], H + p[2] + p[3], W + p[4] + p[5]]);
  }

  private activation({ node, ins, x }: Step): void {
    if (node.op === 'Relu6') this.relu6(x, node.name);
    else this.nodes.push({ op: node.op, inputs: [x], outputs: [node.name] });
    this.done(node, this.shapeOf(ins[0]));
  }

  private conv(s: Step): void {
    const { node, ins, a, x } = s;
    const depthwise = node.op.includes('Depthwise');
    const fused = (a.fused_ops?.list?.s ?? []).map(str);
    nhwcOnly(node, a);
    const f = this.constOf(ins[1]);
    const [kh, kw, cin, m] = f.shape;
    const cout = depthwise ? cin * m : m;
    const st = (a.strides?.list?.i ?? ['1', '1', '1', '1']).map(Number);
    const dl = (a.dilations?.list?.i ?? ['1', '1', '1', '1']).map(Number);
    const [C, H, W] = this.shapeOf(ins[0]);
    if (C !== cin && !depthwise) unsupported(`${node.name}: ${C} input channels, filter has ${cin}`);
    const win: Window = { k: [kh, kw], s: [st[1], st[2]], d: [dl[1], dl[2]] };
    const pads = convPads(node, a, H, W, win);
    const bias = new Float32Array(cout);
    if (fused[0] === 'BiasAdd') bias.set(this.constOf(ins[2]).data);
    else if (fused.length > 0) unsupported(`${node.name}: fused ops ${fused}`);
    const wName = this.addInit(
      `${node.name}/W`,
      [cout, depthwise ? 1 : cin, kh, kw],
      convWeight(f.data, f.shape, depthwise),
    );
    const bName = this.addInit(`${node.name}/B`, [cout], bias);
    const convOut = fused.length > 1 ? `${node.name}/conv` : node.name; // an activation follows the BiasAdd
    this.nodes.push({
      op: 'Conv',
      inputs: [x, wName, bName],
      outputs: [convOut],
      attrs: { kernel_shape: win.k, strides: win.s, dilations: win.d, pads, group: depthwise ? cin : 1 },
    });
    this.fusedActivation(s, fused, convOut, cout);
    const oh = windowOut(H, pads[0], pads[2], kh, st[1], dl[1]);
    const ow = windowOut(W, pads[1], pads[3], kw, st[2], dl[2]);
    this.done(node, [cout, oh, ow]);
  }

  /** The activation fused into a convolution after its BiasAdd, if any. */
  private fusedActivation({ node, ins }: Step, fused: string[], convOut: string, cout: number): void {
    const rest = fused[0] === 'BiasAdd' ? fused.slice(1) : fused;
    if (rest.length === 0) return;
    if (rest.length === 1 && rest[0] === 'Relu')
      this.nodes.push({ op: 'Relu', inputs: [convOut], outputs: [node.name] });
    else if (rest.length === 1 && rest[0] === 'Relu6') this.relu6(convOut, node.name);
    else if (rest.length === 1 && rest[0] === 'Prelu')
      this.nodes.push({ op: 'PRelu', inputs: [convOut, this.slopeOf(ins[3], cout)], outputs: [node.name] });
    else unsupported(`${node.name}: fused ops ${fused}`);
  }

  /** Squeeze-excite pooling: mean over H and W (NHWC axes 1, 2), dims kept → [N, C, 1, 1]. */
  private mean({ node, ins, a, x }: Step): void {
    const axes = Array.from(this.constOf(ins[1]).data).sort();
    if (axes.join(',') !== '1,2' || a.keep_dims?.b !== true)
      unsupported(`Mean ${node.name} over axes [${axes}] (only H,W with keep_dims)`);
    const [C] = this.shapeOf(ins[0]);
    this.nodes.push({ op: 'GlobalAveragePool', inputs: [x], outputs: [node.name] });
    this.done(node, [C, 1, 1]);
  }

  private resize({ node, ins, a, x }: Step): void {
    const size = this.constOf(ins[1]).data;
    const [C, H, W] = this.shapeOf(ins[0]);
    const half = a.half_pixel_centers?.b === true;
    const corners = a.align_corners?.b === true;
    const scales = this.addInit(`${node.name}/scales`, [4], Float32Array.of(1, 1, size[0] / H, size[1] / W));
    this.nodes.push({
      op: 'Resize',
      inputs: [x, '', scales],
      outputs: [node.name],
      attrs: {
        mode: 'linear',
        coordinate_transformation_mode: corners ? 'align_corners' : half ? 'half_pixel' : 'asymmetric',
      },
    });
    this.done(node, [C, size[0], size[1]]);
  }
}

function nhwcOnly(node: TfNode, a: Step['a']): void {
  if (str(a.data_format?.s) && str(a.data_format?.s) !== 'NHWC')
    unsupported(`${node.name}: data_format ${str(a.data_format?.s)}`);
}

/** A convolution's explicit ONNX pads from its TF padding attribute (SAME, EXPLICIT or VALID). */
function convPads(node: TfNode, a: Step['a'], H: number, W: number, win: Window): number[] {
  const pad = str(a.padding?.s);
  if (pad === 'SAME') return samePads(H, W, win);
  if (pad === 'EXPLICIT') {
    const e = (a.explicit_paddings?.list?.i ?? []).map(Number); // [n0,n1,h0,h1,w0,w1,c0,c1]
    return [e[2], e[4], e[3], e[5]];
  }
  if (pad !== 'VALID') unsupported(`${node.name}: padding ${pad}`);
  return [0, 0, 0, 0];
}

/**
 * Convert the sub-graph computing `outputs` (node names). `consts` holds every Const node's value
 * (tf.io.decodeWeights of the model's weights). Output tensors are NCHW [N, C, H, W].
 */
export function tfGraphToOnnx(
  nodes: TfNode[],
  consts: Map<string, ConstTensor>,
  outputs: string[],
  name = 'graph',
): OnnxGraph {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const needed = neededFor(
    outputs,
    byName,
    (n) => (n.op === 'Const' ? [] : inputsOf(n)),
    (n) => unsupported(`no node named "${n}"`),
  );
  const g = new TfGraphConversion(byName, consts);
  for (const node of nodes) {
    if (!needed.has(node.name) || node.op === 'Const') continue;
    const ins = inputsOf(node);
    g.convert({ node, ins, a: node.attr ?? {}, x: g.alias.get(ins[0] ?? '') as string });
  }
  if (g.inputs.length === 0) unsupported('no Placeholder input');
  const outs = outputs.map((o, i) => g.output(`output_${i}`, o));
  return g.graph(name, outs, 'dfan tfgraph2onnx');
}
