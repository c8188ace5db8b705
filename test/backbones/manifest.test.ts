import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadManifest, validateManifest, verifyWeights } from '../../src/backbones/manifest.js';
import { loadPackFile } from '../../src/backbones/packs/format.js';
import { DfanError } from '../../src/errors.js';
import { sha256File } from '../../src/util/hash.js';
import { testDir } from '../helpers/temp.js';
import { IMAGENET, rgbInput } from './helpers.js';

const good = () => ({
  id: 'resnet50-imagenet',
  stream: 'object',
  kind: 'frame-map',
  engine: 'onnx',
  weights: 'weights/resnet50.onnx',
  // size as plain JSON has it (the tests below write wrong lengths into it)
  input: { ...rgbInput(IMAGENET), size: [224, 224] as number[] },
  output: { name: 'layer4', shape: [2048, 7, 7] },
  licence: 'Apache-2.0',
  description: 'ResNet-50 trained on ImageNet-1k',
});

function badField(mutate: (m: ReturnType<typeof good>) => void, field: RegExp) {
  const m = good();
  mutate(m);
  assert.throws(
    () => validateManifest(m, '/x/m.json', '/x'),
    (e: unknown) =>
      e instanceof DfanError && e.code === 'BAD_MANIFEST' && field.test(e.message) && e.file === '/x/m.json',
  );
}

test('a valid manifest resolves weights relative to its folder and defaults the map layout to CHW', () => {
  const m = validateManifest(good(), '/packs/a/m.json', '/packs/a');
  assert.equal(m.weightsPath, '/packs/a/weights/resnet50.onnx');
  assert.equal(m.output.layout, 'CHW');
});

test('each invalid field is named in a BAD_MANIFEST error', () => {
  badField((m) => delete (m as Partial<typeof m>).stream, /"resnet50-imagenet: stream" is missing/);
  badField((m) => ((m as { kind: string }).kind = 'video'), /kind.*expected one of/);
  badField((m) => ((m as { engine: string }).engine = 'torch'), /engine/);
  badField((m) => (m.input.size = [224] as unknown as [number, number]), /input\.size/);
  badField((m) => ((m.input as { layout: string }).layout = 'NCTHW'), /input\.layout.*clip layout/);
  badField((m) => (m.input.std = [0, 1, 1]), /input\.std/);
  badField((m) => (m.output.shape = [2048]), /output\.shape.*3 dims/);
  badField((m) => Object.assign(m, { sha256: 'abc' }), /sha256/);
  badField((m) => {
    (m as { kind: string }).kind = 'clip-vector';
    (m.input as { layout: string }).layout = 'NCTHW';
    m.output.shape = [64];
  }, /input\.frames/);
});

test('missing weights, bad JSON and sha256 mismatches are reported with the file', async () => {
  const dir = testDir('dfan-manifest-');
  const mf = join(dir, 'm.json');
  writeFileSync(mf, JSON.stringify(good()));
  await assert.rejects(
    loadManifest(mf),
    (e: unknown) => e instanceof DfanError && e.code === 'MODEL_MISSING' && /resnet50\.onnx/.test(e.message),
  );
  writeFileSync(join(dir, 'broken.json'), '{ "id": ');
  await assert.rejects(
    loadManifest(join(dir, 'broken.json')),
    (e: unknown) => e instanceof DfanError && e.code === 'BAD_MANIFEST',
  );
  const w = join(dir, 'w.onnx');
  writeFileSync(w, 'not really a model');
  const hash = await sha256File(w);
  const m = validateManifest({ ...good(), weights: 'w.onnx', sha256: hash }, mf, dir);
  await verifyWeights(m);
  const wrong = validateManifest({ ...good(), weights: 'w.onnx', sha256: '0'.repeat(64) }, mf, dir);
  await assert.rejects(verifyWeights(wrong), (e: unknown) => e instanceof DfanError && e.code === 'CHECKSUM');
});

test('pack files: inline and referenced manifests, duplicate streams refused, missing weights named', async () => {
  const dir = testDir('dfan-pack-');
  writeFileSync(join(dir, 'w.onnx'), 'x');
  const ref = {
    ...good(),
    id: 'ctx',
    stream: 'context',
    kind: 'frame-vector',
    weights: 'w.onnx',
    output: { name: 'pool', shape: [2048] },
  };
  writeFileSync(join(dir, 'ctx.json'), JSON.stringify(ref));
  writeFileSync(
    join(dir, 'pack.json'),
    JSON.stringify({ id: 'mine@1', backbones: [{ ...good(), weights: 'w.onnx' }, 'ctx.json'] }),
  );
  const p = await loadPackFile(join(dir, 'pack.json'));
  assert.equal(p.id, 'mine@1');
  assert.deepEqual(
    p.backbones.map((b) => b.stream),
    ['object', 'context'],
  );
  writeFileSync(
    join(dir, 'dup.json'),
    JSON.stringify({
      id: 'dup',
      backbones: [
        { ...good(), weights: 'w.onnx' },
        { ...good(), weights: 'w.onnx' },
      ],
    }),
  );
  await assert.rejects(loadPackFile(join(dir, 'dup.json')), /produced by two backbones/);
  writeFileSync(join(dir, 'miss.json'), JSON.stringify({ id: 'miss', backbones: [good()] }));
  await assert.rejects(
    loadPackFile(join(dir, 'miss.json')),
    (e: unknown) => e instanceof DfanError && e.code === 'MODEL_MISSING',
  );
  writeFileSync(join(dir, 'empty.json'), JSON.stringify({ id: 'e', backbones: [] }));
  await assert.rejects(loadPackFile(join(dir, 'empty.json')), /"backbones" must be a non-empty array/);
});
