/**
 * Engines against each other and against independent expectations: the nsfwjs MobileNetV2 on
 * tfjs-wasm vs our ONNX conversion of it vs an independent conversion in ../shared; two batch
 * sizes; a user pack (manifests) with an image map backbone and a clip backbone.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  convertedMobilenetBytes,
  loadMobilenet,
  mobilenetRunner,
} from '../../src/backbones/default/mobilenet.js';
import { loadPack, videoPackInput } from '../../src/backbones/index.js';
import { loadOnnx } from '../../src/backbones/onnx.js';
import { framesToTensor } from '../../src/backbones/preprocess.js';
import { decodeFrames } from '../../src/video/index.js';
import type { Frame } from '../../src/video/types.js';
import { needShared, sharedPath } from '../helpers/shared.js';
import { testDir } from '../helpers/temp.js';
import { IMAGENET, makeMovingVideo, rgbInput } from './helpers.js';

const FACE = sharedPath('media', 'single_face.mp4');
const CAROUSEL = sharedPath('media', 'nk_carousel1.mp4');

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function synthetic(n: number): Frame[] {
  return Array.from({ length: n }, (_, i) => {
    const d = new Uint8Array(224 * 224 * 3);
    for (let j = 0; j < d.length; j++) d[j] = (j * 7 + i * 31 + (j >> 9) * 13) % 256;
    return { time: i, width: 224, height: 224, data: d };
  });
}

test('MobileNetV2: ONNX conversion (fresh cache) = tfjs-wasm; batch 1 = batch 3', async () => {
  const cacheDir = testDir('dfan-cache-');
  const frames = synthetic(3);
  const onnx = await loadMobilenet({ engine: 'onnx', cacheDir, batchSize: 3 });
  const tfjs = await loadMobilenet({ engine: 'tfjs' });
  try {
    const a = await onnx.run(frames);
    const b = await tfjs.run(frames);
    assert.ok(maxAbsDiff(a.map, b.map) < 1e-3, `map differs by ${maxAbsDiff(a.map, b.map)}`);
    assert.ok(maxAbsDiff(a.mid, b.mid) < 1e-3);
    assert.ok(
      a.map.some((v) => v > 0.1),
      'the map is not all zero',
    );
    const { bytes, file } = await convertedMobilenetBytes(cacheDir);
    assert.ok(file?.startsWith(cacheDir), 'the conversion is cached');
    const one = mobilenetRunner(await loadOnnx(bytes, { threads: 1 }), 'onnx', 1);
    const c = await one.run(frames);
    assert.ok(maxAbsDiff(a.map, c.map) < 1e-4, 'batch sizes agree');
    await one.dispose();
  } finally {
    await onnx.dispose();
    await tfjs.dispose();
  }
});

test('MobileNetV2: our conversion matches the independent ../shared conversion of the same weights', {
  skip: needShared('models', 'nsfw_mobilenetv2.onnx'),
}, async () => {
  const frames = synthetic(2);
  const net = await loadMobilenet({ engine: 'onnx', mapLayer: 'out_relu', fit: 'crop' });
  const ref = await loadOnnx(sharedPath('models', 'nsfw_mobilenetv2.onnx'), { threads: 2 });
  try {
    const ours = await net.run(frames);
    const x = framesToTensor(frames, rgbInput());
    const r = (await ref.run({ input: x }, ['out_relu'])).out_relu;
    // reference is [N,1280,7,7]; ours is [N,7,7,1280]
    let m = 0;
    for (let n = 0; n < 2; n++)
      for (let c = 0; c < 1280; c++)
        for (let p = 0; p < 49; p++)
          m = Math.max(m, Math.abs(r.data[(n * 1280 + c) * 49 + p] - ours.map[(n * 49 + p) * 1280 + c]));
    assert.ok(m < 1e-3, `max difference ${m}`);
  } finally {
    await net.dispose();
    await ref.dispose();
  }
});

test('object map separates content: frames of one video are closer to each other than to another video', {
  skip: needShared('media', 'single_face.mp4') || needShared('media', 'nk_carousel1.mp4'),
}, async () => {
  const net = await loadMobilenet({ mapLayer: 'out_relu' });
  try {
    const a = await decodeFrames(FACE, [0.3, 1.2, 2.0], { width: 224, height: 224 });
    const b = await decodeFrames(CAROUSEL, [1, 4, 8], { width: 224, height: 224 });
    const r = await net.run([...a, ...b]);
    const pooled = Array.from({ length: 6 }, (_, i) => {
      const v = new Float32Array(1280);
      for (let p = 0; p < 49; p++) for (let c = 0; c < 1280; c++) v[c] += r.map[(i * 49 + p) * 1280 + c] / 49;
      return v;
    });
    const cos = (x: Float32Array, y: Float32Array) => {
      let d = 0;
      let nx = 0;
      let ny = 0;
      for (let i = 0; i < x.length; i++) {
        d += x[i] * y[i];
        nx += x[i] * x[i];
        ny += y[i] * y[i];
      }
      return d / Math.sqrt(nx * ny);
    };
    const within = (cos(pooled[0], pooled[1]) + cos(pooled[3], pooled[4])) / 2;
    const between = (cos(pooled[0], pooled[3]) + cos(pooled[1], pooled[4])) / 2;
    assert.ok(within > between + 0.1, `within ${within.toFixed(3)} vs between ${between.toFixed(3)}`);
  } finally {
    await net.dispose();
  }
});

test('user pack: frame-map (Tiny Darknet), frame-vector (MobileNetV2 pool) and clip-vector (random 3-D CNN) backbones fill their streams; batch 1 = batch 3', {
  skip:
    needShared('models', 'tiny_darknet_imagenet.onnx') ||
    needShared('models', 'mobilenetv2-12-int8-feat.onnx') ||
    needShared('models', 'test_clip3d_random.onnx'),
}, async () => {
  const dir = testDir('dfan-userpack-');
  const video = makeMovingVideo(join(dir, 'v.mp4'), 2, '160x120');
  const pack = {
    id: 'test-pack@1',
    backbones: [
      {
        id: 'tiny-darknet',
        stream: 'object',
        kind: 'frame-map',
        engine: 'onnx',
        weights: sharedPath('models', 'tiny_darknet_imagenet.onnx'),
        input: rgbInput({ name: 'input_rgb01' }),
        output: { name: 'feat', shape: [512, 14, 14] },
        licence: 'public domain (darknet)',
        description: 'Tiny Darknet trained on ImageNet-1k',
      },
      {
        id: 'mobilenetv2-int8/pool',
        stream: 'context',
        kind: 'frame-vector',
        engine: 'onnx',
        weights: sharedPath('models', 'mobilenetv2-12-int8-feat.onnx'),
        input: rgbInput(IMAGENET),
        output: { name: 'feat_pool_1280', shape: [1280] },
        licence: 'Apache-2.0 (ONNX Model Zoo)',
        description: 'MobileNetV2-1.0 int8 ImageNet, global average pool',
      },
      {
        id: 'clip3d-random',
        stream: 'action',
        kind: 'clip-vector',
        engine: 'onnx',
        weights: sharedPath('models', 'test_clip3d_random.onnx'),
        input: rgbInput({ name: 'clip', size: [112, 112], layout: 'NCTHW', frames: 8 }),
        output: { name: 'embedding', shape: [64] },
        licence: 'test only',
        description: 'RANDOM weights: exercises the clip path only',
      },
    ],
  };
  const pf = join(dir, 'pack.json');
  writeFileSync(pf, JSON.stringify(pack));
  // T = 4 snippets: batches of 3 + 1 against 4 batches of 1
  const extract = async (batchSize: number) => {
    const p = await loadPack(pf, { batchSize });
    try {
      assert.equal(p.id, 'test-pack@1');
      return (await p.extract(await videoPackInput(video, { T: 4, K: 4 }))).streams;
    } finally {
      await p.dispose();
    }
  };
  const three = await extract(3);
  const one = await extract(1);
  assert.deepEqual(three.object.shape, [4, 14, 14, 512]);
  assert.deepEqual(three.context.shape, [4, 1280]);
  assert.deepEqual(three.action.shape, [4, 64]);
  for (const s of ['object', 'context', 'action']) {
    assert.ok(three[s].data.every(Number.isFinite), s);
    assert.ok(
      three[s].data.some((v) => v !== 0),
      `${s} is not all zero`,
    );
    assert.deepEqual(one[s].shape, three[s].shape);
    const d = maxAbsDiff(one[s].data, three[s].data);
    assert.ok(d < 1e-4, `${s}: batch 1 and batch 3 differ by ${d}`);
  }
});

test('MoveNet: ONNX conversion (heads + JS decode) = tfjs-wasm graph, batched', async () => {
  const { loadMovenetOnnx, loadMovenetTfjs } = await import('../../src/backbones/default/movenet.js');
  const cacheDir = testDir('dfan-cache-');
  // deterministic textured frames (no person): both engines must still decode the same keypoints
  const frames = synthetic(2);
  const onnx = await loadMovenetOnnx({ cacheDir, batchSize: 2 });
  const tfjs = await loadMovenetTfjs();
  try {
    const a = await onnx.run(frames);
    const b = await tfjs.run(frames);
    for (let i = 0; i < frames.length; i++) {
      assert.equal(a[i].length, 51);
      assert.ok(maxAbsDiff(a[i], b[i]) < 1e-3, `frame ${i}: ${maxAbsDiff(a[i], b[i])}`);
    }
  } finally {
    await onnx.dispose();
    await tfjs.dispose();
  }
});

test('tfjs engine through a manifest: MoveNet graph model as a frame-vector backbone', async () => {
  const { humanModelsDir } = await import('../../src/backbones/default/human.js');
  const { validateManifest } = await import('../../src/backbones/manifest.js');
  const { loadBackbone } = await import('../../src/backbones/runner.js');
  const m = validateManifest(
    {
      id: 'movenet-lightning/raw',
      stream: 'pose',
      kind: 'frame-vector',
      engine: 'tfjs',
      weights: 'movenet-lightning.json',
      input: { name: 'input', size: [192, 192], crop: 'letterbox', layout: 'NHWC', scale: 1 },
      output: { name: 'Identity', shape: [51] },
      licence: 'Apache-2.0 (MoveNet) via @vladmandic/human (MIT)',
      description: 'MoveNet SinglePose Lightning keypoints (y, x, score) x 17',
    },
    'inline',
    humanModelsDir(),
  );
  const runner = await loadBackbone(m, { batchSize: 1 }); // the graph has a fixed batch of 1
  try {
    const y = await runner.runFrames(synthetic(2));
    assert.deepEqual(y.shape, [2, 51]);
    assert.ok(
      y.data.every((v) => v >= 0 && v <= 1),
      'normalised coordinates and scores',
    );
  } finally {
    await runner.dispose();
  }
});

test('user pack on a generated ONNX model (no ../shared needed): map and pooled vector agree', async () => {
  const { writeOnnx } = await import('../../src/backbones/onnx-writer.js');
  const dir = testDir('dfan-genpack-');
  // 1×1 conv: channels 0..2 copy R, G, B; channel 3 is the constant 1 (bias only)
  const W = new Float32Array(4 * 3);
  W[0] = 1;
  W[4] = 1;
  W[8] = 1;
  const bytes = writeOnnx({
    name: 'rgb_copy',
    nodes: [
      { op: 'Conv', inputs: ['input', 'W', 'B'], outputs: ['map'], attrs: { kernel_shape: [1, 1] } },
      { op: 'GlobalAveragePool', inputs: ['map'], outputs: ['pool4'] },
      { op: 'Flatten', inputs: ['pool4'], outputs: ['pool'], attrs: { axis: 1 } },
    ],
    initializers: [
      { name: 'W', dims: [4, 3, 1, 1], data: W },
      { name: 'B', dims: [4], data: Float32Array.of(0, 0, 0, 1) },
    ],
    inputs: [{ name: 'input', dims: ['N', 3, 8, 8] }],
    outputs: [
      { name: 'map', dims: ['N', 4, 8, 8] },
      { name: 'pool', dims: ['N', 4] },
    ],
  });
  writeFileSync(join(dir, 'rgb.onnx'), bytes);
  const input = { name: 'input', size: [8, 8], layout: 'NCHW' };
  const common = {
    engine: 'onnx',
    weights: 'rgb.onnx',
    input,
    licence: 'test',
    description: 'generated RGB copy',
  };
  writeFileSync(
    join(dir, 'pack.json'),
    JSON.stringify({
      id: 'generated@1',
      backbones: [
        {
          ...common,
          id: 'rgb/map',
          stream: 'object',
          kind: 'frame-map',
          output: { name: 'map', shape: [4, 8, 8] },
        },
        {
          ...common,
          id: 'rgb/pool',
          stream: 'context',
          kind: 'frame-vector',
          output: { name: 'pool', shape: [4] },
        },
      ],
    }),
  );
  const video = makeMovingVideo(join(dir, 'v.mp4'), 1, '64x48');
  const pack = await loadPack(join(dir, 'pack.json'), { batchSize: 2 });
  try {
    const r = await pack.extract(await videoPackInput(video, { T: 3, K: 2 }));
    const map = r.streams.object;
    const vec = r.streams.context;
    assert.deepEqual(map.shape, [3, 8, 8, 4]);
    assert.deepEqual(vec.shape, [3, 4]);
    for (let t = 0; t < 3; t++) {
      assert.ok(Math.abs(vec.data[t * 4 + 3] - 1) < 1e-6, 'bias channel');
      for (let c = 0; c < 4; c++) {
        let s = 0;
        for (let p = 0; p < 64; p++) s += map.data[(t * 64 + p) * 4 + c];
        assert.ok(Math.abs(s / 64 - vec.data[t * 4 + c]) < 1e-5, `snippet ${t} channel ${c}`);
      }
      for (let c = 0; c < 3; c++) assert.ok(vec.data[t * 4 + c] >= 0 && vec.data[t * 4 + c] <= 1);
    }
  } finally {
    await pack.dispose();
  }
});
