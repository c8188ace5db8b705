/** End to end with the real default pack (npm-shipped weights): `dfan extract` → a valid file → resume. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { FeatureStore, readFeatureHeader } from '../../src/features/store.js';
import { FACE_LAYOUT } from '../../src/features/types.js';
import { runCliSync } from '../helpers/cli.js';
import { testDir } from '../helpers/temp.js';
import { makeVideo } from './helpers.js';

const dir = testDir('dfan-e2e-');

test('dfan extract with the default pack writes every stream it declares; a second run skips', async () => {
  const clip = makeVideo(join(dir, 'clip.mp4'), 'teal', 2, '320x240');
  const out = join(dir, 'out');
  const args = ['extract', clip, '--out', out, '-T', '4', '-K', '4'];
  const r1 = runCliSync(args, { timeout: 180_000 });
  assert.equal(r1.status, 0, r1.stderr);
  {
    const store = await FeatureStore.open(out);
    const head = await readFeatureHeader(store.pathFor('clip.mp4'), { verify: true });
    assert.match(head.meta.packId, /^default@/);
    const names = head.meta.streams.map((s) => s.name);
    assert.ok(names.includes('object') && names.includes('face'), names.join(','));
    for (const s of head.meta.streams) {
      assert.ok(head.tensors[s.name], `tensor for ${s.name}`);
      assert.equal(head.tensors[s.name].shape[0], 4);
      assert.ok(s.description.length > 20, `${s.name} is described`);
      assert.equal(head.tensors[s.name].dtype, s.kind === 'map' ? 'F16' : 'F32');
    }
    assert.equal(head.tensors.object.shape.length, 4, 'object is a map [T,H,W,C]');
    assert.deepEqual(head.tensors.face.shape, [4, FACE_LAYOUT.size]);
    assert.ok(!names.includes('scene'), 'no Places model here: the stream is called context');
    const r2 = runCliSync(args, { timeout: 180_000 });
    assert.equal(r2.status, 0, r2.stderr);
    assert.match(r2.stderr, /extracted 0, skipped 1/);
  }
});
