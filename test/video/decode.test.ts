import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { DfanError } from '../../src/errors.js';
import { decodeFrameStream, decodeFrames, frameTimes, probe, sampleSnippets } from '../../src/video/index.js';
import { ffmpeg } from '../helpers/ffmpeg.js';
import { testDir } from '../helpers/temp.js';
import {
  anamorphicClip,
  barClip,
  colourClip,
  meanRgb,
  nearestColour,
  rotatedClip,
  vfrClip,
} from './fixtures.js';

const dir = testDir('dfan-video-');
let colours = '';
before(() => {
  colours = colourClip(dir);
});

const SMALL = { width: 16, height: 12 };

test('a frame decoded at t has the colour shown at t (colour changes every second)', async () => {
  const times = [0, 0.5, 0.98, 1.0, 1.02, 1.5, 2.3, 2.99, 3.5, 3.96];
  const want = ['red', 'red', 'red', 'lime', 'lime', 'lime', 'blue', 'blue', 'white', 'white'];
  const frames = await decodeFrames(colours, times, SMALL);
  assert.equal(frames.length, times.length);
  frames.forEach((f, i) => {
    assert.equal(f.time, times[i]);
    assert.equal(f.width, 16);
    assert.equal(f.height, 12);
    assert.equal(f.data.length, 16 * 12 * 3);
    assert.equal(nearestColour(meanRgb(f.data, f.width)), want[i], `t=${times[i]}`);
  });
});

test('same order as requested, duplicates allowed, pts = the frame on screen', async () => {
  const times = [3.5, 0.5, 3.5, 1.5, 0.5];
  const frames = await decodeFrames(colours, times, SMALL);
  assert.deepEqual(
    frames.map((f) => nearestColour(meanRgb(f.data, f.width))),
    ['white', 'red', 'white', 'lime', 'red'],
  );
  assert.deepEqual(
    frames.map((f) => f.time),
    times,
  );
  // 25 fps: the frame on screen at 0.5 s starts at 0.48 s (last frame with pts ≤ t)
  assert.ok(Math.abs((frames[1].pts ?? -1) - 0.48) < 1e-3, `pts ${frames[1].pts}`);
});

test('times past the end give the last frame; negative times the first', async () => {
  const frames = await decodeFrames(colours, [100, -3, 4.5], SMALL);
  assert.equal(nearestColour(meanRgb(frames[0].data, 16)), 'white');
  assert.equal(nearestColour(meanRgb(frames[1].data, 16)), 'red');
  assert.equal(nearestColour(meanRgb(frames[2].data, 16)), 'white');
  assert.ok(Math.abs((frames[0].pts ?? 0) - 3.96) < 1e-3, `last pts ${frames[0].pts}`);
  assert.equal(frames[1].pts, 0);
});

test('variable frame rate: frames chosen by presentation time, not by index', async () => {
  const vfr = vfrClip(dir);
  const info = await probe(vfr);
  assert.notEqual(
    Math.round(info.avgFps * 100),
    Math.round(info.fps * 100),
    'avg and nominal fps differ on VFR',
  );
  // at 1.9 s the lime frame from 1.5 s is on screen; an index at the average rate would be red
  const times = [0.5, 0.999, 1.0, 1.49, 1.9, 2.05, 2.7, 50];
  const want = ['red', 'red', 'lime', 'lime', 'lime', 'blue', 'blue', 'blue'];
  const frames = await decodeFrames(vfr, times, SMALL, info);
  frames.forEach((f, i) => {
    assert.equal(nearestColour(meanRgb(f.data, 16)), want[i], `t=${times[i]}`);
  });
  // the frame on screen at 1.9 s is the last lime frame: at 1.5 s (ffmpeg 5's concat; 4.1 puts it at 1.52)
  const lime = ((await frameTimes(vfr)) ?? []).filter((p) => p < 1.9).at(-1) ?? Number.NaN;
  assert.ok(lime > 1.4 && lime < 1.6, `last frame before 1.9 s at ${lime}`);
  assert.ok(Math.abs((frames[4].pts ?? 0) - lime) < 1e-3, `pts at 1.9 s is ${frames[4].pts}`);
});

test('raw H.264 stream (no timestamps, no duration): probe counts frames, decode picks by time', async () => {
  const raw = join(dir, 'colours.h264');
  ffmpeg(['-i', colours, '-c', 'copy', '-f', 'h264', raw]);
  const info = await probe(raw);
  assert.equal(info.frameCount, 100);
  assert.ok(Math.abs(info.duration - 4) < 0.05, `duration ${info.duration}`);
  const times = [0.5, 0.99, 1.0, 2.3, 3.97, 50];
  const frames = await decodeFrames(raw, times, SMALL, info);
  assert.deepEqual(
    frames.map((f) => nearestColour(meanRgb(f.data, 16))),
    ['red', 'red', 'lime', 'blue', 'white', 'white'],
  );
  assert.ok(Math.abs((frames[5].pts ?? 0) - 3.96) < 1e-3, `clamped to the last frame, got ${frames[5].pts}`);
});

test('resize modes: crop keeps the centre, letterbox pads, stretch keeps everything', async () => {
  const bar = barClip(dir); // 160×120 blue, white bar over the left 20 columns
  const opts = { width: 32, height: 32 };
  const [crop] = await decodeFrames(bar, [0.5], { ...opts, mode: 'crop' });
  const [box] = await decodeFrames(bar, [0.5], { ...opts, mode: 'letterbox' });
  const [str] = await decodeFrames(bar, [0.5], { ...opts, mode: 'stretch' });
  const px = (d: Uint8Array, x: number, y: number) => [...d.slice((y * 32 + x) * 3, (y * 32 + x) * 3 + 3)];
  const isWhite = (p: number[]) => p.every((v) => v > 200);
  const isBlack = (p: number[]) => p.every((v) => v < 30);
  const isBlue = (p: number[]) => p[2] > 200 && p[0] < 60;
  // crop: 160×120 → 43×32 → centre 32 columns: the bar (left 1/8) is cut away
  assert.ok(isBlue(px(crop.data, 0, 16)), `crop left ${px(crop.data, 0, 16)}`);
  // letterbox: 32×24 picture with 4 black rows above and below; the bar is visible
  assert.ok(isBlack(px(box.data, 16, 0)) && isBlack(px(box.data, 16, 31)), 'letterbox bars');
  assert.ok(isWhite(px(box.data, 1, 16)), `letterbox keeps the bar ${px(box.data, 1, 16)}`);
  assert.ok(isBlue(px(box.data, 20, 16)));
  // stretch: no bars, bar visible
  assert.ok(isWhite(px(str.data, 1, 0)) && isBlue(px(str.data, 20, 31)));
  // default mode is crop
  const [def] = await decodeFrames(bar, [0.5], opts);
  assert.deepEqual(def.data, crop.data);
});

test('thumbnails: chosen times come small from the same pass, same frame, same picture', async () => {
  const times = [0.5, 1.5, 1.5, 2.3, 3.5, 0.5];
  const thumb = { width: 8, height: 6, indices: [2, 3, 5] };
  const frames = await decodeFrames(colours, times, { ...SMALL, thumb });
  const small = new Set(thumb.indices);
  frames.forEach((f, i) => {
    const [w, h] = small.has(i) ? [8, 6] : [16, 12];
    assert.equal(f.width, w, `width of ${i}`);
    assert.equal(f.height, h, `height of ${i}`);
    assert.equal(f.data.length, w * h * 3);
  });
  assert.deepEqual(
    frames.map((f) => nearestColour(meanRgb(f.data, f.width))),
    ['red', 'lime', 'lime', 'blue', 'white', 'red'],
  );
  // the same time at both sizes is the same frame (same pts), and its average colour agrees
  assert.equal(frames[1].pts, frames[2].pts);
  const a = meanRgb(frames[1].data, 16);
  const b = meanRgb(frames[2].data, 8);
  for (let k = 0; k < 3; k++) assert.ok(Math.abs(a[k] - b[k]) < 4, `channel ${k}: ${a[k]} vs ${b[k]}`);
  // the thumbnail is stretched (whole picture): the bar clip's white bar stays on the left
  const bar = barClip(dir);
  const [full, th] = await decodeFrames(bar, [0.5, 0.5], {
    width: 32,
    height: 32,
    mode: 'crop',
    thumb: { width: 16, height: 12, indices: [1] },
  });
  assert.equal(full.width, 32);
  assert.ok(meanRgb(th.data, 16, 0, 0, 1, 12)[0] > 180, 'left column of the thumbnail is white');
  assert.ok(meanRgb(th.data, 16, 8, 0, 8, 12)[0] < 60, 'right half of the thumbnail is blue');
  // in the worker thread too (onFrame), and every frame reported once
  const seen: number[] = [];
  const viaWorker = await decodeFrames(colours, times, { ...SMALL, thumb, onFrame: (i) => seen.push(i) });
  assert.deepEqual([...seen].sort(), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(
    viaWorker.map((f) => f.width),
    frames.map((f) => f.width),
  );
});

test('thumbnails on a raw H.264 stream (no timestamps) and only thumbnails', async () => {
  const raw = join(dir, 'colours-thumb.h264');
  ffmpeg(['-i', colours, '-c', 'copy', '-f', 'h264', raw]);
  // [width, colour] of each frame when the frames at `thumbs` come as 4×4 thumbnails
  const decoded = async (file: string, times: number[], thumbs: number[]) => {
    const frames = await decodeFrames(file, times, {
      ...SMALL,
      thumb: { width: 4, height: 4, indices: thumbs },
    });
    return frames.map((f) => `${f.width} ${nearestColour(meanRgb(f.data, f.width))}`);
  };
  assert.deepEqual(await decoded(raw, [0.5, 1.5, 2.3], [1, 2]), ['16 red', '4 lime', '4 blue']);
  assert.deepEqual(await decoded(colours, [3.5, 0.5], [0, 1]), ['4 white', '4 red']);
});

test('non-square pixels: probe reports the shown size, crop/letterbox work on the shown picture', async () => {
  const clip = anamorphicClip(dir);
  const info = await probe(clip);
  assert.ok(Math.abs((info.sar ?? 1) - 4 / 3) < 1e-6, `sar ${info.sar}`);
  assert.deepEqual([info.width, info.displayWidth, info.displayHeight], [120, 160, 120]);
  const [crop] = await decodeFrames(clip, [0.5], { width: 32, height: 32, mode: 'crop' }, info);
  const [box] = await decodeFrames(clip, [0.5], { width: 32, height: 32, mode: 'letterbox' }, info);
  const at = (d: Uint8Array, x: number, y: number) => [...d.slice((y * 32 + x) * 3, (y * 32 + x) * 3 + 3)];
  // shown 4:3 → the crop cuts the bar away; letterbox has black bars above and below
  assert.ok(at(crop.data, 0, 16)[2] > 200 && at(crop.data, 0, 16)[0] < 60, `crop ${at(crop.data, 0, 16)}`);
  assert.ok(
    at(box.data, 16, 0).every((v) => v < 30),
    `letterbox top ${at(box.data, 16, 0)}`,
  );
  assert.ok(
    at(box.data, 1, 16).every((v) => v > 200),
    'letterbox keeps the bar',
  );
});

test('display rotation is reported and honoured (orientation of the decoded frame)', async () => {
  const { plain, rotated } = rotatedClip(dir);
  const pi = await probe(plain);
  const ri = await probe(rotated);
  assert.equal(pi.rotation, 0);
  assert.ok(ri.rotation === 90 || ri.rotation === 270, `rotation ${ri.rotation}`);
  assert.deepEqual([ri.width, ri.height, ri.displayWidth, ri.displayHeight], [320, 240, 240, 320]);
  const opts = { width: 8, height: 8, mode: 'stretch' as const };
  const [p] = await decodeFrames(plain, [0.5], opts, pi);
  const [r] = await decodeFrames(rotated, [0.5], opts, ri);
  const colourAt = (d: Uint8Array, x: number, y: number) => {
    const m = meanRgb(d, 8, x, y, 1, 1);
    return m[0] > m[2] ? 'red' : 'blue';
  };
  // plain: red left, blue right
  assert.equal(colourAt(p.data, 1, 4), 'red');
  assert.equal(colourAt(p.data, 6, 4), 'blue');
  // rotated: the halves are now top and bottom; clockwise 90° brings the left side to the top
  const top = colourAt(r.data, 4, 1);
  const bottom = colourAt(r.data, 4, 6);
  assert.notEqual(top, bottom, 'rotated frame shows the halves top and bottom');
  assert.equal(colourAt(r.data, 1, 1), colourAt(r.data, 6, 1), 'left and right agree after rotation');
  assert.equal(top, ri.rotation === 90 ? 'red' : 'blue', `rotation ${ri.rotation}° is applied clockwise`);
});

test('decodeFrameStream yields every requested time once, in time order, with its index', async () => {
  const times = [2.5, 0.2, 1.2, 0.2];
  const seen: Array<[number, number]> = [];
  for await (const { index, frame } of decodeFrameStream(colours, times, SMALL))
    seen.push([index, frame.time]);
  assert.equal(seen.length, 4);
  assert.deepEqual(seen.map(([i]) => i).sort(), [0, 1, 2, 3]);
  const ts = seen.map(([, t]) => t);
  assert.deepEqual(
    ts,
    [...ts].sort((a, b) => a - b),
  );
});

test('snippet decode: 16×8 clip frames of a clip, colours follow time', async () => {
  const info = await probe(colours);
  const sn = sampleSnippets(info.duration, 16, 8, info.fps);
  const times = sn.flatMap((s) => s.clipTimes);
  const frames = await decodeFrames(colours, times, { width: 24, height: 24 }, info);
  assert.equal(frames.length, 128);
  for (const f of frames) {
    const want = ['red', 'lime', 'blue', 'white'][Math.min(3, Math.floor((f.pts ?? 0) + 1e-6))];
    assert.equal(nearestColour(meanRgb(f.data, 24)), want, `t=${f.time}`);
    assert.ok((f.pts ?? 99) <= f.time + 1e-6 && f.time - (f.pts ?? 0) < 0.04 + 1e-6);
  }
});

test('invalid decode options are BAD_ARGUMENT', async () => {
  const bad = async (times: number[], o: Record<string, unknown>) =>
    assert.rejects(
      decodeFrames(colours, times, o as never),
      (e: unknown) => e instanceof DfanError && e.code === 'BAD_ARGUMENT',
    );
  await bad([1], { width: 0, height: 10 });
  await bad([1], { width: 10.5, height: 10 });
  await bad([Number.NaN], { width: 10, height: 10 });
  await bad([1], { width: 10, height: 10, mode: 'zoom' });
  await bad([1], { width: 10, height: 10, thumb: { width: 0, height: 4, indices: [0] } });
  await bad([1], { width: 10, height: 10, thumb: { width: 4, height: 4, indices: [1] } });
  assert.deepEqual(await decodeFrames(colours, [], SMALL), []);
});

test('a slow consumer of decodeFrameStream does not trip the idle timeout', async () => {
  // the consumer holds each frame longer than the idle timeout; only ffmpeg's silence counts
  const times = [0.5, 3.5];
  let n = 0;
  for await (const _ of decodeFrameStream(colours, times, { ...SMALL, idleTimeoutMs: 2000 })) {
    await new Promise((r) => setTimeout(r, 2500));
    n++;
  }
  assert.equal(n, 2);
});

test('a slow consumer of two outputs (frames + thumbnails) gets every frame, right colour, right size', async () => {
  // many small frames arrive per pipe chunk, so the pipes are paused and resumed many times
  const times = Array.from({ length: 40 }, (_, i) => (i % 20) * 0.2);
  const thumb = { width: 4, height: 4, indices: times.map((_, i) => i).filter((i) => i >= 20) };
  const got = new Map<number, string>();
  for await (const { index, frame } of decodeFrameStream(colours, times, { ...SMALL, thumb })) {
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(frame.width, index >= 20 ? 4 : 16, `size of ${index}`);
    got.set(index, nearestColour(meanRgb(frame.data, frame.width)));
  }
  assert.equal(got.size, 40);
  const want = ['red', 'lime', 'blue', 'white'];
  for (const [i, c] of got) assert.equal(c, want[Math.floor(times[i] + 1e-9)], `t=${times[i]}`);
});
