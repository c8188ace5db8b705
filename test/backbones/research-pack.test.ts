/**
 * Research pack backbones on real inputs (../shared/models + ../shared/media) and tiny generated
 * clips. Skips cleanly when ../shared is absent.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { validateManifest } from '../../src/backbones/manifest.js';
import { loadResearchPack, type ResearchPack } from '../../src/backbones/research/index.js';
import { readMonoAudio, streamSquareFrames } from '../../src/backbones/research/media.js';
import { Mobilenet } from '../../src/backbones/research/mobilenet.js';
import { MovinetStream, poolSnippets, softmaxTopK } from '../../src/backbones/research/movinet.js';
import { Yamnet } from '../../src/backbones/research/yamnet.js';
import { loadBackbone } from '../../src/backbones/runner.js';
import { loadTflite } from '../../src/backbones/tflite.js';
import { halveFrame } from '../../src/backbones/tiles.js';
import { DfanError } from '../../src/errors.js';
import { decodeFrames, probe, sampleSnippets } from '../../src/video/index.js';
import { ffmpeg } from '../helpers/ffmpeg.js';
import { needShared, sharedPath } from '../helpers/shared.js';
import { testDir } from '../helpers/temp.js';

const MODELS = sharedPath('models');
const CARVING = sharedPath('media', 'test_carving_ice.mp4');
const noModels = needShared('models', 'movinet_a0_stream_int8_kinetics600.tflite');
const noCarving = noModels || needShared('media', 'test_carving_ice.mp4');

const tmp = testDir('dfan-research-');
let researchPack: ResearchPack | null = null;
async function pack(): Promise<ResearchPack> {
  if (!researchPack) researchPack = await loadResearchPack({ dir: MODELS, actionThreads: 1 });
  return researchPack;
}
after(async () => {
  await researchPack?.dispose();
});

/** A tiny generated clip: moving test pattern, optionally with a 440 Hz tone or a silent track. */
async function genClip(name: string, audio: 'none' | 'sine' | 'silent', seconds = 2): Promise<string> {
  const out = join(tmp, name);
  const args = ['-f', 'lavfi', '-i', `testsrc=size=320x240:rate=25:duration=${seconds}`];
  if (audio === 'sine')
    args.push('-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=44100:duration=${seconds}`);
  if (audio === 'silent') args.push('-f', 'lavfi', '-i', `anullsrc=r=44100:cl=mono:d=${seconds}`);
  args.push('-pix_fmt', 'yuv420p', '-c:v', 'libx264', '-preset', 'ultrafast');
  if (audio !== 'none') args.push('-c:a', 'aac', '-shortest');
  args.push(out);
  ffmpeg(args);
  return out;
}

async function extract(path: string, T = 8) {
  const info = await probe(path);
  const snippets = sampleSnippets(info.duration, T, 8, info.fps);
  const p = await pack();
  return {
    info,
    snippets,
    ...(await p.extract({ info, snippets, decode: (t, o) => decodeFrames(path, t, o, info) })),
  };
}

test('MoViNet-A0 Kinetics-600: top-1 "carving ice" on test_carving_ice.mp4; snippet pooling is consistent', {
  skip: noCarving,
}, async () => {
  const m = await MovinetStream.load(MODELS, { threads: 1 });
  try {
    const trace = await m.runClip(streamSquareFrames(CARVING, 5, 172));
    const top = m.topK(trace.logits, 5);
    assert.equal(top[0].label, 'carving ice', JSON.stringify(top));
    assert.ok(top[0].prob > 0.5, `confident top-1, got ${top[0].prob}`);
    const n = trace.times.length;
    assert.ok(n >= 18 && n <= 22, `~5 fps over 4 s, got ${n} frames`);
    assert.equal(trace.counts[n - 1], n, 'the head pool counts one per frame');
    // one snippet covering the whole clip = the clip's running mean (sum / count)
    const whole = poolSnippets(trace, [{ start: 0, end: trace.times[n - 1], keyTime: 2 }]);
    for (let d = 0; d < 480; d += 37)
      assert.ok(Math.abs(whole[d] - trace.sums[(n - 1) * 480 + d] / n) < 1e-4);
    // two halves: frame-weighted mean of their vectors = the whole
    const mid = trace.times[Math.floor(n / 2)];
    const halves = poolSnippets(trace, [
      { start: 0, end: mid, keyTime: mid / 2 },
      { start: mid, end: trace.times[n - 1], keyTime: mid },
    ]);
    const na = Math.floor(n / 2);
    for (let d = 0; d < 480; d += 41) {
      const w = (halves[d] * na + halves[480 + d] * (n - na)) / n;
      assert.ok(Math.abs(w - whole[d]) < 1e-3);
    }
    // a fresh clip starts from zero states: the same clip gives the same answer
    const again = await m.runClip(streamSquareFrames(CARVING, 5, 172));
    assert.deepEqual(Array.from(again.logits), Array.from(trace.logits));
  } finally {
    m.dispose();
  }
});

test('YAMNet: an audio-less clip gives a zero, flagged vector; a tone gives non-zero scores', {
  skip: noModels,
}, async () => {
  const y = await Yamnet.load(MODELS, { threads: 1 });
  try {
    const silentVideo = await genClip('noaudio.mp4', 'none');
    assert.equal(await readMonoAudio(silentVideo), null);
    const snippets = sampleSnippets(2, 4, 8, 25);
    const none = y.poolSnippets(null, snippets);
    assert.deepEqual(none.silent, [true, true, true, true]);
    assert.ok(none.scores.every((v) => v === 0));

    const tone = await genClip('tone.mp4', 'sine');
    const samples = await readMonoAudio(tone);
    assert.ok(samples && Math.abs(samples.length - 32000) < 2000, `~2 s at 16 kHz, got ${samples?.length}`);
    const r = y.poolSnippets(samples, sampleSnippets(2, 2, 8, 25));
    assert.deepEqual(r.silent, [false, false]);
    const row = r.scores.subarray(0, 521);
    assert.ok(row.some((v) => v > 0.05));
    // independent expectation: AudioSet names a pure tone as such
    const top = softmaxTopK(
      Float32Array.from(row, (v) => Math.log(Math.max(v, 1e-9))),
      y.labels,
      5,
    ).map((l) => l.label);
    assert.ok(
      top.some((l) => /sine wave|tone|beep|hum/i.test(l)),
      `a 440 Hz tone should be heard as a tone, got ${top.join(', ')}`,
    );
  } finally {
    y.dispose();
  }
});

test('research pack end to end: shapes, warnings, silent-track and no-audio flags', {
  skip: noCarving,
}, async () => {
  const r = await extract(CARVING, 8);
  assert.deepEqual(r.streams.object.shape, [8, 14, 14, 1280]); // 2×2 tiles of 7×7
  assert.deepEqual(r.streams.context.shape, [8, 1280]);
  assert.deepEqual(r.streams.action.shape, [8, 480]);
  assert.deepEqual(r.streams.audio.shape, [8, 521]);
  for (const [k, s] of Object.entries(r.streams)) {
    assert.equal(
      s.data.length,
      s.shape.reduce((a, b) => a * b, 1),
      k,
    );
    assert.ok(s.data.every(Number.isFinite), `${k} finite`);
  }
  assert.ok(
    r.warnings.some((w) => /top-5.*carving ice/.test(w)),
    r.warnings.join('\n'),
  );
  assert.ok(
    r.streams.audio.data.some((v) => v > 0),
    'the carving clip has sound',
  );
  assert.ok(r.streams.action.data.some((v) => v !== 0));
  const p = await pack();
  assert.ok(p.id.startsWith('research@'));
  assert.deepEqual(
    p.streams.map((s) => s.name),
    ['object', 'context', 'action', 'audio'],
  );
  assert.ok(p.streams.find((s) => s.name === 'context')?.description.match(/not a scene/i));

  for (const kind of ['none', 'silent'] as const) {
    const clip = await genClip(`gen-${kind}.mp4`, kind);
    const g = await extract(clip, 4);
    assert.ok(
      g.streams.audio.data.every((v) => v === 0),
      `${kind}: audio is zero`,
    );
    assert.ok(
      g.warnings.some((w) => (kind === 'none' ? /no audio stream/ : /silent/).test(w)),
      g.warnings.join('\n'),
    );
    assert.ok(g.streams.object.data.some((v) => v !== 0));
  }
});

test('tiled object map: each 7×7 quarter is MobileNetV2 on that quarter of the frame at 448²; the context is the frame at 224²', {
  skip: noModels || needShared('media', 'nk_carousel1.mp4'),
}, async () => {
  const video = sharedPath('media', 'nk_carousel1.mp4');
  const info = await probe(video);
  const snippets = sampleSnippets(info.duration, 2, 8, info.fps);
  const p = await loadResearchPack({ dir: MODELS, streams: ['object', 'context'] });
  const m = await Mobilenet.load(MODELS);
  try {
    assert.match(p.streams[0].description, /14x14x1280.*2×2 tiles/);
    const r = await p.extract({ info, snippets, decode: (t, o) => decodeFrames(video, t, o, info) });
    assert.deepEqual(r.streams.object.shape, [2, 14, 14, 1280]);
    // independently: the key frames at 448², their quarters cut by hand, one MobileNetV2 run each
    const big = await decodeFrames(
      video,
      snippets.map((s) => s.keyTime),
      { width: 448, height: 448, mode: 'stretch' },
      info,
    );
    const quarter = (f: Uint8Array, qy: number, qx: number) => {
      const q = new Uint8Array(224 * 224 * 3);
      for (let y = 0; y < 224; y++)
        q.set(
          f.subarray(((qy * 224 + y) * 448 + qx * 224) * 3, ((qy * 224 + y) * 448 + qx * 224 + 224) * 3),
          y * 224 * 3,
        );
      return q;
    };
    const ref = await m.run([quarter(big[1].data, 1, 0)], 224); // snippet 1, bottom-left
    const map = r.streams.object.data;
    let maxDiff = 0;
    for (let y = 0; y < 7; y++)
      for (let x = 0; x < 7; x++)
        for (let c = 0; c < 1280; c += 7) {
          const got = map[((1 * 14 + 7 + y) * 14 + x) * 1280 + c];
          maxDiff = Math.max(maxDiff, Math.abs(got - ref.map[(y * 7 + x) * 1280 + c]));
        }
    assert.ok(maxDiff < 1e-4, `bottom-left quarter differs by ${maxDiff}`);
    // the four quarters are different views: the map is not one tile repeated
    let same = 0;
    for (let c = 0; c < 1280; c++)
      if (map[(14 * 14 + 0) * 1280 + c] === map[(14 * 14 + 7) * 1280 + c]) same++;
    assert.ok(same < 1280, 'top-left and top-right tiles differ');
    // context: the pool of the whole frame at 224² (a 2×2 box average of the 448² frame)
    const whole = await m.run([halveFrame(big[0].data, 448)], 224);
    const ctx = r.streams.context.data.subarray(0, 1280);
    let d = 0;
    for (let c = 0; c < 1280; c++) d = Math.max(d, Math.abs(ctx[c] - whole.pool[c]));
    assert.ok(d < 1e-4, `the context is the whole frame at 224² (differs by ${d})`);
  } finally {
    await p.dispose();
    await m.dispose();
  }
});

test('MobileNetV2 int8: map shape, pool = mean of map, ImageNet top classes agree with Tiny Darknet; batch sizes agree', {
  skip: noModels || needShared('media', 'nk_carousel1.mp4'),
}, async () => {
  const video = sharedPath('media', 'nk_carousel1.mp4');
  const info = await probe(video);
  const times = [0.3, 0.5, 0.7].map((f) => f * info.duration);
  const frames = await decodeFrames(video, times, { width: 256, height: 256, mode: 'crop' }, info);
  const big = await Mobilenet.load(MODELS, { batchSize: 16 });
  const small = await Mobilenet.load(MODELS, { batchSize: 2 });
  try {
    const a = await big.run(
      frames.map((f) => f.data),
      256,
    );
    const b = await small.run(
      frames.map((f) => f.data),
      256,
    );
    assert.equal(a.map.length, 3 * 7 * 7 * 1280);
    let maxDiff = 0;
    for (let i = 0; i < a.map.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a.map[i] - b.map[i]));
    assert.ok(maxDiff < 1e-4, `batch 16 vs batch 2 differ by ${maxDiff}`);
    // feat_pool is the global average of the map (checks our CHW → HWC transpose); both are int8
    // outputs, quantised in steps of 6/255, so they agree to half a step
    for (let c = 0; c < 1280; c++) {
      let s = 0;
      for (let p = 0; p < 49; p++) s += a.map[p * 1280 + c];
      assert.ok(Math.abs(s / 49 - a.pool[c]) < 0.5 * (6 / 255), `channel ${c}`);
    }
    // independent reference: Tiny Darknet (another ImageNet network, different preprocessing)
    const ort = await import('onnxruntime-node');
    const darknet = await ort.InferenceSession.create(join(MODELS, 'tiny_darknet_imagenet.onnx'));
    const dLabels = readFileSync(join(MODELS, 'tiny_darknet_labels_1k.txt'), 'utf8').trim().split('\n');
    let agree = 0;
    for (let i = 0; i < frames.length; i++) {
      const x = new Float32Array(3 * 224 * 224);
      const f = frames[i].data; // 256×256: central 224
      for (let y = 0; y < 224; y++)
        for (let xx = 0; xx < 224; xx++)
          for (let c = 0; c < 3; c++)
            x[c * 224 * 224 + y * 224 + xx] = f[((y + 16) * 256 + xx + 16) * 3 + c] / 255;
      const out = await darknet.run({ input_rgb01: new ort.Tensor('float32', x, [1, 3, 224, 224]) });
      const dTop = softmaxTopK(out.logits.data as Float32Array, dLabels, 3).map((l) => l.label.toLowerCase());
      const mTop = softmaxTopK(a.logits.subarray(i * 1000, (i + 1) * 1000), big.labels, 5).map((l) =>
        l.label.toLowerCase(),
      );
      if (dTop.some((d) => mTop.some((m) => m.split(', ').includes(d)))) agree++;
    }
    await darknet.release();
    assert.ok(agree >= 2, `MobileNetV2 and Tiny Darknet share a top class on ${agree}/3 frames`);
  } finally {
    await big.dispose();
    await small.dispose();
  }
});

test('clip-vector path: test_clip3d_random.onnx (RANDOM weights) through the manifest runner, NCTHW', {
  skip: needShared('models', 'test_clip3d_random.onnx') || needShared('media', 'single_face.mp4'),
}, async () => {
  const m = validateManifest(
    {
      id: 'clip3d-random',
      stream: 'clip',
      kind: 'clip-vector',
      engine: 'onnx',
      weights: 'test_clip3d_random.onnx',
      input: { name: 'clip', size: [112, 112], layout: 'NCTHW', frames: 8, scale: 1 / 255 },
      output: { name: 'embedding', shape: [64] },
      licence: 'test only',
      description: 'RANDOM weights: exercises the clip-vector code path, never for results',
    },
    'test-manifest',
    MODELS,
  );
  const video = sharedPath('media', 'single_face.mp4');
  const info = await probe(video);
  const snippets = sampleSnippets(info.duration, 3, 8, info.fps);
  const clips = await Promise.all(
    snippets.map((s) => decodeFrames(video, s.clipTimes, { width: 112, height: 112, mode: 'crop' }, info)),
  );
  const r1 = await loadBackbone(m, { batchSize: 1 });
  const r3 = await loadBackbone(m, { batchSize: 3 });
  try {
    const a = await r1.runClips(clips);
    const b = await r3.runClips(clips);
    assert.deepEqual(a.shape, [3, 64]);
    for (let i = 0; i < a.data.length; i++) assert.ok(Math.abs(a.data[i] - b.data[i]) < 1e-4);
    // layout check against a hand-built NCTHW tensor run directly on onnxruntime
    const ort = await import('onnxruntime-node');
    const s = await ort.InferenceSession.create(join(MODELS, 'test_clip3d_random.onnx'));
    const x = new Float32Array(3 * 8 * 112 * 112);
    clips[1].forEach((f, t) => {
      for (let p = 0; p < 112 * 112; p++)
        for (let c = 0; c < 3; c++) x[(c * 8 + t) * 112 * 112 + p] = f.data[p * 3 + c] / 255;
    });
    const ref = (await s.run({ clip: new ort.Tensor('float32', x, [1, 3, 8, 112, 112]) })).embedding
      .data as Float32Array;
    await s.release();
    for (let d = 0; d < 64; d++) assert.ok(Math.abs(ref[d] - a.data[64 + d]) < 1e-4, `dim ${d}`);
    let diff = 0;
    for (let d = 0; d < 64; d++) diff += Math.abs(a.data[d] - a.data[64 + d]);
    assert.ok(diff > 0, 'different clips give different embeddings');
  } finally {
    await r1.dispose();
    await r3.dispose();
  }
});

test('TFLite engine: the generic runner batches by looping', {
  skip: noModels,
}, async () => {
  const { tfliteEngine } = await import('../../src/backbones/tflite.js');
  const model = await tfliteEngine.load(join(MODELS, 'yamnet.tflite'), { threads: 1 });
  try {
    const x = new Float32Array(2 * 15600);
    for (let i = 0; i < x.length; i++) x[i] = 0.3 * Math.sin((2 * Math.PI * 440 * (i % 15600)) / 16000);
    const r = await model.run({ waveform_binary: { data: x, shape: [2, 15600] } }, [model.outputNames[0]]);
    const y = r[model.outputNames[0]];
    assert.deepEqual(y.shape, [2, 521]);
    for (let d = 0; d < 521; d++)
      assert.ok(Math.abs(y.data[d] - y.data[521 + d]) < 1e-6, 'same window, same scores');
  } finally {
    await model.dispose();
  }
});

test('a missing TFLite engine is a clear DfanError (the research pack refuses to load)', async () => {
  process.env.DFAN_NO_TFLITE = '1';
  try {
    await assert.rejects(loadTflite(join(MODELS, 'yamnet.tflite')), (e: unknown) => {
      assert.ok(e instanceof DfanError);
      assert.equal(e.code, 'MODEL_MISSING');
      assert.match(e.message, /TFLite engine cannot load/);
      assert.match(e.hint ?? '', /npm install tfjs-tflite-node/);
      return true;
    });
    await assert.rejects(loadResearchPack({ dir: MODELS, actionThreads: 1 }), /TFLite engine cannot load/);
  } finally {
    delete process.env.DFAN_NO_TFLITE;
  }
});

test("loadPack('research') loads the installed pack; a truncated installed file is refused", {
  skip: noModels,
}, async () => {
  const { installPack } = await import('../../src/backbones/packs/install.js');
  const { loadPack } = await import('../../src/backbones/index.js');
  const { truncate } = await import('node:fs/promises');
  const saved = process.env.DFAN_CACHE;
  process.env.DFAN_CACHE = join(tmp, 'cache');
  try {
    const installed = await installPack(MODELS, { id: 'research' });
    const p = await loadPack('research', { streams: ['action'] });
    try {
      assert.equal(p.id, `research@${installed.pack.version}+r3`);
      assert.deepEqual(
        p.streams.map((s) => s.name),
        ['action'],
      );
    } finally {
      await p.dispose();
    }
    await truncate(join(installed.dir, 'yamnet.tflite'), 1000);
    await assert.rejects(loadPack('research'), (e: unknown) => {
      assert.ok(e instanceof DfanError);
      assert.equal(e.code, 'CHECKSUM');
      assert.match(e.message, /yamnet\.tflite has 1000 bytes/);
      return true;
    });
  } finally {
    if (saved === undefined) delete process.env.DFAN_CACHE;
    else process.env.DFAN_CACHE = saved;
  }
});
