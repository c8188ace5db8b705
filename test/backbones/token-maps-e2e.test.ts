/**
 * `dfan extract → dfan train → dfan predict` through each new map kind, as a user runs them
 * (spawned CLI), on a small generated set: a pack of generated ONNX backbones
 * (test/backbones/token-models.ts) with a ViT-like token map (`object`), a 3-D CNN clip map
 * averaged over T′ (`action`) and a VideoMAE-like token clip map kept at T′·H·W cells (`motion`).
 * The videos are grey 16:9 clips with a red or a blue square (the class) at varying places.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkPrediction } from '../../src/app/explain.js';
import type { Prediction } from '../../src/app/types.js';
import { gridRegion } from '../../src/backbones/preprocess.js';
import { readFeatures } from '../../src/features/store.js';
import { runCliSync } from '../helpers/cli.js';
import { lavfiClip } from '../helpers/ffmpeg.js';
import { testDir } from '../helpers/temp.js';
import { writeClip3dLike, writeVitLike } from './token-models.js';

const dfan = (...args: string[]) => runCliSync(args, { timeout: 300_000 });

function cueVideo(path: string, colour: string, fx: number, fy: number): void {
  const x = Math.round(fx * 96);
  const y = Math.round(fy * 54);
  lavfiClip(
    path,
    `color=c=0x606060:s=96x54:r=10:d=1,drawbox=x=${x}+t*8:y=${y}:w=14:h=14:color=${colour}:t=fill,format=yuv420p`,
  );
}

function writePack(dir: string): string {
  writeVitLike(join(dir, 'vit.onnx'), { grid: [3, 4], patch: 8, registers: 2 });
  writeClip3dLike(join(dir, 'clip3d.onnx'), { grid: [2, 2, 2], tubelet: 2, patch: 8 });
  const common = {
    engine: 'onnx',
    licence: 'test only',
    description: 'GENERATED weights (patch means + position codes): exercises the map path only',
  };
  const clipInput = { name: 'clip', size: [16, 16], crop: 'crop', layout: 'NCTHW', frames: 4 };
  const pack = {
    id: 'generated-maps@1',
    backbones: [
      {
        ...common,
        id: 'vit-like/tokens',
        stream: 'object',
        kind: 'frame-map',
        weights: 'vit.onnx',
        input: { name: 'pixel_values', size: [24, 32], crop: 'crop', layout: 'NCHW' },
        output: { name: 'last_hidden_state', shape: [15, 4], layout: 'tokens', skipTokens: 3, grid: [3, 4] },
      },
      {
        ...common,
        id: 'clip3d-like/map',
        stream: 'action',
        kind: 'clip-map',
        weights: 'clip3d.onnx',
        input: clipInput,
        output: { name: 'map', shape: [4, 2, 2, 2] },
      },
      {
        ...common,
        id: 'clip3d-like/tokens',
        stream: 'motion',
        kind: 'clip-map',
        weights: 'clip3d.onnx',
        input: clipInput,
        output: { name: 'tokens', shape: [8, 4], layout: 'tokens', grid: [2, 2, 2], time: 'cells' },
      },
    ],
  };
  const file = join(dir, 'pack.json');
  writeFileSync(file, JSON.stringify(pack, null, 2));
  return file;
}

test('extract → train → predict through a token map, a clip map (mean over T′) and a token clip map (T′·H·W cells)', async () => {
  const dir = testDir('dfan-tokens-e2e-');
  const pack = writePack(dir);
  mkdirSync(join(dir, 'videos'));
  const rows: string[] = [];
  for (let i = 0; i < 16; i++) {
    const label = i % 2 ? 'blue' : 'red';
    const name = `${label}-${i}.mp4`;
    cueVideo(join(dir, 'videos', name), label, 0.1 + ((i * 0.37) % 0.6), 0.1 + ((i * 0.23) % 0.5));
    rows.push(`videos/${name},${label},${i < 12 ? 'train' : 'test'}`);
  }
  const csv = join(dir, 'set.csv');
  writeFileSync(csv, `video,label,split\n${rows.join('\n')}\n`);

  const feats = join(dir, 'feats');
  const ex = dfan('extract', csv, '--out', feats, '--pack', pack, '-T', '4', '-K', '4', '--no-progress');
  assert.equal(ex.status, 0, ex.stderr);
  const files = readdirSync(feats, { recursive: true }).filter((f) => String(f).endsWith('.safetensors'));
  assert.equal(files.length, 16);
  const vf = await readFeatures(join(feats, String(files[0])));
  assert.deepEqual(vf.streams.object.shape, [4, 3, 4, 4], 'ViT tokens → [T, 3, 4, C]');
  assert.deepEqual(vf.streams.action.shape, [4, 2, 2, 4], "clip map, mean over T' → [T, 2, 2, C]");
  assert.deepEqual(vf.streams.motion.shape, [4, 4, 2, 4], "clip tokens, T'·H·W cells → [T, 2·2, 2, C]");
  const info = (s: string) => vf.meta.streams.find((x) => x.name === s);
  assert.equal(info('motion')?.timeSteps, 2);
  assert.deepEqual(info('object')?.region, gridRegion(96, 54, 32, 24, 'crop'));
  assert.deepEqual(info('action')?.region, gridRegion(96, 54, 16, 16, 'crop'));

  const run = join(dir, 'run');
  const tr = dfan(
    'train',
    '--features',
    feats,
    '--dataset',
    csv,
    '--out',
    run,
    '--epochs',
    '3',
    '--seed',
    '1',
  );
  assert.equal(tr.status, 0, tr.stderr);
  assert.match(tr.stdout, /trained 3 epochs/);

  const pr = dfan('predict', join(dir, 'videos', 'blue-13.mp4'), '--model', run, '--pack', pack, '--json');
  assert.equal(pr.status, 0, pr.stderr);
  const p = JSON.parse(pr.stdout) as Prediction;
  assert.deepEqual(checkPrediction(p), []);
  assert.equal(p.model.kind, 'trained');
  assert.deepEqual(p.labels.map((l) => l.label).sort(), ['blue', 'red']);
  assert.equal(p.snippets.length, 4);
  const size = (s: string) => [p.spatial[s][0].grid.length, p.spatial[s][0].grid[0].length];
  assert.deepEqual(size('object'), [3, 4]);
  assert.deepEqual(size('action'), [2, 2]);
  assert.deepEqual(
    size('motion'),
    [2, 2],
    "the T' grids of the cells are summed into one H×W grid of the frame",
  );
  assert.deepEqual(p.spatial.motion[0].region, gridRegion(96, 54, 16, 16, 'crop'));
  assert.deepEqual(p.spatial.object[0].region, gridRegion(96, 54, 32, 24, 'crop'));
  for (const s of ['object', 'action', 'motion'])
    for (const g of p.spatial[s]) {
      const sum = g.grid.flat().reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - 1) < 1e-6, `${s} snippet ${g.snippet}: grid sums to 1`);
    }
});
