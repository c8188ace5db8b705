import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { configHash, type ExtractTiming, extractAll, extractVideo } from '../../src/features/extract.js';
import { FeatureStore, readFeatures } from '../../src/features/store.js';
import { testDir } from '../helpers/temp.js';
import { createPack } from './fake-pack.js';
import { builtFakePack, makeVideo } from './helpers.js';

const dir = testDir('dfan-extract-');
const log = join(dir, 'extract.log');
const vids: Record<string, string> = {};
before(() => {
  mkdirSync(join(dir, 'v'));
  vids.red = makeVideo(join(dir, 'v', 'red.mp4'), 'red', 1);
  vids.blue = makeVideo(join(dir, 'v', 'blue.mp4'), 'blue', 2);
  vids.green = makeVideo(join(dir, 'v', 'green.mp4'), 'green', 1);
  vids.bad = join(dir, 'v', 'bad.mp4');
  writeFileSync(vids.bad, Buffer.from('this is not a video at all, just bytes '.repeat(50)));
  process.env.DFAN_FAKE_PACK_LOG = log;
});
after(() => {
  delete process.env.DFAN_FAKE_PACK_LOG;
});

function logged(): string[] {
  try {
    return readFileSync(log, 'utf8').trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

test('extractVideo: T snippets over the duration, streams of the pack, meta with content hash and config hash', async () => {
  const pack = createPack();
  const timing = {} as ExtractTiming;
  const vf = await extractVideo(vids.blue, pack, { T: 8, K: 4, key: 'blue', timing });
  assert.equal(vf.snippets.length, 8);
  assert.ok(Math.abs(vf.snippets[7].end - 2) < 0.05, 'snippets cover the 2-s video');
  assert.deepEqual(vf.streams.object.shape, [8, 2, 2, 3]);
  assert.deepEqual(vf.streams.action.shape, [8, 4]);
  // the video is blue: the blue channel dominates the key-frame colour
  assert.ok(vf.streams.object.data[2] > 0.5 && vf.streams.object.data[0] < 0.3);
  assert.equal(vf.meta.sourceHash, createHash('sha256').update(readFileSync(vids.blue)).digest('hex'));
  assert.equal(vf.meta.sourceSize, statSync(vids.blue).size);
  assert.equal(vf.meta.configHash, configHash('fake@1', { T: 8, K: 4 }));
  assert.notEqual(vf.meta.configHash, configHash('fake@1', { T: 16, K: 4 }));
  assert.deepEqual(vf.meta.warnings, ['no audio stream']);
  assert.ok(timing.totalMs > 0 && timing.decodeMs > 0);
  const only = await extractVideo(vids.blue, pack, { T: 8, K: 4, streams: ['action'] });
  assert.deepEqual(Object.keys(only.streams), ['action']);
  assert.deepEqual(
    only.meta.streams.map((s) => s.name),
    ['action'],
  );
  await assert.rejects(extractVideo(vids.blue, pack, { streams: ['scene'] }), /no "scene" stream/);
});

test('extractAll: broken and missing videos are reported, the rest finish; resume skips, --force recomputes', async () => {
  const out = join(dir, 'out1');
  const items = [
    { key: 'Joy/red', path: vids.red },
    { key: 'Fear/bad', path: vids.bad },
    { key: 'Joy/blue', path: vids.blue },
    { key: 'Sad/missing', path: null, source: 'Sad/missing.mp4' },
    { key: 'Joy/green', path: vids.green },
  ];
  writeFileSync(log, '');
  const progress: string[] = [];
  const s1 = await extractAll(items, out, {
    pack: builtFakePack(),
    T: 4,
    K: 2,
    onProgress: (p) => p.key && progress.push(`${p.status}:${p.key}`),
  });
  assert.equal(s1.done, 3);
  assert.equal(s1.skipped, 0);
  assert.deepEqual(s1.failed.map((f) => f.key).sort(), ['Fear/bad', 'Sad/missing']);
  assert.match(s1.failed.find((f) => f.key === 'Fear/bad')!.error, /bad\.mp4/);
  assert.match(s1.failed.find((f) => f.key === 'Sad/missing')!.error, /not found/);
  assert.deepEqual(progress.filter((p) => p.startsWith('done')).length, 3);
  assert.equal(logged().length, 3);
  const store = await FeatureStore.open(out);
  assert.deepEqual(store.keys().sort(), ['Joy/blue', 'Joy/green', 'Joy/red']);
  assert.deepEqual(
    store
      .failures()
      .map((f) => f.key)
      .sort(),
    ['Fear/bad', 'Sad/missing'],
  );
  const red = await store.load('Joy/red');
  assert.equal(red.meta.configHash, s1.configHash);

  // resume: nothing recomputed
  const mtimes = store.keys().map((k) => statSync(store.pathFor(k)).mtimeMs);
  const s2 = await extractAll(items, out, { pack: builtFakePack(), T: 4, K: 2 });
  assert.equal(s2.done, 0);
  assert.equal(s2.skipped, 3);
  assert.equal(s2.failed.length, 2);
  assert.equal(logged().length, 3, 'no video was recomputed');
  assert.deepEqual(
    store.keys().map((k) => statSync(store.pathFor(k)).mtimeMs),
    mtimes,
  );

  // a truncated feature file is re-extracted (only that one)
  const pRed = store.pathFor('Joy/red');
  truncateSync(pRed, statSync(pRed).size - 100);
  const s3 = await extractAll(items, out, { pack: builtFakePack(), T: 4, K: 2 });
  assert.equal(s3.done, 1);
  assert.equal(s3.skipped, 2);
  assert.equal((await readFeatures(pRed, { verify: true })).meta.key, 'Joy/red');
  assert.equal(logged().length, 4);

  // another T: a different config → recomputed; --force recomputes everything
  const s4 = await extractAll(items.slice(0, 1), out, { pack: builtFakePack(), T: 3, K: 2 });
  assert.equal(s4.done, 1);
  assert.notEqual(s4.configHash, s1.configHash);
  const s5 = await extractAll(items, out, { pack: builtFakePack(), T: 4, K: 2, force: true });
  assert.equal(s5.done, 3);
  assert.equal(logged().length, 8);
});

test('extractAll with worker processes writes the same features as in-process extraction', async () => {
  const items = [
    { key: 'red', path: vids.red },
    { key: 'blue', path: vids.blue },
    { key: 'green', path: vids.green },
    { key: 'bad', path: vids.bad },
  ];
  const a = await extractAll(items, join(dir, 'inproc'), { pack: builtFakePack(), T: 4, K: 2, workers: 0 });
  const b = await extractAll(items, join(dir, 'workers'), {
    pack: builtFakePack(),
    T: 4,
    K: 2,
    workers: 2,
    inflight: 1,
  });
  assert.equal(a.done, 3);
  assert.equal(b.done, 3);
  assert.deepEqual(
    b.failed.map((f) => f.key),
    ['bad'],
  );
  assert.equal(b.peakRssMB.workers.length, 2);
  const sa = await FeatureStore.open(join(dir, 'inproc'));
  const sb = await FeatureStore.open(join(dir, 'workers'));
  for (const k of ['red', 'blue', 'green']) {
    const fa = await sa.load(k);
    const fb = await sb.load(k);
    assert.deepEqual(Array.from(fb.streams.object.data), Array.from(fa.streams.object.data), k);
    assert.deepEqual(Array.from(fb.streams.action.data), Array.from(fa.streams.action.data), k);
    assert.equal(fa.meta.configHash, fb.meta.configHash);
  }
});
