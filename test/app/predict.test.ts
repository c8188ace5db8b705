/**
 * `dfan predict` end to end: the CLI (terminal, --json, --html, several videos with a broken one)
 * through a fake pack on generated clips (fast), and the real default pack on ../shared/media.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { PNG } from 'pngjs';
import { checkPrediction, describeGrid } from '../../src/app/explain.js';
import type { Prediction } from '../../src/app/types.js';
import { runCli } from '../helpers/cli.js';
import { lavfiClip } from '../helpers/ffmpeg.js';
import { needShared, sharedPath } from '../helpers/shared.js';
import { testDir } from '../helpers/temp.js';
import { writeFakePack } from './fake-pack.js';

const dir = testDir('dfan-app-predict-');
let clip = '';
let fakePack = '';

const dfan = (args: string[], timeout = 120_000) => runCli(args, { timeout });

before(async () => {
  clip = join(dir, 'bright box.mp4');
  // a white square in the upper-right on black: the fake pack's "face" sits there
  lavfiClip(
    clip,
    'color=c=black:s=320x240:d=4:r=10,drawbox=x=230:y=20:w=50:h=50:color=white:t=fill,format=yuv420p',
  );
  fakePack = await writeFakePack(dir);
});

test('predict --json: the contract holds and the focus sits where the fake face is', async () => {
  const r = await dfan(['predict', clip, '--json', '--pack', fakePack]);
  assert.equal(r.code, 0, r.stderr);
  const p = JSON.parse(r.stdout) as Prediction;
  assert.deepEqual(checkPrediction(p), []);
  assert.equal(p.video, clip);
  assert.ok(Math.abs(p.duration - 4) < 0.2);
  assert.equal(p.model.kind, 'zero-shot');
  assert.equal(p.model.name, 'zero-shot-face-expression');
  assert.equal(p.labels.length, 6);
  assert.equal(p.labels[0].label, 'joy');
  assert.equal(p.snippets.length, 16);
  assert.deepEqual(Object.keys(p.spatial), ['face']);
  assert.equal(p.spatial.face.length, 16);
  // the fake pack marks the second half as happy: all key moments lie there
  for (const k of p.keyMoments ?? []) assert.ok(k.start >= 1.9, `key moment at ${k.start}`);
  assert.equal(describeGrid(p.spatial.face[12].grid).where, 'upper-right');
  // face boxes are in frame fractions: the face grid spans the whole frame
  assert.deepEqual(p.spatial.face[12].region, [0, 0, 1, 1]);
});

test('predict (terminal) and several videos with a broken one: reported, the rest go on, exit 1', async () => {
  const broken = join(dir, 'broken.mp4');
  await writeFile(broken, 'not a video at all');
  const r = await dfan(['predict', clip, broken, clip, '--pack', fakePack, '--top', '2']);
  assert.equal(r.code, 1);
  assert.equal(r.stdout.match(/ZERO-SHOT face-expression model/g)?.length, 2);
  assert.match(r.stdout, /joy\s+█/);
  assert.match(r.stdout, /key moments/);
  assert.match(r.stdout, /face: upper-right/);
  assert.match(r.stderr, /^dfan: \S*broken\.mp4: not a readable video/m);
  for (const line of r.stderr.split('\n'))
    assert.ok((line.match(/broken\.mp4/g)?.length ?? 0) <= 1, `the file is named once a line: ${line}`);
  assert.match(r.stderr, /1 of 3 videos failed/);
  const j = await dfan(['predict', broken, clip, '--json', '--pack', fakePack]);
  assert.equal(j.code, 1);
  const arr = JSON.parse(j.stdout) as Prediction[];
  assert.ok(Array.isArray(arr));
  assert.equal(arr.length, 1);
  const bad = await dfan(['predict', clip, '--top', 'x']);
  assert.equal(bad.code, 2);
});

test('predict --html: one self-contained file with key frames, overlays, the temporal plot and probabilities', async () => {
  const out = join(dir, 'report.html');
  const r = await dfan(['predict', clip, join(dir, 'missing.mp4'), '--html', out, '--pack', fakePack]);
  assert.equal(r.code, 1, r.stderr); // the missing file is reported, the report still written
  const html = await readFile(out, 'utf8');
  assert.match(html, /^<!DOCTYPE html>/);
  assert.match(html, /<\/html>\s*$/);
  // self-contained: no URL that would go to the network, no external script/style/link
  for (const m of html.matchAll(/\b(?:src|href)\s*=\s*"([^"]*)"/g))
    assert.match(m[1], /^data:/, `external ref ${m[1].slice(0, 60)}`);
  assert.doesNotMatch(html, /url\(\s*['"]?(?!data:)/);
  assert.doesNotMatch(html, /<link\b|<script\b[^>]*\bsrc=/);
  // balanced structure
  for (const tag of ['section', 'svg', 'table', 'figure', 'main', 'tr']) {
    const open = html.match(new RegExp(`<${tag}[\\s>]`, 'g'))?.length ?? 0;
    const close = html.match(new RegExp(`</${tag}>`, 'g'))?.length ?? 0;
    assert.equal(open, close, `<${tag}> opened ${open}, closed ${close}`);
  }
  // the images decode as PNGs of the right aspect
  const imgs = [...html.matchAll(/<img class="(overlay|keyframe)" src="data:image\/png;base64,([^"]+)"/g)];
  assert.ok(
    imgs.some((m) => m[1] === 'overlay') && imgs.some((m) => m[1] === 'keyframe'),
    'overlay and key frame',
  );
  for (const m of imgs) {
    const png = PNG.sync.read(Buffer.from(m[2], 'base64'));
    assert.ok(Math.abs(png.width / png.height - 4 / 3) < 0.02, `${png.width}x${png.height}`);
  }
  assert.match(html, /Zero-shot model, not trained on video emotion/);
  assert.match(html, /face: 7×7 grid over the whole frame \(region \[0, 0, 1, 1\]\)/);
  assert.match(html, /Zero-shot face-expression model:/);
  assert.match(html, /class="snippet"/);
  assert.equal(html.match(/class="snippet"/g)?.length, 16);
  assert.match(html, /<td class="l">joy<\/td>/);
  assert.match(html, /missing\.mp4<\/h2><div class="warn">failed:/);
});

test('real default pack on ../shared/media: a face in single_face.mp4, none in no_face.mp4 (uniform + warning)', {
  skip: needShared('media/single_face.mp4') || needShared('media/no_face.mp4'),
  timeout: 150_000,
}, async () => {
  const r = await dfan([
    'predict',
    sharedPath('media/single_face.mp4'),
    sharedPath('media/no_face.mp4'),
    '--json',
  ]);
  // the default pack comes with `npm ci`: a model that cannot load is a failure, not a skip
  assert.equal(r.code, 0, r.stderr);
  const [face, noFace] = JSON.parse(r.stdout) as Prediction[];
  for (const p of [face, noFace]) {
    assert.deepEqual(checkPrediction(p), []);
    assert.equal(p.model.kind, 'zero-shot');
    assert.equal(p.labels.length, 6);
    assert.equal(p.snippets.length, 16);
  }
  assert.ok(!(face.warnings ?? []).some((w) => /no face found/.test(w)), JSON.stringify(face.warnings));
  const peaked = face.spatial.face.filter((g) => !describeGrid(g.grid).where.startsWith('spread'));
  assert.ok(
    peaked.length >= face.snippets.length / 2,
    `face in ${peaked.length} of ${face.snippets.length} snippets`,
  );
  assert.ok(face.labels[0].prob > 0.3, `top ${JSON.stringify(face.labels[0])}`);
  assert.ok((face.keyMoments ?? []).length > 0);

  assert.ok(
    (noFace.warnings ?? []).some((w) => /no face found/.test(w)),
    JSON.stringify(noFace.warnings),
  );
  for (const l of noFace.labels) assert.ok(Math.abs(l.prob - 1 / 6) < 1e-6);
  for (const s of noFace.snippets) assert.ok(Math.abs(s.weight - 1 / 16) < 1e-6);
  assert.deepEqual(noFace.keyMoments, []);
});
