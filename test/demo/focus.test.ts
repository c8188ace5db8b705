import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { PNG } from 'pngjs';
import { buildFocusDataset, CUE_CLASSES, DEFAULT_FOCUS, planFocusDataset } from '../../src/demo/focus.js';
import { cueCells, demoPlan, focusScores, runDemo } from '../../src/demo/run.js';
import { shapePng } from '../../src/demo/shapes.js';
import { sampleSnippets } from '../../src/video/snippets.js';
import { needSlow } from '../helpers/shared.js';

const tmp = mkdtempSync(join(tmpdir(), 'dfan-demo-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('plan: the cue covers ≤ 2 of 16 snippets (both key frames), 1/16 of the frame, inside the crop; balanced classes', () => {
  for (const quick of [true, false]) {
    const { spec } = demoPlan(quick);
    const plan = planFocusDataset(spec);
    assert.equal(plan.length, spec.classes * spec.perClass);
    const snippets = sampleSnippets(spec.duration, spec.T, 8, spec.fps);
    for (const v of plan) {
      const over = snippets.filter((s) => s.start < v.cue.end && s.end > v.cue.start);
      assert.ok(over.length <= 2 && over.length >= 1, `${v.key}: cue overlaps ${over.length} snippets`);
      assert.ok(
        over.every((s) => s.keyTime > v.cue.start && s.keyTime < v.cue.end),
        'key frames show the cue',
      );
      assert.ok(v.cue.w * v.cue.h <= (v.frame.width * v.frame.height) / 16);
      const crop = (v.frame.width * 224) / 256;
      const m = (v.frame.width - crop) / 2;
      assert.ok(
        v.cue.x >= m && v.cue.y >= m && v.cue.x + v.cue.w <= m + crop && v.cue.y + v.cue.h <= m + crop,
      );
    }
    for (const c of CUE_CLASSES.slice(0, spec.classes)) {
      const n = plan.filter((v) => v.label === c.name);
      assert.equal(n.length, spec.perClass);
      assert.ok(n.some((v) => v.split === 'test') && n.some((v) => v.split === 'train'));
    }
  }
  // classes differ in colour and in shape
  assert.equal(new Set(CUE_CLASSES.map((c) => c.shape)).size, CUE_CLASSES.length);
  assert.equal(new Set(CUE_CLASSES.map((c) => c.rgb.join())).size, CUE_CLASSES.length);
});

test('shapes: opaque inside, transparent corners, distinct masks', () => {
  const masks = CUE_CLASSES.map((c) => {
    const png = PNG.sync.read(shapePng(c.shape, c.rgb, 32));
    assert.equal(png.data[3], 0, `${c.shape}: corner is transparent`);
    const alpha = Array.from({ length: 32 * 32 }, (_, i) => png.data[i * 4 + 3] > 127);
    assert.ok(alpha.filter(Boolean).length > 100, `${c.shape} has area`);
    return alpha.map((a) => (a ? 1 : 0)).join('');
  });
  assert.equal(new Set(masks).size, masks.length);
});

test('cueCells and focusScores: hits, pointing and chance levels', () => {
  const v = {
    key: 'a.mp4',
    label: 'x',
    split: 'test' as const,
    file: 'a.mp4',
    cue: { start: 2.02, end: 2.98, x: 16, y: 16, w: 64, h: 64 },
    frame: { width: 256, height: 256 },
  };
  assert.deepEqual(cueCells(v, 7, 7), [0, 1, 7, 8]);
  const snippets = sampleSnippets(8, 16, 8, 10);
  const beta = new Array(16).fill(0.01);
  beta[4] = 0.85; // snippet 4 = [2, 2.5): inside the cue
  const alpha = Array.from({ length: 16 }, () => new Array(49).fill(1 / 49));
  alpha[5] = new Array(49).fill(0.01);
  alpha[5][8] = 0.52; // peak in the box at the cue snippet (key frame 2.75 s, nearest the cue middle 2.5 s → snippet 4 or 5)
  alpha[4] = alpha[5];
  const s = focusScores(
    [{ key: 'a.mp4', label: 'x', predicted: 'x', probs: [1], beta, alpha: { object: alpha }, snippets }],
    new Map([['a.mp4', v]]),
    { H: 7, W: 7 },
    1,
  );
  assert.equal(s.temporalHit, 1);
  assert.equal(s.pointing, 1);
  assert.equal(s.temporalChance, 2 / 16);
  assert.equal(s.pointingChance, 4 / 49);
  // uniform α never points; top β outside the cue misses
  const miss = focusScores(
    [
      {
        key: 'a.mp4',
        label: 'x',
        predicted: 'x',
        probs: [1],
        beta: beta.map((_, i) => (i === 10 ? 1 : 0)),
        alpha: { object: alpha.map(() => new Array(49).fill(1 / 49)) },
        snippets,
      },
    ],
    new Map([['a.mp4', v]]),
    { H: 7, W: 7 },
    1,
  );
  assert.equal(miss.temporalHit, 0);
  assert.equal(miss.pointing, 0);
});

test('generates real videos with ffmpeg: manifest, truth.json, the cue visible only in its interval', async () => {
  const spec = { ...DEFAULT_FOCUS, classes: 2, perClass: 1, duration: 4, size: 128, seed: 4 };
  const ds = await buildFocusDataset(join(tmp, 'ds'), spec);
  assert.equal(ds.videos.length, 2);
  for (const v of ds.videos) assert.ok(existsSync(join(ds.dir, v.file)));
  const manifest = readFileSync(ds.manifest, 'utf8').trim().split('\n');
  assert.equal(manifest[0], 'video,label,split');
  assert.equal(manifest.length, 3);
  const { decodeFrames, probe } = await import('../../src/video/index.js');
  const v = ds.videos[0];
  const path = join(ds.dir, v.file);
  const info = await probe(path);
  assert.ok(Math.abs(info.duration - 4) < 0.3);
  const mid = (v.cue.start + v.cue.end) / 2;
  const before = v.cue.start > 0.6 ? v.cue.start - 0.4 : v.cue.end + 0.4;
  const frames = await decodeFrames(path, [mid, before], { width: 128, height: 128, mode: 'stretch' }, info);
  const cueRgb = CUE_CLASSES[0].rgb;
  const redAt = (f: (typeof frames)[number]) => {
    const cx = Math.round(v.cue.x + v.cue.w / 2);
    const cy = Math.round(v.cue.y + v.cue.h / 2);
    const i = (cy * f.width + cx) * 3;
    return (
      Math.abs(f.data[i] - cueRgb[0]) +
      Math.abs(f.data[i + 1] - cueRgb[1]) +
      Math.abs(f.data[i + 2] - cueRgb[2])
    );
  };
  assert.ok(redAt(frames[0]) < 90, 'cue colour at the cue centre during the interval');
  assert.ok(redAt(frames[1]) > 90, 'not outside the interval');
});

test('dfan demo --quick end to end: dual beats mean, focus well above chance', {
  skip: needSlow(),
}, async () => {
  const r = await runDemo({ out: join(tmp, 'demo'), quick: true, log: () => {} });
  assert.ok(r.scores.dual.accuracy > r.scores.mean.accuracy, JSON.stringify(r.scores));
  assert.ok(r.scores.dual.temporalHit > 2 * r.scores.dual.temporalChance, JSON.stringify(r.scores));
  assert.ok(existsSync(r.summaryHtml) && existsSync(r.summaryMd));
});
