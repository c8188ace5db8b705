/**
 * tfjs graph-model (TensorFlow GraphDef) → ONNX for the convolutional part of the small vision
 * graphs npm packages ship (MoveNet Lightning's body and heads; BlazeFace, the face mesh and the
 * emotion model of @vladmandic/human). Supported ops: _FusedConv2D / FusedDepthwiseConv2dNative
 * (BiasAdd + Relu / Relu6 / Prelu), DepthwiseConv2dNative, AddV2 / Sub / Mul / RealDiv (tensor or
 * constant), Mean over H,W with keep_dims (squeeze-excite pooling), ResizeBilinear, Sigmoid, Relu, Relu6, Prelu, MaxPool, Pad (constant 0), and the
 * batch-axis no-ops a tfjs export wraps its input in (Cast to float, Unpack/ExpandDims/Squeeze
 * on axis 0). The ONNX graph computes in NCHW; its input stays NHWC float32 (the graph's own
 * input layout) and is transposed once. The conversion cuts the graph at `outputs` (e.g. the
 * heads): post-processing such as ArgMax / GatherNd is done by the caller in JS.
 */
import { DfanError } from '../../errors.js';
import type { OnnxGraph, OnnxInitializer, OnnxNode } from '../onnx-writer.js';
import { samePads } from './keras2onnx.js';

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

type Shape = [number, number, number]; // C, H, W

function unsupported(what: string): never {
  throw new DfanError('INTERNAL', `tfgraph2onnx: ${what}`, {
    hint: 'only plain CNN graph ops are supported',
  });
}

const str = (b64?: string) => (b64 ? Buffer.from(b64, 'base64').toString() : '');

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
  const srcName = (s: string) => s.replace(/^\^/, '').replace(/:0$/, '');
  const inputsOf = (n: TfNode) => (n.input ?? []).filter((s) => !s.startsWith('^')).map(srcName);
  const needed = new Set<string>();
  const stack = [...outputs];
  while (stack.length) {
    const n = stack.pop() as string;
    if (needed.has(n)) continue;
    const node = byName.get(n);
    if (!node) unsupported(`no node named "${n}"`);
    needed.add(n);
    if (node.op !== 'Const') stack.push(...inputsOf(node));
  }

  const out: OnnxNode[] = [];
  const inits: OnnxInitializer[] = [];
  const alias = new Map<string, string>();
  const shapes = new Map<string, Shape>();
  const graphInputs: OnnxGraph['inputs'] = [];
  const addInit = (n: string, dims: number[], data: Float32Array) => {
    inits.push({ name: n, dims, data });
    return n;
  };
  const constOf = (n: string): ConstTensor => {
    const c = consts.get(n);
    if (!c) unsupported(`constant "${n}" has no value`);
    return c;
  };
  const isConst = (n: string) => byName.get(n)?.op === 'Const';

  /** A constant operand of an element-wise op on an NCHW tensor: NHWC-shaped → NCHW-broadcastable. */
  const constOperand = (n: string): string => {
    const c = constOf(n);
    const data = Float32Array.from(c.data);
    const s = c.shape;
    if (s.length === 0 || data.length === 1) return addInit(`${n}/c`, [], Float32Array.of(data[0]));
    if (s.length === 4 && s[0] === 1 && s[1] === 1 && s[2] === 1)
      return addInit(`${n}/c`, [1, s[3], 1, 1], data);
    if (s.length === 1) return addInit(`${n}/c`, [1, s[0], 1, 1], data);
    return unsupported(`constant ${n} of shape [${s}] in an element-wise op`);
  };

  /** PReLU slope (a [C] or [1,1,C] constant) as an NCHW-broadcastable [C,1,1] initializer. */
  const slopeOf = (n: string, c: number): string => {
    const a = constOf(n);
    if (a.data.length !== c) unsupported(`PReLU slope ${n} has ${a.data.length} values for ${c} channels`);
    return addInit(`${n}/slope`, [c, 1, 1], Float32Array.from(a.data));
  };

  let transposed = false;
  for (const node of nodes) {
    if (!needed.has(node.name) || node.op === 'Const') continue;
    const ins = inputsOf(node);
    const a = node.attr ?? {};
    const x = ins[0] ? alias.get(ins[0]) : undefined;
    switch (node.op) {
      case 'Placeholder': {
        const dims = (a.shape as unknown as { shape: { dim: { size: string }[] } }).shape.dim.map((d) =>
          Number(d.size),
        );
        if (dims.length !== 4) unsupported('the input must be NHWC');
        graphInputs.push({ name: 'input', dims: ['N', dims[1], dims[2], dims[3]] });
        out.push({
          op: 'Transpose',
          inputs: ['input'],
          outputs: ['input_nchw'],
          attrs: { perm: [0, 3, 1, 2] },
        });
        transposed = true;
        alias.set(node.name, 'input_nchw');
        shapes.set(node.name, [dims[3], dims[1], dims[2]]);
        break;
      }
      case 'Cast':
      case 'Unpack':
      case 'ExpandDims':
      case 'Squeeze':
      case 'Identity': {
        // batch-axis wrappers of a single-image export: no-ops on [N, C, H, W]
        if (node.op === 'Unpack' && Number(a.num?.i ?? 1) !== 1)
          unsupported(`Unpack ${node.name} with num ≠ 1`);
        alias.set(node.name, x as string);
        shapes.set(node.name, shapes.get(ins[0]) as Shape);
        break;
      }
      case 'Sub':
      case 'Mul':
      case 'AddV2':
      case 'Add':
      case 'RealDiv': {
        const op = { Sub: 'Sub', Mul: 'Mul', AddV2: 'Add', Add: 'Add', RealDiv: 'Div' }[node.op] as string;
        const [l, r] = ins;
        const li = isConst(l) ? constOperand(l) : (alias.get(l) as string);
        const ri = isConst(r) ? constOperand(r) : (alias.get(r) as string);
        out.push({ op, inputs: [li, ri], outputs: [node.name] });
        alias.set(node.name, node.name);
        // broadcasting: the larger operand's shape (a squeeze-excite gate is [C, 1, 1])
        const sl = isConst(l) ? undefined : shapes.get(l);
        const sr = isConst(r) ? undefined : shapes.get(r);
        const sh = !sl ? sr : !sr ? sl : sr[1] * sr[2] > sl[1] * sl[2] ? sr : sl;
        shapes.set(node.name, sh ?? unsupported(`shape of ${node.name}`));
        break;
      }
      case 'Prelu': {
        const [C] = shapes.get(ins[0]) as Shape;
        out.push({ op: 'PRelu', inputs: [x as string, slopeOf(ins[1], C)], outputs: [node.name] });
        alias.set(node.name, node.name);
        shapes.set(node.name, shapes.get(ins[0]) as Shape);
        break;
      }
      case 'MaxPool': {
        if (str(a.data_format?.s) && str(a.data_format?.s) !== 'NHWC')
          unsupported(`${node.name}: data_format ${str(a.data_format?.s)}`);
        const k = (a.ksize?.list?.i ?? []).map(Number);
        const st = (a.strides?.list?.i ?? []).map(Number);
        if (k.length !== 4 || st.length !== 4 || k[0] !== 1 || k[3] !== 1 || st[0] !== 1 || st[3] !== 1)
          unsupported(`${node.name}: pooling over batch or channels`);
        const [C, H, W] = shapes.get(ins[0]) as Shape;
        const pad = str(a.padding?.s);
        let pads = [0, 0, 0, 0];
        if (pad === 'SAME') pads = samePads(H, W, [k[1], k[2]], [st[1], st[2]], [1, 1]);
        else if (pad !== 'VALID') unsupported(`${node.name}: padding ${pad}`);
        out.push({
          op: 'MaxPool',
          inputs: [x as string],
          outputs: [node.name],
          attrs: { kernel_shape: [k[1], k[2]], strides: [st[1], st[2]], pads },
        });
        const oh = Math.floor((H + pads[0] + pads[2] - k[1]) / st[1]) + 1;
        const ow = Math.floor((W + pads[1] + pads[3] - k[2]) / st[2]) + 1;
        alias.set(node.name, node.name);
        shapes.set(node.name, [C, oh, ow]);
        break;
      }
      case 'Pad': {
        // constant (zero) padding; paddings [[n0,n1],[h0,h1],[w0,w1],[c0,c1]] in NHWC
        const p = Array.from(constOf(ins[1]).data).map(Number);
        if (p.length !== 8 || p[0] !== 0 || p[1] !== 0)
          unsupported(`${node.name}: padding of the batch axis`);
        const [C, H, W] = shapes.get(ins[0]) as Shape;
        const pads = BigInt64Array.from([0, p[6], p[2], p[4], 0, p[7], p[3], p[5]].map((v) => BigInt(v)));
        inits.push({ name: `${node.name}/pads`, dims: [8], data: pads });
        out.push({ op: 'Pad', inputs: [x as string, `${node.name}/pads`], outputs: [node.name] });
        alias.set(node.name, node.name);
        shapes.set(node.name, [C + p[6] + p[7], H + p[2] + p[3], W + p[4] + p[5]]);
        break;
      }
      case 'Sigmoid':
      case 'Relu':
      case 'Relu6': {
        if (node.op === 'Relu6') {
          out.push({
            op: 'Clip',
            inputs: [
              x as string,
              addInit(`${node.name}/lo`, [], Float32Array.of(0)),
              addInit(`${node.name}/hi`, [], Float32Array.of(6)),
            ],
            outputs: [node.name],
          });
        } else out.push({ op: node.op, inputs: [x as string], outputs: [node.name] });
        alias.set(node.name, node.name);
        shapes.set(node.name, shapes.get(ins[0]) as Shape);
        break;
      }
      case '_FusedConv2D':
      case 'FusedDepthwiseConv2dNative':
      case 'DepthwiseConv2dNative':
      case 'Conv2D': {
        const depthwise = node.op.includes('Depthwise');
        const fused = (a.fused_ops?.list?.s ?? []).map(str);
        if (str(a.data_format?.s) && str(a.data_format?.s) !== 'NHWC')
          unsupported(`${node.name}: data_format ${str(a.data_format?.s)}`);
        const f = constOf(ins[1]);
        const [kh, kw, cin, m] = f.shape;
        const cout = depthwise ? cin * m : m;
        const st = (a.strides?.list?.i ?? ['1', '1', '1', '1']).map(Number);
        const dl = (a.dilations?.list?.i ?? ['1', '1', '1', '1']).map(Number);
        const [C, H, W] = shapes.get(ins[0]) as Shape;
        if (C !== cin && !depthwise) unsupported(`${node.name}: ${C} input channels, filter has ${cin}`);
        const pad = str(a.padding?.s);
        let pads = [0, 0, 0, 0];
        if (pad === 'SAME') pads = samePads(H, W, [kh, kw], [st[1], st[2]], [dl[1], dl[2]]);
        else if (pad === 'EXPLICIT') {
          const e = (a.explicit_paddings?.list?.i ?? []).map(Number); // [n0,n1,h0,h1,w0,w1,c0,c1]
          pads = [e[2], e[4], e[3], e[5]];
        } else if (pad !== 'VALID') unsupported(`${node.name}: padding ${pad}`);
        const weight = new Float32Array(cout * (depthwise ? 1 : cin) * kh * kw);
        const kd = f.data;
        if (depthwise) {
          for (let i = 0; i < cin; i++)
            for (let j = 0; j < m; j++)
              for (let y = 0; y < kh; y++)
                for (let xx = 0; xx < kw; xx++)
                  weight[((i * m + j) * kh + y) * kw + xx] = kd[((y * kw + xx) * cin + i) * m + j];
        } else {
          for (let o = 0; o < cout; o++)
            for (let i = 0; i < cin; i++)
              for (let y = 0; y < kh; y++)
                for (let xx = 0; xx < kw; xx++)
                  weight[((o * cin + i) * kh + y) * kw + xx] = kd[((y * kw + xx) * cin + i) * cout + o];
        }
        const bias = new Float32Array(cout);
        let rest = fused;
        if (fused[0] === 'BiasAdd') {
          bias.set(constOf(ins[2]).data);
          rest = fused.slice(1);
        } else if (fused.length > 0) unsupported(`${node.name}: fused ops ${fused}`);
        const wName = addInit(`${node.name}/W`, [cout, depthwise ? 1 : cin, kh, kw], weight);
        const bName = addInit(`${node.name}/B`, [cout], bias);
        const convOut = rest.length ? `${node.name}/conv` : node.name;
        out.push({
          op: 'Conv',
          inputs: [x as string, wName, bName],
          outputs: [convOut],
          attrs: {
            kernel_shape: [kh, kw],
            strides: [st[1], st[2]],
            dilations: [dl[1], dl[2]],
            pads,
            group: depthwise ? cin : 1,
          },
        });
        if (rest.length === 1 && rest[0] === 'Relu')
          out.push({ op: 'Relu', inputs: [convOut], outputs: [node.name] });
        else if (rest.length === 1 && rest[0] === 'Relu6') {
          out.push({
            op: 'Clip',
            inputs: [
              convOut,
              addInit(`${node.name}/lo`, [], Float32Array.of(0)),
              addInit(`${node.name}/hi`, [], Float32Array.of(6)),
            ],
            outputs: [node.name],
          });
        } else if (rest.length === 1 && rest[0] === 'Prelu')
          out.push({ op: 'PRelu', inputs: [convOut, slopeOf(ins[3], cout)], outputs: [node.name] });
        else if (rest.length) unsupported(`${node.name}: fused ops ${fused}`);
        const oh = Math.floor((H + pads[0] + pads[2] - ((kh - 1) * dl[1] + 1)) / st[1]) + 1;
        const ow = Math.floor((W + pads[1] + pads[3] - ((kw - 1) * dl[2] + 1)) / st[2]) + 1;
        alias.set(node.name, node.name);
        shapes.set(node.name, [cout, oh, ow]);
        break;
      }
      case 'Mean': {
        // squeeze-excite pooling: mean over H and W (NHWC axes 1, 2), dims kept → [N, C, 1, 1]
        const axes = Array.from(constOf(ins[1]).data).sort();
        if (axes.join(',') !== '1,2' || a.keep_dims?.b !== true)
          unsupported(`Mean ${node.name} over axes [${axes}] (only H,W with keep_dims)`);
        const [C] = shapes.get(ins[0]) as Shape;
        out.push({ op: 'GlobalAveragePool', inputs: [x as string], outputs: [node.name] });
        alias.set(node.name, node.name);
        shapes.set(node.name, [C, 1, 1]);
        break;
      }
      case 'ResizeBilinear': {
        const size = constOf(ins[1]).data;
        const [C, H, W] = shapes.get(ins[0]) as Shape;
        const half = a.half_pixel_centers?.b === true;
        const corners = a.align_corners?.b === true;
        const scales = addInit(`${node.name}/scales`, [4], Float32Array.of(1, 1, size[0] / H, size[1] / W));
        out.push({
          op: 'Resize',
          inputs: [x as string, '', scales],
          outputs: [node.name],
          attrs: {
            mode: 'linear',
            coordinate_transformation_mode: corners ? 'align_corners' : half ? 'half_pixel' : 'asymmetric',
          },
        });
        alias.set(node.name, node.name);
        shapes.set(node.name, [C, size[0], size[1]]);
        break;
      }
      default:
        unsupported(`op ${node.op} (${node.name})`);
    }
  }
  if (!transposed) unsupported('no Placeholder input');
  const outs: OnnxGraph['outputs'] = [];
  const names: string[] = [];
  outputs.forEach((o, i) => {
    const t = alias.get(o) as string;
    const oname = `output_${i}`;
    out.push({ op: 'Identity', inputs: [t], outputs: [oname] });
    const [C, H, W] = shapes.get(o) as Shape;
    outs.push({ name: oname, dims: ['N', C, H, W] });
    names.push(oname);
  });
  return {
    name,
    nodes: out,
    initializers: inits,
    inputs: graphInputs,
    outputs: outs,
    opset: 13,
    producer: 'dfan tfgraph2onnx',
  };
}
