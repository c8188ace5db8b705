/**
 * Keras (tfjs layers-model) → ONNX for the plain CNN ops MobileNetV2 uses: Conv2D,
 * DepthwiseConv2D, BatchNormalization (folded into the preceding convolution), ReLU / ReLU6,
 * ZeroPadding2D (folded into the following convolution), Add, GlobalAveragePooling2D.
 *
 * Why: tfjs runs single-threaded on wasm in Node (~100 ms per 224² MobileNetV2 frame here);
 * the same weights on onnxruntime take a fraction of that. The weights are read through tfjs
 * (which de-quantises nsfwjs's uint8 shards), so the ONNX model computes what tfjs computes.
 * The result is cached under $DFAN_CACHE or ~/.cache/dfan, keyed by a hash of the source files.
 *
 * Tensors are NCHW in the ONNX graph: the input is [N,3,H,W], map outputs [N,C,H,W].
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { DfanError } from '../../errors.js';
import { MAP_LAYERS, MID_LAYER, nsfwjsVersion, nsfwMobilenetPath } from '../default/mobilenet.js';
import type { EngineOptions, LoadedModel } from '../engine.js';
import { type OnnxGraph, type OnnxInitializer, type OnnxNode, writeOnnx } from '../onnx-writer.js';

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

type Shape = [number, number, number]; // C, H, W

function unsupported(what: string): never {
  throw new DfanError('INTERNAL', `keras2onnx: ${what}`, { hint: 'only plain CNN layers are supported' });
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

/** Convert the sub-graph that computes `outputs` (layer names). */
export function kerasToOnnx(src: KerasModelSource, outputs: string[], name = 'model'): OnnxGraph {
  const byName = new Map(src.layers.map((l) => [l.name, l]));
  const inbound = (l: KerasLayer): string[] => (l.inbound_nodes[0] ?? []).map((x) => x[0]);
  const consumers = new Map<string, string[]>();
  for (const l of src.layers)
    for (const i of inbound(l)) consumers.set(i, [...(consumers.get(i) ?? []), l.name]);
  // layers needed for the outputs
  const needed = new Set<string>();
  const stack = [...outputs];
  while (stack.length) {
    const n = stack.pop() as string;
    if (needed.has(n)) continue;
    const l = byName.get(n);
    if (!l) unsupported(`no layer named "${n}"`);
    needed.add(n);
    stack.push(...inbound(l));
  }
  const isOutput = (n: string) => outputs.includes(n);
  const usedBy = (n: string) => (consumers.get(n) ?? []).filter((c) => needed.has(c));

  const nodes: OnnxNode[] = [];
  const inits: OnnxInitializer[] = [];
  const alias = new Map<string, string>(); // layer → ONNX tensor name
  const shapes = new Map<string, Shape>();
  const foldedPad = new Map<string, number[]>(); // padding layer → [t, l, b, r]
  const foldedBn = new Set<string>();
  const inputs: OnnxGraph['inputs'] = [];
  let clipZero = false;
  let clipSix = false;

  const init = (n: string, dims: number[], data: Float32Array) => inits.push({ name: n, dims, data });
  const activation = (act: unknown, x: string, layer: string): string => {
    if (act === undefined || act === null || act === 'linear') return x;
    const y = `${layer}/act`;
    if (act === 'relu') nodes.push({ op: 'Relu', inputs: [x], outputs: [y] });
    else if (act === 'relu6') {
      clipZero = true;
      clipSix = true;
      nodes.push({ op: 'Clip', inputs: [x, 'const_zero', 'const_six'], outputs: [y] });
    } else if (act === 'sigmoid') nodes.push({ op: 'Sigmoid', inputs: [x], outputs: [y] });
    else unsupported(`activation "${String(act)}" of layer ${layer}`);
    return y;
  };

  for (const l of src.layers) {
    if (!needed.has(l.name)) continue;
    const c = l.config;
    const ins = inbound(l);
    switch (l.class_name) {
      case 'InputLayer': {
        const s = c.batch_input_shape as (number | null)[];
        if (s?.length !== 4 || s[1] === null || s[2] === null || s[3] === null)
          unsupported('input must be [N,H,W,C] with fixed H,W,C');
        shapes.set(l.name, [s[3] as number, s[1] as number, s[2] as number]);
        alias.set(l.name, 'input');
        inputs.push({ name: 'input', dims: ['N', s[3] as number, s[1] as number, s[2] as number] });
        break;
      }
      case 'ZeroPadding2D': {
        const p = c.padding as [[number, number], [number, number]];
        const [C, H, W] = shapes.get(ins[0]) as Shape;
        shapes.set(l.name, [C, H + p[0][0] + p[0][1], W + p[1][0] + p[1][1]]);
        const users = usedBy(l.name);
        const foldable =
          !isOutput(l.name) &&
          users.every((u) => {
            const ul = byName.get(u) as KerasLayer;
            return (
              (ul.class_name === 'Conv2D' || ul.class_name === 'DepthwiseConv2D') &&
              ul.config.padding === 'valid'
            );
          });
        if (foldable) {
          foldedPad.set(l.name, [p[0][0], p[1][0], p[0][1], p[1][1]]);
          alias.set(l.name, alias.get(ins[0]) as string);
        } else {
          const padsName = `${l.name}/pads`;
          inits.push({
            name: padsName,
            dims: [8],
            data: BigInt64Array.from([0, 0, p[0][0], p[1][0], 0, 0, p[0][1], p[1][1]].map(BigInt)),
          });
          nodes.push({ op: 'Pad', inputs: [alias.get(ins[0]) as string, padsName], outputs: [l.name] });
          alias.set(l.name, l.name);
        }
        break;
      }
      case 'Conv2D':
      case 'DepthwiseConv2D': {
        const depthwise = l.class_name === 'DepthwiseConv2D';
        const w = src.weights(l.name);
        const kernel = depthwise ? w.depthwise_kernel : w.kernel;
        if (!kernel) unsupported(`layer ${l.name} has no kernel`);
        const [kh, kw, cin, cout0] = kernel.shape;
        const mult = depthwise ? cout0 : 1;
        const cout = depthwise ? cin * mult : cout0;
        const strides = (c.strides as [number, number]) ?? [1, 1];
        const dil = (c.dilation_rate as [number, number]) ?? [1, 1];
        const srcLayer = ins[0];
        const [, H0, W0] = shapes.get(srcLayer) as Shape;
        let pads = [0, 0, 0, 0];
        let inName = alias.get(srcLayer) as string;
        let H = H0;
        let W = W0;
        const fp = foldedPad.get(srcLayer);
        if (fp) pads = fp;
        if (c.padding === 'same') pads = samePads(H, W, [kh, kw], strides, dil);
        else if (c.padding !== 'valid') unsupported(`padding "${String(c.padding)}" of ${l.name}`);
        if (fp) {
          // the folded padding's shape already includes the pad; convolve the unpadded tensor
          inName = alias.get(srcLayer) as string;
        }
        // ONNX weight [cout, cin/group, kh, kw]
        const weight = new Float32Array(cout * (depthwise ? 1 : cin) * kh * kw);
        const kd = kernel.data;
        if (depthwise) {
          for (let i = 0; i < cin; i++)
            for (let m = 0; m < mult; m++)
              for (let y = 0; y < kh; y++)
                for (let x = 0; x < kw; x++)
                  weight[((i * mult + m) * kh + y) * kw + x] = kd[((y * kw + x) * cin + i) * mult + m];
        } else {
          for (let o = 0; o < cout; o++)
            for (let i = 0; i < cin; i++)
              for (let y = 0; y < kh; y++)
                for (let x = 0; x < kw; x++)
                  weight[((o * cin + i) * kh + y) * kw + x] = kd[((y * kw + x) * cin + i) * cout + o];
        }
        const bias = new Float32Array(cout);
        if (c.use_bias && w.bias) bias.set(w.bias.data);
        // fold a following BatchNormalization
        const users = usedBy(l.name);
        let outLayer = l.name;
        let act = c.activation;
        if (
          users.length === 1 &&
          !isOutput(l.name) &&
          (act === 'linear' || act === undefined) &&
          (byName.get(users[0]) as KerasLayer).class_name === 'BatchNormalization'
        ) {
          const bn = byName.get(users[0]) as KerasLayer;
          const bw = src.weights(bn.name);
          const eps = (bn.config.epsilon as number) ?? 1e-3;
          const per = weight.length / cout;
          for (let o = 0; o < cout; o++) {
            const g = bw.gamma ? bw.gamma.data[o] : 1;
            const beta = bw.beta ? bw.beta.data[o] : 0;
            const f = g / Math.sqrt(bw.moving_variance.data[o] + eps);
            for (let k = 0; k < per; k++) weight[o * per + k] *= f;
            bias[o] = (bias[o] - bw.moving_mean.data[o]) * f + beta;
          }
          foldedBn.add(bn.name);
          outLayer = bn.name;
          act = undefined;
        }
        init(`${l.name}/W`, [cout, depthwise ? 1 : cin, kh, kw], weight);
        init(`${l.name}/B`, [cout], bias);
        if (fp) {
          H = H0 - fp[0] - fp[2];
          W = W0 - fp[1] - fp[3];
        }
        const y = `${outLayer}`;
        nodes.push({
          op: 'Conv',
          name: l.name,
          inputs: [inName, `${l.name}/W`, `${l.name}/B`],
          outputs: [y],
          attrs: {
            kernel_shape: [kh, kw],
            strides,
            dilations: dil,
            pads,
            group: depthwise ? cin : 1,
          },
        });
        const Hp = H + pads[0] + pads[2];
        const Wp = W + pads[1] + pads[3];
        const oh = Math.floor((Hp - ((kh - 1) * dil[0] + 1)) / strides[0]) + 1;
        const ow = Math.floor((Wp - ((kw - 1) * dil[1] + 1)) / strides[1]) + 1;
        const shape: Shape = [cout, oh, ow];
        const outName = activation(act, y, outLayer);
        shapes.set(l.name, shape);
        alias.set(l.name, y);
        if (outLayer !== l.name) {
          shapes.set(outLayer, shape);
          alias.set(outLayer, outName);
        } else alias.set(l.name, outName);
        break;
      }
      case 'BatchNormalization': {
        if (foldedBn.has(l.name)) break;
        const bw = src.weights(l.name);
        const s = shapes.get(ins[0]) as Shape;
        const C = s[0];
        init(`${l.name}/scale`, [C], bw.gamma?.data ?? new Float32Array(C).fill(1));
        init(`${l.name}/bias`, [C], bw.beta?.data ?? new Float32Array(C));
        init(`${l.name}/mean`, [C], bw.moving_mean.data);
        init(`${l.name}/var`, [C], bw.moving_variance.data);
        nodes.push({
          op: 'BatchNormalization',
          inputs: [
            alias.get(ins[0]) as string,
            `${l.name}/scale`,
            `${l.name}/bias`,
            `${l.name}/mean`,
            `${l.name}/var`,
          ],
          outputs: [l.name],
          attrs: { epsilon: { float: (c.epsilon as number) ?? 1e-3 } },
        });
        shapes.set(l.name, s);
        alias.set(l.name, l.name);
        break;
      }
      case 'ReLU':
      case 'Activation': {
        const x = alias.get(ins[0]) as string;
        if (l.class_name === 'ReLU') {
          const mv = c.max_value as number | null | undefined;
          if ((c.negative_slope as number) || (c.threshold as number))
            unsupported(`ReLU ${l.name} with slope/threshold`);
          if (mv !== null && mv !== undefined) {
            init(`${l.name}/max`, [], Float32Array.of(mv));
            nodes.push({ op: 'Clip', inputs: [x, 'const_zero', `${l.name}/max`], outputs: [l.name] });
            clipZero = true;
          } else nodes.push({ op: 'Relu', inputs: [x], outputs: [l.name] });
          alias.set(l.name, l.name);
        } else {
          alias.set(l.name, activation(c.activation, x, l.name));
        }
        shapes.set(l.name, shapes.get(ins[0]) as Shape);
        break;
      }
      case 'Add': {
        let acc = alias.get(ins[0]) as string;
        for (let i = 1; i < ins.length; i++) {
          const y = i === ins.length - 1 ? l.name : `${l.name}/${i}`;
          nodes.push({ op: 'Add', inputs: [acc, alias.get(ins[i]) as string], outputs: [y] });
          acc = y;
        }
        alias.set(l.name, acc);
        shapes.set(l.name, shapes.get(ins[0]) as Shape);
        break;
      }
      case 'GlobalAveragePooling2D': {
        const s = shapes.get(ins[0]) as Shape;
        nodes.push({ op: 'GlobalAveragePool', inputs: [alias.get(ins[0]) as string], outputs: [l.name] });
        alias.set(l.name, l.name);
        shapes.set(l.name, [s[0], 1, 1]);
        break;
      }
      default:
        unsupported(`layer ${l.name} of class ${l.class_name}`);
    }
  }
  if (clipZero) init('const_zero', [], Float32Array.of(0));
  if (clipSix) init('const_six', [], Float32Array.of(6));
  // outputs carry the layer names; rename through Identity where the tensor has another name
  const outs: OnnxGraph['outputs'] = [];
  for (const o of outputs) {
    const t = alias.get(o) as string;
    if (t !== o) nodes.push({ op: 'Identity', inputs: [t], outputs: [o] });
    const [C, H, W] = shapes.get(o) as Shape;
    outs.push({ name: o, dims: ['N', C, H, W] });
  }
  return { name, nodes, initializers: inits, inputs, outputs: outs, opset: 13, producer: 'dfan keras2onnx' };
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

export function defaultCacheDir(): string {
  return process.env.DFAN_CACHE ?? join(homedir(), '.cache', 'dfan');
}

/**
 * Keep a converted model in the cache, whole or not at all (temp file + rename). False when the
 * cache cannot be written: the model is converted again next time.
 */
export function cacheConverted(file: string, bytes: Uint8Array): boolean {
  try {
    mkdirSync(dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, bytes);
    renameSync(tmp, file);
    return true;
  } catch {
    return false;
  }
}

/** sha256 over the nsfwjs bundle files (model + shards) and the converter version. */
function sourceKey(modelPath: string): string {
  const h = createHash('sha256');
  h.update(`keras2onnx v${CONVERTER_VERSION}\n`);
  const dir = dirname(modelPath);
  for (const f of readdirSync(dir).sort()) h.update(readFileSync(join(dir, f)));
  return h.digest('hex').slice(0, 16);
}

/**
 * The nsfwjs MobileNetV2 (outputs `out_relu`, `block_13_expand_relu`, `block_10_expand_relu`) as ONNX: converted on first
 * use, cached as `<cacheDir>/converted/nsfwjs-mobilenet_v2-<version>-<key>.onnx`; an unwritable cache only
 * costs a conversion per process.
 */
export async function convertedMobilenetBytes(
  cacheDir = defaultCacheDir(),
  layers: string[] = [...Object.keys(MAP_LAYERS), MID_LAYER],
): Promise<{ bytes: Uint8Array; file: string | null }> {
  const src = nsfwMobilenetPath();
  const dir = join(cacheDir, 'converted');
  // only the layers asked for are converted: a map from block 10 skips blocks 11-16 entirely
  const outputs = [...new Set(layers)].sort();
  const all = [...new Set([...Object.keys(MAP_LAYERS), MID_LAYER])].sort();
  const tag = outputs.join() === all.join() ? '' : `-${outputs.join('+')}`;
  const file = join(dir, `nsfwjs-mobilenet_v2-${nsfwjsVersion()}-${sourceKey(src)}${tag}.onnx`);
  if (existsSync(file)) return { bytes: readFileSync(file), file };
  const graph = kerasToOnnx(await kerasSourceFromTfjs(src), outputs, 'nsfwjs_mobilenet_v2');
  graph.doc = `converted by dfan keras2onnx v${CONVERTER_VERSION} from nsfwjs ${nsfwjsVersion()} (MIT) mobilenet_v2`;
  const bytes = writeOnnx(graph);
  return { bytes, file: cacheConverted(file, bytes) ? file : null };
}

export async function loadConvertedMobilenet(
  opts: EngineOptions & { cacheDir?: string; layers?: string[] } = {},
): Promise<LoadedModel> {
  const { bytes } = await convertedMobilenetBytes(opts.cacheDir, opts.layers);
  const { loadOnnx } = await import('../onnx.js');
  return loadOnnx(bytes, opts);
}
