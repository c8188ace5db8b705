/**
 * The default pack on real clips (faces, expressions) and on a generated clip (every stream,
 * shapes, stream subsets).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { ACTION_DIM, CONTEXT_DIM } from '../../src/backbones/default/extract.js';
import { decodeSize, loadDefaultPack } from '../../src/backbones/default/pack.js';
import { loadPack, videoPackInput } from '../../src/backbones/index.js';
import { DfanError } from '../../src/errors.js';
import { FACE_LAYOUT } from '../../src/features/types.js';
import { needShared, sharedPath } from '../helpers/shared.js';
import { testDir } from '../helpers/temp.js';
import { makeMovingVideo } from './helpers.js';

const HAPPY = FACE_LAYOUT.expressions[3];

async function faceStream(video: string, T: number): Promise<Float32Array> {
  const pack = await loadDefaultPack({ streams: ['face'] });
  try {
    const r = await pack.extract(await videoPackInput(video, { T, K: 2 }));
    assert.deepEqual(r.streams.face.shape, [T, FACE_LAYOUT.size]);
    assert.equal(Object.keys(r.streams).length, 1, 'only the requested stream');
    return r.streams.face.data;
  } finally {
    await pack.dispose();
  }
}

test('decodeSize keeps the display aspect with the short side given', () => {
  assert.deepEqual(decodeSize({ displayWidth: 640, displayHeight: 360 }), { width: 456, height: 256 });
  assert.deepEqual(decodeSize({ displayWidth: 360, displayHeight: 640 }), { width: 256, height: 456 });
  assert.deepEqual(decodeSize({ displayWidth: 4000, displayHeight: 100 }, 100), { width: 250, height: 100 });
});

test('unknown stream names are refused', async () => {
  await assert.rejects(
    loadDefaultPack({ streams: ['scene'] }),
    (e: unknown) => e instanceof DfanError && /no stream "scene"/.test(e.message),
  );
  await assert.rejects(
    loadPack('nonexistent-pack'),
    (e: unknown) => e instanceof DfanError && e.code === 'BAD_ARGUMENT',
  );
});

test('faces: found in single_face.mp4 with a plausible box', {
  skip: needShared('media', 'single_face.mp4'),
}, async () => {
  const d = await faceStream(sharedPath('media', 'single_face.mp4'), 4);
  for (let t = 0; t < 4; t++) {
    const v = d.subarray(t * 12, t * 12 + 12);
    assert.ok(v[FACE_LAYOUT.presence] > 0.5, `snippet ${t}: presence ${v[0]}`);
    const [x, y, w, h] = FACE_LAYOUT.box.map((k) => v[k]);
    assert.ok(
      x >= 0 && y >= 0 && x + w <= 1.0001 && y + h <= 1.0001 && w > 0.05 && h > 0.05,
      `box ${[x, y, w, h]}`,
    );
    const s = FACE_LAYOUT.expressions.reduce((a, k) => a + v[k], 0);
    assert.ok(Math.abs(s - 1) < 1e-3, 'expression probabilities sum to 1');
  }
});

test('faces: none in no_face.mp4', { skip: needShared('media', 'no_face.mp4') }, async () => {
  const d = await faceStream(sharedPath('media', 'no_face.mp4'), 4);
  assert.ok(
    d.every((v) => v === 0),
    'the face stream is all zero',
  );
});

test('expressions: WolfgangLanger (worried, then smiling) shifts toward happy', {
  skip: needShared('media', 'WolfgangLanger_Pexels.mp4'),
}, async () => {
  const T = 8;
  const d = await faceStream(sharedPath('media', 'WolfgangLanger_Pexels.mp4'), T);
  const happy = Array.from({ length: T }, (_, t) => d[t * 12 + HAPPY]);
  const first = (happy[0] + happy[1] + happy[2] + happy[3]) / 4;
  const last = (happy[5] + happy[6] + happy[7]) / 3;
  const msg = `happy by snippet: ${happy.map((x) => x.toFixed(2)).join(' ')}`;
  assert.ok(last > 0.8, msg);
  assert.ok(last > first + 0.4, msg);
});

test('every stream on a generated clip: shapes, finite values, labelled descriptions', async () => {
  const dir = testDir('dfan-default-');
  const video = makeMovingVideo(join(dir, 'v.mp4'), 2, '160x90');
  const pack = await loadPack('default');
  try {
    assert.match(pack.id, /^default@/);
    const byName = Object.fromEntries(pack.streams.map((s) => [s.name, s]));
    assert.match(byName.context.description, /NOT a scene/);
    assert.match(byName.action.description, /NOT a Kinetics/);
    const r = await pack.extract(await videoPackInput(video, { T: 3, K: 4 }));
    assert.deepEqual(r.streams.object.shape, [3, 16, 16, 120]);
    assert.equal(byName.object.fit, 'stretch', 'the object map sees the whole frame');
    assert.match(byName.object.description, /COCO-trained object detector backbone/);
    assert.match(byName.object.backbone, /centernet/);
    assert.match(byName.object.description, /not scenes and not ImageNet/);
    assert.deepEqual(r.streams.context.shape, [3, CONTEXT_DIM]);
    assert.deepEqual(r.streams.action.shape, [3, ACTION_DIM]);
    assert.deepEqual(r.streams.face.shape, [3, 12]);
    for (const s of Object.values(r.streams)) assert.ok(s.data.every(Number.isFinite));
    const anyFace = [0, 1, 2].some((t) => r.streams.face.data[t * 12] > 0);
    assert.equal(
      r.warnings.some((w) => /no face/.test(w)),
      !anyFace,
      'a warning says so when no face was found',
    );
    // testsrc2 moves: frame differences are seen
    const motion = r.streams.action.data[89];
    assert.ok(motion > 0, 'frame differences are seen');
  } finally {
    await pack.dispose();
  }
});

test('concurrent extractions on one pack give the same numbers as sequential ones', async () => {
  const dir = testDir('dfan-default-');
  const a = makeMovingVideo(join(dir, 'a.mp4'), 2, '160x90');
  const b = makeMovingVideo(join(dir, 'b.mp4'), 1, '96x96');
  const pack = await loadDefaultPack();
  try {
    const ia = await videoPackInput(a, { T: 3, K: 3 });
    const ib = await videoPackInput(b, { T: 3, K: 3 });
    const [ra] = await Promise.all([pack.extract(ia), pack.extract(ib)]);
    const again = await pack.extract(ia);
    for (const k of Object.keys(ra.streams)) assert.deepEqual(ra.streams[k].data, again.streams[k].data, k);
  } finally {
    await pack.dispose();
  }
});

test('objectLayer block_13_expand_relu (MobileNetV2) gives a 14×14×576 map, labelled fine-tuned, under its own pack id', async () => {
  const dir = testDir('dfan-default-');
  const video = makeMovingVideo(join(dir, 'v.mp4'), 1, '160x90');
  const pack = await loadDefaultPack({ streams: ['object'], objectLayer: 'block_13_expand_relu' });
  try {
    assert.match(pack.streams[0].backbone, /block_13_expand_relu/);
    assert.match(pack.streams[0].description, /fine-tuned by nsfwjs/);
    assert.match(pack.id, /\+block_13_expand_relu$/);
    const r = await pack.extract(await videoPackInput(video, { T: 2, K: 2 }));
    assert.deepEqual(r.streams.object.shape, [2, 14, 14, 576]);
    assert.ok(r.streams.object.data.some((v) => v > 0));
  } finally {
    await pack.dispose();
  }
});

test('frames streamed to the pack while decoding (onFrame, any group size) give the same numbers as a whole decode', async () => {
  const dir = testDir('dfan-default-');
  const video = makeMovingVideo(join(dir, 'v.mp4'), 2, '160x90');
  const streamed = await loadDefaultPack({ streamGroup: 1 });
  const grouped = await loadDefaultPack({ streamGroup: 100 });
  try {
    const input = await videoPackInput(video, { T: 5, K: 3 });
    let reported = 0;
    let thumbs = 0;
    const a = await streamed.extract({
      ...input,
      decode: (times, o) =>
        input.decode(times, {
          ...o,
          onFrame: (i, f) => {
            reported++;
            if (f.width === 64) thumbs++;
            o.onFrame?.(i, f);
          },
        }),
    });
    // per snippet: key frame, 3 clip thumbnails (64 wide, for the motion statistics), the last
    // clip frame at full size (MoveNet)
    assert.equal(reported, 5 * 5, 'key + clip frames reach the pack as they are decoded');
    assert.equal(thumbs, 5 * 3, 'clip frames come as thumbnails');
    // a PackInput that ignores onFrame: the pack uses what decode returns
    const b = await grouped.extract({
      ...input,
      decode: (times, o) => {
        const { onFrame: _ignored, ...rest } = o;
        return input.decode(times, rest);
      },
    });
    assert.deepEqual(Object.keys(a.streams).sort(), Object.keys(b.streams).sort());
    for (const k of Object.keys(a.streams)) assert.deepEqual(a.streams[k].data, b.streams[k].data, k);
  } finally {
    await streamed.dispose();
    await grouped.dispose();
  }
});
