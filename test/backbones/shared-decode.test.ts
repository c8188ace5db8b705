/**
 * The research pack's single decode (src/backbones/research/media.ts `sharedDecode`): one ffmpeg
 * with a split filter gives exactly the MoViNet frame stream and the key frames that two
 * separate decodes give.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { type StreamedFrame, sharedDecode, streamSquareFrames } from '../../src/backbones/research/media.js';
import { decodeFrames, probe, sampleSnippets } from '../../src/video/index.js';
import { lavfiClip } from '../helpers/ffmpeg.js';
import { testDir } from '../helpers/temp.js';

test('sharedDecode = streamSquareFrames + decodeFrames, frame for frame', async () => {
  const dir = testDir('dfan-shared-decode-');
  // 25 fps with B-frames, a size that needs both the square crop and the key-frame crop
  const video = lavfiClip(join(dir, 'v.mp4'), 'testsrc2=s=200x120:r=25:d=3,format=yuv420p', [
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-bf',
    '2',
  ]);
  const info = await probe(video);
  const keyTimes = sampleSnippets(info.duration, 6, 1, info.fps).map((s) => s.keyTime);
  const keyOpts = { width: 64, height: 64, mode: 'crop' as const };
  const shared = await sharedDecode(video, 5, 48, info, keyTimes, keyOpts);
  assert.ok(shared, 'a short clip starting at 0 takes the single-decode path');
  const a: StreamedFrame[] = [];
  for await (const f of shared.frames) a.push(f);
  const aKeys = await shared.keys;
  const b: StreamedFrame[] = [];
  for await (const f of streamSquareFrames(video, 5, 48)) b.push(f);
  const bKeys = await decodeFrames(video, keyTimes, keyOpts, info);
  assert.equal(a.length, b.length);
  assert.ok(a.length >= 14, `${a.length} stream frames`);
  a.forEach((f, i) => {
    assert.equal(f.time, b[i].time);
    assert.deepEqual(f.data, b[i].data, `stream frame ${i}`);
  });
  assert.equal(aKeys.length, keyTimes.length);
  aKeys.forEach((f, i) => {
    assert.equal(f.time, bKeys[i].time);
    assert.equal(f.pts, bKeys[i].pts, `key ${i} pts`);
    assert.deepEqual(f.data, bKeys[i].data, `key frame ${i}`);
  });
});
