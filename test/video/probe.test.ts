import assert from 'node:assert/strict';
import { copyFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { DfanError } from '../../src/errors.js';
import {
  clearProbeCaches,
  decodeFrames,
  findFfmpeg,
  frameTimes,
  probe,
  sampleSnippets,
} from '../../src/video/index.js';
import type { VideoInfo } from '../../src/video/types.js';
import { ffmpeg } from '../helpers/ffmpeg.js';
import { needShared, sharedPath } from '../helpers/shared.js';
import { testDir } from '../helpers/temp.js';
import { colourClip, meanRgb } from './fixtures.js';

const dir = testDir('dfan-video-');
let colours = '';
before(() => {
  colours = colourClip(dir);
});

/** The key frames of T snippets of a probed video, decoded at size × size. */
function keyFrames(path: string, info: VideoInfo, T: number, size: number) {
  const times = sampleSnippets(info.duration, T, 1, info.fps).map((s) => s.keyTime);
  return decodeFrames(path, times, { width: size, height: size }, info);
}

test('findFfmpeg finds both binaries and says where they come from', () => {
  const f = findFfmpeg();
  assert.ok(f.ffmpeg && f.ffprobe);
  assert.ok(f.source === 'system' || f.source === 'npm');
});

test('DFAN_FFMPEG pointing nowhere is FFMPEG_MISSING', () => {
  const old = process.env.DFAN_FFMPEG;
  process.env.DFAN_FFMPEG = join(dir, 'no-ffmpeg-here');
  try {
    assert.throws(findFfmpeg, (e: unknown) => e instanceof DfanError && e.code === 'FFMPEG_MISSING');
  } finally {
    if (old === undefined) delete process.env.DFAN_FFMPEG;
    else process.env.DFAN_FFMPEG = old;
  }
});

test('probe of a generated clip: exact duration, rate, frames, size, codec, no audio', async () => {
  const i = await probe(colours);
  assert.equal(i.path, colours);
  assert.ok(Math.abs(i.duration - 4) < 0.05, `duration ${i.duration}`);
  assert.equal(i.fps, 25);
  assert.equal(i.avgFps, 25);
  assert.equal(i.frameCount, 100);
  assert.deepEqual([i.width, i.height, i.displayWidth, i.displayHeight, i.rotation], [64, 48, 64, 48, 0]);
  assert.equal(i.codec, 'h264');
  assert.equal(i.hasAudio, false);
  assert.equal(i.audioCodec, null);
  assert.equal(i.size, statSync(colours).size);
});

test('probe reports audio; frameTimes lists every frame without decoding', async () => {
  const av = join(dir, 'av.mkv');
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    'testsrc=s=96x64:r=10:d=2,format=yuv420p',
    '-f',
    'lavfi',
    '-i',
    'sine=d=2',
    '-c:v',
    'libx264',
    '-c:a',
    'aac',
    '-shortest',
    av,
  ]);
  const i = await probe(av);
  assert.equal(i.hasAudio, true);
  assert.equal(i.audioCodec, 'aac');
  assert.equal(i.fps, 10);
  const ts = await frameTimes(colours);
  assert.ok(ts);
  assert.equal(ts.length, 100);
  assert.ok(Math.abs(ts[99] - 3.96) < 1e-6);
});

// how long the probe takes beside a whole decode: `npm run bench -- headers`
test('a 10-min clip: probe reads its length from the headers; snippets far into it decode at their times', async () => {
  const long = join(dir, 'long.mp4');
  // 600 s of a 32×32 still at 1 fps: cheap to make, long to decode at full rate
  ffmpeg(['-f', 'lavfi', '-i', 'color=c=gray:s=32x32:r=1:d=600', '-c:v', 'libx264', '-g', '300', long]);
  const i = await probe(long);
  assert.ok(Math.abs(i.duration - 600) < 1.5, `duration ${i.duration}`);
  assert.equal(i.frameCount, 600);
  // snippets spread over the whole file, the last ones near its end
  const frames = await keyFrames(long, i, 4, 8);
  assert.equal(frames.length, 4);
  for (const f of frames)
    assert.ok(Math.abs((f.pts ?? 0) - Math.floor(f.time)) < 1e-3, `${f.time} → ${f.pts}`);
});

test('the frame timestamps probe reads on its pass equal a separate packet scan', async () => {
  const raw = join(dir, 'seed.h264');
  ffmpeg(['-i', colours, '-c', 'copy', '-f', 'h264', raw]);
  const files = [
    colours,
    raw,
    ...['media/WolfgangLanger_Pexels.mp4', 'media/nk_carousel1.mp4']
      .filter((m) => !needShared(m))
      .map((m) => sharedPath(m)),
  ];
  for (const f of files) {
    clearProbeCaches();
    const scanned = await frameTimes(f);
    clearProbeCaches();
    await probe(f);
    assert.deepEqual(await frameTimes(f), scanned, f);
  }
  clearProbeCaches();
  await probe(raw);
  assert.equal(await frameTimes(raw), null, 'a raw stream has no packet timestamps');
});

test('repeated probes of one file agree; a file replaced at the same path is probed afresh', async () => {
  const path = join(dir, 'replaced.mp4');
  copyFileSync(colours, path);
  const [a, b] = await Promise.all([probe(path), probe(path)]);
  assert.deepEqual(a, b);
  assert.ok(Math.abs(a.duration - 4) < 0.05);
  a.duration = -1; // a caller's copy: changing it changes nothing for the next caller
  assert.ok(Math.abs((await probe(path)).duration - 4) < 0.05);
  ffmpeg(['-f', 'lavfi', '-i', 'color=c=red:s=32x24:d=2:r=10', '-c:v', 'libx264', '-y', path]);
  const c = await probe(path);
  assert.ok(Math.abs(c.duration - 2) < 0.05, `duration after replacing: ${c.duration}`);
  assert.equal(c.width, 32);
  assert.equal((await frameTimes(path))?.length, 20);
});

const WOLF = 'media/WolfgangLanger_Pexels.mp4';
test('real clip: probe values of WolfgangLanger_Pexels.mp4', { skip: needShared(WOLF) }, async () => {
  const i = await probe(sharedPath(WOLF));
  assert.ok(Math.abs(i.duration - 19.69) < 0.05, `duration ${i.duration}`);
  assert.ok(Math.abs(i.fps - 23.976) < 0.01, `fps ${i.fps}`);
  assert.deepEqual([i.width, i.height, i.rotation], [640, 360, 0]);
  assert.equal(i.codec, 'h264');
  assert.equal(i.hasAudio, true);
  assert.equal(i.frameCount, 472);
});

test('real clip: 16 key frames decode, differ from each other and are not blank', {
  skip: needShared(WOLF),
}, async () => {
  const path = sharedPath(WOLF);
  const i = await probe(path);
  const frames = await keyFrames(path, i, 16, 112);
  assert.equal(frames.length, 16);
  const means = frames.map((f) => meanRgb(f.data, 112));
  for (const m of means) assert.ok(m[0] > 10 && m[0] < 245, `mean ${m}`);
  let different = 0;
  for (let k = 1; k < 16; k++) {
    let d = 0;
    for (let j = 0; j < frames[k].data.length; j += 97)
      d += Math.abs(frames[k].data[j] - frames[k - 1].data[j]);
    if (d > 0) different++;
  }
  assert.ok(different >= 14, `only ${different} of 15 consecutive key frames differ`);
});

for (const name of ['single_face.mp4', 'no_face.mp4', 'test_carving_ice.mp4', 'nk_carousel1.mp4']) {
  test(`real clip ${name}: probe and a snippet decode`, { skip: needShared('media', name) }, async () => {
    const path = sharedPath('media', name);
    const i = await probe(path);
    assert.ok(i.duration > 1 && i.fps > 0 && i.width > 0 && i.frameCount);
    const clips = sampleSnippets(i.duration, 4, 8, i.fps).flatMap((s) => s.clipTimes);
    const frames = await decodeFrames(path, clips, { width: 32, height: 32 }, i);
    assert.equal(frames.length, 32);
  });
}
