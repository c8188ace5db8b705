/**
 * Keras (tfjs layers-model) → ONNX for the plain CNN ops MobileNetV2 uses: Conv2D,
 * DepthwiseConv2D, BatchNormalization (folded into the preceding convolution), ReLU / ReLU6,
 * ZeroPadding2D (folded into the following convolution), Add, GlobalAveragePooling2D.
 *
 * Why: tfjs runs single-threaded on wasm in Node (~100 ms per 224² MobileNetV2 frame here);
 * the same weights on onnxruntime take a fraction of that. The weights are read through tfjs
 * (which de-quantises nsfwjs's uint8 shards), so the ONNX model computes what tfjs computes.
 *
 * Tensors are NCHW in the ONNX graph: the input is [N,3,H,W], map outputs [N,C,H,W].
 */
import { DfanError } from '../../errors.js';
import type { OnnxGraph } from '../onnx-writer.js';
import { convWeight, neededFor, OnnxGraphBuilder, type Shape, samePads, windowOut } from './tf-onnx.js';

/** Bump when the converter's output changes (invalidates caches). */
export const CONVERTER_VERSION = 2;

interface KerasLayer {
  name: string;
  class_name: string;
  config: Record<string, unknown>;
  inbound_nodes: [string, number, number, unknown][][];
}

/** Weights of one layer by short name (kernel, bias, gamma, …), shape and data. */
export type LayerWeights = Record<string, { shape: number[]; data: Float32Array }>;

export interface KerasModelSource {
  layers: KerasLayer[];
  /** weights by layer name */
  weights(layer: string): LayerWeights;
}

function unsupported(what: string): never {
  throw new DfanError('INTERNAL', `keras2onnx: ${what}`, { hint: 'only plain CNN layers are supported' });
}

const inbound = (l: KerasLayer): string[] => (l.inbound_nodes[0] ?? []).map((x) => x[0]);

/** A Keras model being converted: the ONNX graph so far, and what was folded away. */
class KerasConversion extends OnnxGraphBuilder {
  /** padding layer → [t, l, b, r], folded into the convolution that follows it */
  private foldedPad = new Map<string, number[]>();
  private foldedBn = new Set<string>();
  private byName: Map<string, KerasLayer>;
  private consumers = new Map<string, string[]>();
  /** the shared Clip bounds 0 and 6, added once at the end when used */
  clipZero = false;
  clipSix = false;

  constructor(
    private src: KerasModelSource,
    private outputs: string[],
    private needed: Set<string>,
  ) {
    super();
    this.byName = new Map(src.layers.map((l) => [l.name, l]));
    for (const l of src.layers)
      for (const i of inbound(l)) this.consumers.set(i, [...(this.consumers.get(i) ?? []), l.name]);
  }

  private isOutput(n: string): boolean {
    return this.outputs.includes(n);
  }

  private usedBy(n: string): string[] {
    return (this.consumers.get(n) ?? []).filter((c) => this.needed.has(c));
  }

  /** A Keras activation after tensor `x`; returns the activated tensor's name. */
  private activation(act: unknown, x: string, layer: string): string {
    if (act === undefined || act === null || act === 'linear') return x;
    const y = `${layer}/act`;
    if (act === 'relu') this.nodes.push({ op: 'Relu', inputs: [x], outputs: [y] });
    else if (act === 'relu6') {
      this.clipZero = true;
      this.clipSix = true;
      this.nodes.push({ op: 'Clip', inputs: [x, 'const_zero', 'const_six'], outputs: [y] });
    } else if (act === 'sigmoid') this.nodes.push({ op: 'Sigmoid', inputs: [x], outputs: [y] });
    else unsupported(`activation "${String(act)}" of layer ${layer}`);
    return y;
  }

  convert(l: KerasLayer): void {
    const kind = l.class_name;
    if (kind === 'InputLayer') this.input(l);
    else if (kind === 'ZeroPadding2D') this.zeroPadding(l);
    else if (kind === 'Conv2D' || kind === 'DepthwiseConv2D') this.conv(l);
    else if (kind === 'BatchNormalization') this.batchNorm(l);
    else if (kind === 'ReLU' || kind === 'Activation') this.relu(l);
    else if (kind === 'Add') this.add(l);
    else if (kind === 'GlobalAveragePooling2D') this.globalAveragePool(l);
    else unsupported(`layer ${l.name} of class ${kind}`);
  }

  private input(l: KerasLayer): void {
    const s = l.config.batch_input_shape as (number | null)[];
    if (s?.length !== 4 || s[1] === null || s[2] === null || s[3] === null)
      unsupported('input must be [N,H,W,C] with fixed H,W,C');
    this.shapes.set(l.name, [s[3] as number, s[1] as number, s[2] as number]);
    this.alias.set(l.name, 'input');
    this.inputs.push({ name: 'input', dims: ['N', s[3] as number, s[1] as number, s[2] as number] });
  }

  /** Folded into the convolutions that follow when they all use "valid" padding, else a Pad node. */
  private zeroPadding(l: KerasLayer): void {
    const [src] = inbound(l);
    const p = l.config.padding as [[number, number], [number, number]];
    const [C, H, W] = this.shapeOf(src);
    this.shapes.set(l.name, [C, H + p[0][0] + p[0][1], W + p[1][0] + p[1][1]]);
    const foldable =
      !this.isOutput(l.name) &&
      this.usedBy(l.name).every((u) => {
        const ul = this.byName.get(u) as KerasLayer;
        return (
          (ul.class_name === 'Conv2D' || ul.class_name === 'DepthwiseConv2D') && ul.config.padding === 'valid'
        );
      });
    if (foldable) {
      this.foldedPad.set(l.name, [p[0][0], p[1][0], p[0][1], p[1][1]]);
      this.alias.set(l.name, this.alias.get(src) as string);
      return;
    }
    const padsName = `${l.name}/pads`;
    this.addInit(
      padsName,
      [8],
      BigInt64Array.from([0, 0, p[0][0], p[1][0], 0, 0, p[0][1], p[1][1]].map(BigInt)),
    );
    this.nodes.push({ op: 'Pad', inputs: [this.alias.get(src) as string, padsName], outputs: [l.name] });
    this.alias.set(l.name, l.name);
  }

  private conv(l: KerasLayer): void {
    const c = l.config;
    const depthwise = l.class_name === 'DepthwiseConv2D';
    const w = this.src.weights(l.name);
    const kernel = depthwise ? w.depthwise_kernel : w.kernel;
    if (!kernel) unsupported(`layer ${l.name} has no kernel`);
    const [kh, kw, cin, cout0] = kernel.shape;
    const cout = depthwise ? cin * cout0 : cout0;
    const strides = (c.strides as [number, number]) ?? [1, 1];
    const dil = (c.dilation_rate as [number, number]) ?? [1, 1];
    const [srcLayer] = inbound(l);
    const [, H0, W0] = this.shapeOf(srcLayer);
    // a folded padding's shape already includes the pad: convolve the unpadded tensor with it
    const fp = this.foldedPad.get(srcLayer);
    let pads = fp ?? [0, 0, 0, 0];
    if (c.padding === 'same') pads = samePads(H0, W0, { k: [kh, kw], s: strides, d: dil });
    else if (c.padding !== 'valid') unsupported(`padding "${String(c.padding)}" of ${l.name}`);
    const weight = convWeight(kernel.data, kernel.shape, depthwise); // [cout, cin/group, kh, kw]
    const bias = new Float32Array(cout);
    if (c.use_bias && w.bias) bias.set(w.bias.data);
    const bn = this.foldBatchNorm(l, weight, bias, cout);
    const outLayer = bn ?? l.name;
    this.addInit(`${l.name}/W`, [cout, depthwise ? 1 : cin, kh, kw], weight);
    this.addInit(`${l.name}/B`, [cout], bias);
    const H = fp ? H0 - fp[0] - fp[2] : H0;
    const W = fp ? W0 - fp[1] - fp[3] : W0;
    this.nodes.push({
      op: 'Conv',
      name: l.name,
      inputs: [this.alias.get(srcLayer) as string, `${l.name}/W`, `${l.name}/B`],
      outputs: [outLayer],
      attrs: { kernel_shape: [kh, kw], strides, dilations: dil, pads, group: depthwise ? cin : 1 },
    });
    const oh = windowOut(H, pads[0], pads[2], kh, strides[0], dil[0]);
    const ow = windowOut(W, pads[1], pads[3], kw, strides[1], dil[1]);
    const shape: Shape = [cout, oh, ow];
    const outName = this.activation(bn ? undefined : c.activation, outLayer, outLayer);
    this.shapes.set(l.name, shape);
    this.alias.set(l.name, outLayer);
    if (bn) {
      this.shapes.set(bn, shape);
      this.alias.set(bn, outName);
    } else this.alias.set(l.name, outName);
  }

  /**
   * Fold the BatchNormalization that alone follows a linear convolution into its weight and bias
   * (in place); returns the folded layer's name, or null when there is none to fold.
   */
  private foldBatchNorm(
    l: KerasLayer,
    weight: Float32Array,
    bias: Float32Array,
    cout: number,
  ): string | null {
    const users = this.usedBy(l.name);
    const act = l.config.activation;
    if (users.length !== 1 || this.isOutput(l.name) || !(act === 'linear' || act === undefined)) return null;
    const bn = this.byName.get(users[0]) as KerasLayer;
    if (bn.class_name !== 'BatchNormalization') return null;
    const bw = this.src.weights(bn.name);
    const eps = (bn.config.epsilon as number) ?? 1e-3;
    const per = weight.length / cout;
    for (let o = 0; o < cout; o++) {
      const g = bw.gamma ? bw.gamma.data[o] : 1;
      const beta = bw.beta ? bw.beta.data[o] : 0;
      const f = g / Math.sqrt(bw.moving_variance.data[o] + eps);
      for (let k = 0; k < per; k++) weight[o * per + k] *= f;
      bias[o] = (bias[o] - bw.moving_mean.data[o]) * f + beta;
    }
    this.foldedBn.add(bn.name);
    return bn.name;
  }

  private batchNorm(l: KerasLayer): void {
    if (this.foldedBn.has(l.name)) return;
    const [src] = inbound(l);
    const bw = this.src.weights(l.name);
    const s = this.shapeOf(src);
    const C = s[0];
    this.addInit(`${l.name}/scale`, [C], bw.gamma?.data ?? new Float32Array(C).fill(1));
    this.addInit(`${l.name}/bias`, [C], bw.beta?.data ?? new Float32Array(C));
    this.addInit(`${l.name}/mean`, [C], bw.moving_mean.data);
    this.addInit(`${l.name}/var`, [C], bw.moving_variance.data);
    const names = ['scale', 'bias', 'mean', 'var'].map((k) => `${l.name}/${k}`);
    this.nodes.push({
      op: 'BatchNormalization',
      inputs: [this.alias.get(src) as string, ...names],
      outputs: [l.name],
      attrs: { epsilon: { float: (l.config.epsilon as number) ?? 1e-3 } },
    });
    this.shapes.set(l.name, s);
    this.alias.set(l.name, l.name);
  }

  private relu(l: KerasLayer): void {
    const c = l.config;
    const [src] = inbound(l);
    const x = this.alias.get(src) as string;
    if (l.class_name === 'ReLU') {
      const mv = c.max_value as number | null | undefined;
      if ((c.negative_slope as number) || (c.threshold as number))
        unsupported(`ReLU ${l.name} with slope/threshold`);
      if (mv !== null && mv !== undefined) {
        this.addInit(`${l.name}/max`, [], Float32Array.of(mv));
        this.nodes.push({ op: 'Clip', inputs: [x, 'const_zero', `${l.name}/max`], outputs: [l.name] });
        this.clipZero = true;
      } else this.nodes.push({ op: 'Relu', inputs: [x], outputs: [l.name] });
      this.alias.set(l.name, l.name);
    } else {
      this.alias.set(l.name, this.activation(c.activation, x, l.name));
    }
    this.shapes.set(l.name, this.shapeOf(src));
  }

  private add(l: KerasLayer): void {
    const ins = inbound(l);
    let acc = this.alias.get(ins[0]) as string;
    for (let i = 1; i < ins.length; i++) {
      const y = i === ins.length - 1 ? l.name : `${l.name}/${i}`;
      this.nodes.push({ op: 'Add', inputs: [acc, this.alias.get(ins[i]) as string], outputs: [y] });
      acc = y;
    }
    this.alias.set(l.name, acc);
    this.shapes.set(l.name, this.shapeOf(ins[0]));
  }

  private globalAveragePool(l: KerasLayer): void {
    const [src] = inbound(l);
    const s = this.shapeOf(src);
    this.nodes.push({ op: 'GlobalAveragePool', inputs: [this.alias.get(src) as string], outputs: [l.name] });
    this.alias.set(l.name, l.name);
    this.shapes.set(l.name, [s[0], 1, 1]);
  }
}

/** Convert the sub-graph that computes `outputs` (layer names). */
export function kerasToOnnx(src: KerasModelSource, outputs: string[], name = 'model'): OnnxGraph {
  const byName = new Map(src.layers.map((l) => [l.name, l]));
  const needed = neededFor(outputs, byName, inbound, (n) => unsupported(`no layer named "${n}"`));
  const g = new KerasConversion(src, outputs, needed);
  for (const l of src.layers) if (needed.has(l.name)) g.convert(l);
  if (g.clipZero) g.addInit('const_zero', [], Float32Array.of(0));
  if (g.clipSix) g.addInit('const_six', [], Float32Array.of(6));
  // outputs carry the layer names
  const outs = outputs.map((o) => g.output(o, o));
  return g.graph(name, outs, 'dfan keras2onnx');
}

/** Read a tfjs layers model's topology and (de-quantised) weights through tfjs. */
export async function kerasSourceFromTfjs(path: string): Promise<KerasModelSource> {
  const { loadLayersModel, readTfjsArtifacts } = await import('../tfjs.js');
  const artifacts = await readTfjsArtifacts(path);
  const topo = artifacts.modelTopology as {
    model_config?: { class_name: string; config: { layers: KerasLayer[] } };
  };
  const mc = topo.model_config;
  if (mc?.class_name !== 'Model') unsupported('expected a functional Keras model (class_name "Model")');
  const model = await loadLayersModel(path);
  const cache = new Map<string, LayerWeights>();
  return {
    layers: mc.config.layers,
    weights(layer: string): LayerWeights {
      let w = cache.get(layer);
      if (!w) {
        w = {};
        for (const v of model.getLayer(layer).weights) {
          const full = (v as unknown as { originalName?: string }).originalName ?? v.name;
          const short = full.split('/').pop()?.replace(/_\d+$/, '') ?? full;
          w[short] = { shape: v.shape as number[], data: v.read().dataSync() as Float32Array };
        }
        cache.set(layer, w);
      }
      return w;
    },
  };
}
