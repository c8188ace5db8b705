/**
 * The export path of docs/backbones.md on real PyTorch exports: tiny randomly initialised stand-ins
 * for CLIP ViT-B/16 (class token + registers), VideoMAE (NTCHW input behind the docs' wrapper,
 * tokens in (t, h, w) order) and a torchvision 3-D ResNet, exported with torch.onnx.export by
 * test/backbones/torch_exports.py. dfan's stored maps must equal PyTorch's own reshapes of the same
 * outputs on the same frames (preprocessing included). Skips when /usr/bin/python3 has no torch.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadPackFile } from '../../src/backbones/packs/format.js';
import { loadBackbone } from '../../src/backbones/runner.js';
import { projectRoot } from '../../src/version.js';
import type { Frame } from '../../src/video/types.js';
import { needPython, PYTHON } from '../helpers/python.js';
import { testDir } from '../helpers/temp.js';

const SCRIPT = join(projectRoot(), 'test', 'backbones', 'torch_exports.py');

/** uint8 RGB frames [n, h, w, 3] from a raw file. */
function framesOf(file: string, n: number, w: number, h: number): Frame[] {
  const b = readFileSync(file);
  return Array.from({ length: n }, (_, i) => ({
    time: i,
    width: w,
    height: h,
    data: new Uint8Array(b.subarray(i * w * h * 3, (i + 1) * w * h * 3)),
  }));
}

function floats(file: string): Float32Array {
  const b = readFileSync(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

test('PyTorch exports (CLIP-like tokens, VideoMAE-like tokens, 3-D ResNet-like map): dfan stores what PyTorch means', {
  skip: needPython(['torch', 'numpy'], 'python3-torch python3-numpy'),
  timeout: 180_000,
}, async () => {
  const dir = testDir('dfan-torch-');
  const py = spawnSync(PYTHON, [SCRIPT, dir], { encoding: 'utf8' });
  assert.equal(py.status, 0, py.stderr);
  const pack = await loadPackFile(join(dir, 'pack.json'));
  const frames = framesOf(join(dir, 'frames.bin'), 3, 32, 32);
  const clipFrames = framesOf(join(dir, 'clips.bin'), 8, 32, 32);
  const clips = [clipFrames.slice(0, 4), clipFrames.slice(4, 8)];
  const expectedShapes: Record<string, number[]> = {
    object: [3, 4, 4, 16],
    motion: [2, 8, 4, 16],
    action: [2, 8, 8, 16],
  };
  for (const m of pack.backbones) {
    const r = await loadBackbone(m);
    try {
      const y = m.kind === 'frame-map' ? await r.runFrames(frames) : await r.runClips(clips);
      assert.deepEqual(y.shape, expectedShapes[m.stream], m.id);
      const want = floats(join(dir, `${m.stream}.expected.bin`));
      assert.equal(y.data.length, want.length, m.id);
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(y.data[i] - want[i]));
      assert.ok(worst < 1e-3, `${m.id}: max |dfan − torch| = ${worst}`);
    } finally {
      await r.dispose();
    }
  }
});
