/**
 * Feature files from Python, as any Python user has it: the standard library and numpy, no
 * `safetensors` package (Debian has none). test/features/dfan_features.py reads a file dfan
 * wrote and writes one that dfan reads back, integrity check included.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { readFeatures, writeFeatures } from '../../src/features/store.js';
import { projectRoot } from '../../src/version.js';
import { needPython, PYTHON } from '../helpers/python.js';
import { testDir } from '../helpers/temp.js';
import { sampleFeatures } from './helpers.js';

const SCRIPT = join(projectRoot(), 'test', 'features', 'dfan_features.py');
const dir = testDir('dfan-python-');

const python = (...args: string[]) => execFileSync(PYTHON, [SCRIPT, ...args], { encoding: 'utf8' });

test('Python (json + numpy) reads a dfan feature file and writes one dfan reads', {
  skip: needPython(['numpy'], 'python3-numpy'),
}, async () => {
  const vf = sampleFeatures('Fear/clip 01');
  const ours = join(dir, 'ours.safetensors');
  await writeFeatures(ours, vf);
  const got = JSON.parse(python('read', ours)) as {
    format: string;
    key: string;
    streams: Record<string, string>;
    dtypes: Record<string, string>;
    shapes: Record<string, number[]>;
    object: number[];
    action: number[];
    snippet_times: number[][];
    mask: number[];
    data_sha256_ok: boolean;
  };
  assert.equal(got.format, 'dfan-features');
  assert.equal(got.key, 'Fear/clip 01');
  assert.deepEqual(got.streams, { object: 'map', action: 'vector' });
  assert.deepEqual(got.dtypes, {
    object: 'float16',
    action: 'float32',
    snippet_times: 'float32',
    mask: 'float32',
  });
  assert.deepEqual(got.shapes.object, [4, 3, 3, 8]);
  assert.ok(got.data_sha256_ok, 'Python finds the data section as data_sha256 says');
  // the same numbers dfan reads: fp16 maps exactly as decoded, vectors and times exact
  const back = await readFeatures(ours);
  assert.deepEqual(got.object, Array.from(back.streams.object.data));
  assert.deepEqual(got.action, Array.from(Float32Array.from(vf.streams.action.data)));
  assert.deepEqual(
    got.snippet_times,
    vf.snippets.map((s) => [s.start, s.end, s.keyTime]),
  );
  assert.deepEqual(got.mask, [1, 1, 1, 0]);

  const theirs = join(dir, 'theirs.safetensors');
  python('write', ours, theirs);
  const py = await readFeatures(theirs, { verify: true });
  assert.equal(py.meta.key, 'Fear/clip 01/from-python');
  assert.deepEqual(
    py.meta.streams.map((s) => s.name),
    ['object', 'action', 'duration'],
  );
  assert.deepEqual(
    Array.from(py.streams.action.data),
    Array.from(back.streams.action.data, (v) => v * 2),
  );
  assert.deepEqual(Array.from(py.streams.object.data), Array.from(back.streams.object.data));
  assert.deepEqual(py.streams.duration.shape, [4, 1]);
  assert.deepEqual(Array.from(py.streams.duration.data), [2, 2, 2, 2]);
  assert.deepEqual(py.snippets, back.snippets);
  assert.deepEqual(Array.from(py.mask ?? []), [1, 1, 1, 0]);
});
