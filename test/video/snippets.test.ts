import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DfanError } from '../../src/errors.js';
import { sampleSnippets, snippetTimes } from '../../src/video/index.js';

function allTimes(d: number, T: number, K: number, fps?: number): number[] {
  return sampleSnippets(d, T, K, fps).flatMap((s) => [s.keyTime, ...s.clipTimes]);
}

test('T uniform segments covering [0, duration), key time at each centre', () => {
  const s = sampleSnippets(20, 16, 8, 30);
  assert.equal(s.length, 16);
  assert.equal(s[0].start, 0);
  assert.ok(Math.abs(s[15].end - 20) < 1e-6);
  for (let i = 0; i < 16; i++) {
    assert.equal(s[i].index, i);
    assert.ok(Math.abs(s[i].end - s[i].start - 1.25) < 1e-6);
    if (i > 0) assert.ok(Math.abs(s[i].start - s[i - 1].end) < 1e-6);
    assert.ok(Math.abs(s[i].keyTime - (s[i].start + 0.625)) < 1e-6);
    assert.equal(s[i].clipTimes.length, 8);
  }
});

test('clip frames are consecutive video frames (1/fps apart) centred on the key time', () => {
  for (const sn of sampleSnippets(20, 16, 8, 25)) {
    for (let k = 1; k < 8; k++) assert.ok(Math.abs(sn.clipTimes[k] - sn.clipTimes[k - 1] - 0.04) < 2e-6);
    const mid = (sn.clipTimes[0] + sn.clipTimes[7]) / 2;
    assert.ok(Math.abs(mid - sn.keyTime) < 2e-6);
    assert.ok(sn.clipTimes[0] >= sn.start && sn.clipTimes[7] < sn.end);
  }
});

test('deterministic: same input, same output', () => {
  assert.deepEqual(sampleSnippets(13.37, 16, 8, 29.97), sampleSnippets(13.37, 16, 8, 29.97));
  assert.deepEqual(sampleSnippets(5, 4, 3), sampleSnippets(5, 4, 3));
});

test('short clips (fewer frames than T×K): times distinct, inside [0, duration)', () => {
  for (const [d, fps] of [
    [0.5, 25],
    [0.04, 25],
    [1, 30],
    [2.4, 30],
    [0.001, undefined],
  ] as Array<[number, number | undefined]>) {
    const ts = allTimes(d, 16, 8, fps);
    for (const t of ts) assert.ok(t >= 0 && t < d, `${t} outside [0, ${d})`);
    const clip = sampleSnippets(d, 16, 8, fps).flatMap((s) => s.clipTimes);
    assert.equal(new Set(clip).size, clip.length, `clip times not distinct for d=${d}`);
  }
});

test('very long clips (3 h): segments of 675 s, clips stay 1/fps apart, inside the video', () => {
  const d = 3 * 3600;
  const s = sampleSnippets(d, 16, 8, 25);
  assert.ok(Math.abs(s[1].start - 675) < 1e-6);
  for (const sn of s) {
    assert.ok(Math.abs(sn.clipTimes[1] - sn.clipTimes[0] - 0.04) < 2e-6);
    assert.ok(sn.clipTimes.every((t) => t >= 0 && t < d));
  }
  // without fps the clip spreads over its segment (spacing L/K)
  const u = sampleSnippets(d, 16, 8);
  assert.ok(Math.abs(u[0].clipTimes[1] - u[0].clipTimes[0] - 675 / 8) < 1e-6);
});

test('the last time is strictly before the duration even for awkward durations', () => {
  for (const d of [1e-6 * 3, 0.1 + 0.2, 19.690667, 7]) {
    for (const t of allTimes(d, 5, 3, 1000)) assert.ok(t < d && t >= 0, `${t} vs ${d}`);
  }
});

test('snippetTimes: sorted unique union of key and clip times', () => {
  const s = sampleSnippets(10, 4, 2, 10);
  const ts = snippetTimes(s);
  assert.deepEqual(
    ts,
    [...ts].sort((a, b) => a - b),
  );
  assert.equal(new Set(ts).size, ts.length);
  for (const sn of s) {
    assert.ok(ts.includes(sn.keyTime));
    for (const c of sn.clipTimes) assert.ok(ts.includes(c));
  }
});

test('bad arguments are typed errors', () => {
  for (const [d, T, K, fps] of [
    [0, 16, 8],
    [-1, 16, 8],
    [Number.NaN, 16, 8],
    [10, 0, 8],
    [10, 1.5, 8],
    [10, 16, 0],
    [10, 16, 8, -5],
  ] as Array<[number, number, number, number?]>) {
    assert.throws(
      () => sampleSnippets(d, T, K, fps),
      (e: unknown) => e instanceof DfanError && e.code === 'BAD_ARGUMENT',
    );
  }
});
