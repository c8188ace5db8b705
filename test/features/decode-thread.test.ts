/**
 * Decoding with `onFrame` (src/video/decode.ts): the decode runs in a worker thread and hands
 * each frame over as it arrives, so extraction can run inference on early frames meanwhile.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DfanError } from '../../src/errors.js';
import { decodeFrames, probe } from '../../src/video/index.js';
import { lavfiClip } from '../helpers/ffmpeg.js';
import { testDir } from '../helpers/temp.js';

const dir = testDir('dfan-decode-thread-');

test('onFrame: every frame once, in time order, before the promise resolves; same pixels as without', async () => {
  const video = lavfiClip(join(dir, 'a.mp4'), 'testsrc2=s=96x64:r=10:d=2,format=yuv420p');
  const info = await probe(video);
  const times = [1.5, 0.05, 0.9, 0.9, 0.3];
  const seen: Array<{ index: number; time: number }> = [];
  let resolved = false;
  const p = decodeFrames(
    video,
    times,
    {
      width: 48,
      height: 32,
      onFrame: (index, f) => {
        assert.ok(!resolved, 'reported before the promise resolves');
        seen.push({ index, time: f.time });
      },
    },
    info,
  ).then((r) => {
    resolved = true;
    return r;
  });
  const threaded = await p;
  const plain = await decodeFrames(video, times, { width: 48, height: 32 }, info);
  assert.equal(seen.length, times.length);
  assert.deepEqual(seen.map((s) => s.index).sort(), [0, 1, 2, 3, 4]);
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i].time >= seen[i - 1].time, 'in time order');
  for (let i = 0; i < times.length; i++) {
    assert.equal(threaded[i].time, times[i]);
    assert.equal(threaded[i].pts, plain[i].pts);
    assert.deepEqual(threaded[i].data, plain[i].data, `frame ${i}`);
  }
});

test('onFrame: a damaged file fails with the same DfanError code and file as without', async () => {
  const bad = join(dir, 'bad.mp4');
  writeFileSync(bad, Buffer.from('not a video '.repeat(100)));
  const plain = await decodeFrames(bad, [0], { width: 8, height: 8 }).catch((e: unknown) => e);
  const threaded = await decodeFrames(bad, [0], { width: 8, height: 8, onFrame: () => {} }).catch(
    (e: unknown) => e,
  );
  assert.ok(plain instanceof DfanError && threaded instanceof DfanError, String(threaded));
  assert.equal(threaded.code, plain.code);
  assert.equal(threaded.file, plain.file);
});

test('onFrame: an exception thrown by onFrame rejects the decode (no crash), and the next decode works', async () => {
  const video = lavfiClip(join(dir, 'c.mp4'), 'testsrc2=s=64x48:r=10:d=1,format=yuv420p');
  const boom = new Error('boom in onFrame');
  await assert.rejects(
    decodeFrames(video, [0.1, 0.5], {
      width: 32,
      height: 24,
      onFrame: () => {
        throw boom;
      },
    }),
    (e: unknown) => e === boom,
  );
  let n = 0;
  const r = await decodeFrames(video, [0.1, 0.5], { width: 32, height: 24, onFrame: () => n++ });
  assert.equal(r.length, 2);
  assert.equal(n, 2);
});
