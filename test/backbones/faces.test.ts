/**
 * The face models on onnxruntime (our conversion of @vladmandic/human's BlazeFace, face mesh and
 * emotion graphs + the JS pre/post-processing) against human's own tfjs-wasm pipeline on the same
 * frames, and the JS samplers against tfjs's image ops.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadFacesOnnx, loadFacesTfjs } from '../../src/backbones/default/faces.js';
import type { FaceDetection } from '../../src/backbones/default/human.js';
import { decodeSize } from '../../src/backbones/default/pack.js';
import { cropAndResize, resizeBilinear } from '../../src/backbones/default/tf-sampling.js';
import { initTfjs } from '../../src/backbones/tfjs.js';
import { decodeFrames, probe, sampleSnippets } from '../../src/video/index.js';
import type { Frame } from '../../src/video/types.js';
import { needShared, sharedPath } from '../helpers/shared.js';
import { testDir } from '../helpers/temp.js';

function noise(w: number, h: number, seed: number): Frame {
  const d = new Uint8Array(w * h * 3);
  let s = seed;
  for (let i = 0; i < d.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    d[i] = s >>> 24;
  }
  return { time: 0, width: w, height: h, data: d };
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

test('resizeBilinear and cropAndResize sample exactly as tfjs image ops', async () => {
  const tf = await initTfjs();
  const f = noise(37, 23, 7);
  const x = tf.tensor4d(Float32Array.from(f.data), [1, 23, 37, 3]);
  try {
    for (const [oh, ow] of [
      [16, 16],
      [40, 64],
    ]) {
      const ref = (await tf.image.resizeBilinear(x, [oh, ow]).data()) as Float32Array;
      const out = new Float32Array(oh * ow * 3);
      resizeBilinear(f.data, 23, 37, 3, oh, ow, out);
      assert.ok(maxDiff(out, ref) < 1e-3, `resize ${oh}x${ow}`);
    }
    // a box partly outside the frame: extrapolated with 0
    for (const box of [
      [0.1, 0.2, 0.7, 0.9],
      [-0.2, 0.5, 0.6, 1.3],
    ] as [number, number, number, number][]) {
      const ref = (await tf.image.cropAndResize(x, [box], [0], [12, 12]).data()) as Float32Array;
      const out = new Float32Array(12 * 12 * 3);
      cropAndResize(f, box, 12, out, 0, 1);
      assert.ok(maxDiff(out, ref) < 1e-3, `crop ${box}`);
    }
  } finally {
    x.dispose();
  }
});

async function keyFrames(video: string, T: number): Promise<Frame[]> {
  const info = await probe(video);
  const snippets = sampleSnippets(info.duration, T, 1, info.fps);
  return decodeFrames(
    video,
    snippets.map((s) => s.keyTime),
    { ...decodeSize(info), mode: 'stretch' },
    info,
  );
}

function agree(a: FaceDetection[][], b: FaceDetection[][]): number {
  assert.equal(a.length, b.length);
  let m = 0;
  a.forEach((fa, i) => {
    assert.equal(fa.length, b[i].length, `frame ${i}: ${fa.length} faces (onnx) vs ${b[i].length} (tfjs)`);
    fa.forEach((f, k) => {
      const g = b[i][k];
      m = Math.max(
        m,
        Math.abs(f.score - g.score),
        maxDiff(f.box, g.box),
        maxDiff(f.expressions, g.expressions),
      );
    });
  });
  return m;
}

test('faces: ONNX conversion (fresh cache) = human on tfjs-wasm, on real frames with and without faces; batch 2 = batch 16', {
  skip: needShared('media', 'single_face.mp4') || needShared('media', 'no_face.mp4'),
}, async () => {
  const cacheDir = testDir('dfan-cache-');
  const onnx = await loadFacesOnnx({ threads: 1, cacheDir });
  const small = await loadFacesOnnx({ threads: 1, cacheDir, batchSize: 2 }); // from the cache
  const tfjs = await loadFacesTfjs();
  try {
    assert.equal(onnx.engine, 'onnx');
    const face = await keyFrames(sharedPath('media', 'single_face.mp4'), 4);
    const none = await keyFrames(sharedPath('media', 'no_face.mp4'), 4);
    const frames = [...face, ...none];
    const a = await onnx.run(frames);
    const b = await tfjs.run(frames);
    const d = agree(a, b);
    assert.ok(d < 0.02, `max difference ${d}`);
    for (let i = 0; i < 4; i++) assert.ok(a[i].length >= 1 && a[i][0].score > 0.5, `face in frame ${i}`);
    for (let i = 4; i < 8; i++) assert.equal(a[i].length, 0, `no face in no_face frame ${i - 4}`);
    assert.ok(agree(await small.run(frames), a) < 1e-4, 'batch 2 = batch 16');
  } finally {
    await onnx.dispose();
    await small.dispose();
  }
});
