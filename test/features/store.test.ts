import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { test } from 'node:test';
import { isDfanError } from '../../src/errors.js';
import { encodeSafetensors } from '../../src/features/safetensors.js';
import {
  decodeFeatures,
  encodeFeatures,
  FeatureStore,
  fileNameForKey,
  readFeatureHeader,
  readFeatures,
} from '../../src/features/store.js';
import { isTempName, removeStaleTemps } from '../../src/util/atomic.js';
import { projectRoot } from '../../src/version.js';
import { testDir } from '../helpers/temp.js';
import { sampleFeatures } from './helpers.js';

const dir = testDir('dfan-store-');

test('features round trip: maps in fp16 (bounded error), vectors and times exact, metadata kept', () => {
  const vf = sampleFeatures('Fear/clip');
  const buf = encodeFeatures(vf);
  const back = decodeFeatures(buf, 'mem', { verify: true });
  assert.deepEqual(back.meta, vf.meta);
  assert.deepEqual(back.snippets, vf.snippets);
  assert.deepEqual(Array.from(back.mask!), Array.from(vf.mask!));
  assert.deepEqual(back.streams.object.shape, [4, 3, 3, 8]);
  const o = vf.streams.object.data;
  const b = back.streams.object.data;
  for (let i = 0; i < o.length; i++)
    assert.ok(Math.abs(o[i] - b[i]) <= Math.abs(o[i]) * 2 ** -11 + 2 ** -24, `object[${i}]`);
  assert.deepEqual(Array.from(back.streams.action.data), Array.from(vf.streams.action.data));
  // only some streams
  const only = decodeFeatures(buf, 'mem', { streams: ['action'] });
  assert.deepEqual(Object.keys(only.streams), ['action']);
});

test('file names: safe, distinct, inside the store, stable', () => {
  const keys = [
    'Fear/[HD]Scary(2)^x=1',
    'Fear/[HD]Scary(2)^x=2',
    'Fear_[HD]Scary(2)^x=1',
    '../../etc/passwd',
    '/abs/path.mp4',
    '悲しい/クリップ.mp4',
    'Ékman/joy',
    '.hidden',
    'a'.repeat(500),
    '',
    'con',
  ];
  const names = keys.map(fileNameForKey);
  assert.equal(new Set(names).size, keys.length, 'distinct');
  for (const n of names) {
    assert.match(n, /^[A-Za-z0-9][A-Za-z0-9._-]*-[0-9a-f]{12}\.safetensors$/, n);
    assert.ok(n.length <= 110, n);
    assert.equal(basename(n), n);
    assert.equal(resolve(dir, n).startsWith(`${dir}/`), true);
    assert.ok(!n.includes('..'));
  }
  assert.equal(fileNameForKey('Fear/x'), fileNameForKey('Fear/x'));
  assert.ok(fileNameForKey('Fear/clip').startsWith('Fear__clip-'));
});

test('store: save, has, load; other config, truncated, foreign, corrupt and misplaced files are not trusted', async () => {
  const sdir = join(dir, 'store1');
  const store = await FeatureStore.open(sdir, { create: true });
  const keys = ['Joy/a', 'Joy/b', 'Fear/c', 'Fear/d', 'Fear/e'];
  for (const [i, k] of keys.entries()) await store.save(sampleFeatures(k, 'cfg1', 4, i + 1));
  await store.flush();
  for (const k of keys) assert.equal(await store.has(k, 'cfg1'), true, k);
  assert.equal(await store.has('Joy/a', 'cfg2'), false, 'other config');
  assert.equal(await store.has('Joy/zzz', 'cfg1'), false, 'absent');
  const loaded = await store.load('Fear/c');
  assert.equal(loaded.meta.key, 'Fear/c');

  // truncated
  const pb = store.pathFor('Joy/b');
  truncateSync(pb, statSync(pb).size - 10);
  assert.equal(await store.has('Joy/b', 'cfg1'), false, 'truncated');
  await assert.rejects(store.load('Joy/b'), (e: unknown) => isDfanError(e) && e.code === 'BAD_FEATURES');
  // foreign: a valid safetensors file that is not a dfan feature file
  writeFileSync(
    store.pathFor('Fear/c'),
    encodeSafetensors({ w: { dtype: 'F32', shape: [2], data: new Float32Array(2) } }),
  );
  assert.equal(await store.has('Fear/c', 'cfg1'), false, 'foreign');
  // a flipped byte in the data: the header check passes, the sha256 check does not
  const pd = store.pathFor('Fear/d');
  const bytes = readFileSync(pd);
  bytes[bytes.length - 3] ^= 0xff;
  writeFileSync(pd, bytes);
  assert.equal(await store.has('Fear/d', 'cfg1', { verify: false }), true, 'structure intact');
  assert.equal(await store.has('Fear/d', 'cfg1', { verify: true }), false, 'data hash mismatch');
  await assert.rejects(readFeatures(pd, { verify: true }), /sha256/);
  // another key's file copied under this key's name
  copyFileSync(store.pathFor('Joy/a'), store.pathFor('Fear/e'));
  assert.equal(await store.has('Fear/e', 'cfg1'), false, 'misplaced file');
  await assert.rejects(store.load('Fear/e'), /belongs to key/);
});

// how long opening a store and reading its headers takes: `npm run bench -- headers`
test('store: index.json is rebuilt from the files when lost or damaged; every header names its key', async () => {
  const sdir = join(dir, 'store2');
  const store = await FeatureStore.open(sdir, { create: true });
  for (let i = 0; i < 50; i++) await store.save(sampleFeatures(`k/${i}`, 'cfg1', 2, i + 1));
  await store.flush();
  const idx = JSON.parse(readFileSync(join(sdir, 'index.json'), 'utf8'));
  assert.equal(Object.keys(idx.entries).length, 50);
  assert.equal(idx.entries['k/7'].status, 'done');
  unlinkSync(join(sdir, 'index.json'));
  const again = await FeatureStore.open(sdir);
  assert.equal(again.keys().length, 50);
  writeFileSync(join(sdir, 'index.json'), '{ broken');
  const third = await FeatureStore.open(sdir);
  assert.deepEqual(third.keys().sort(), again.keys().sort());
  for (const k of third.keys()) assert.equal((await readFeatureHeader(third.pathFor(k))).meta.key, k);
  await assert.rejects(
    FeatureStore.open(join(dir, 'nope')),
    (e: unknown) => isDfanError(e) && e.code === 'NOT_FOUND',
  );
});

test('atomic write: a writer killed mid-write leaves no partial file, only a temp that is cleaned up', async () => {
  const adir = join(dir, 'atomic');
  rmSync(adir, { recursive: true, force: true });
  const target = join(adir, 'big.bin');
  const mod = join(projectRoot(), 'dist', 'src', 'util', 'atomic.js');
  const script = `
    import { mkdirSync } from 'node:fs';
    import { writeFileAtomic } from ${JSON.stringify(mod)};
    mkdirSync(${JSON.stringify(adir)}, { recursive: true });
    const big = Buffer.alloc(256 * 1024 * 1024, 7);
    process.stdout.write('go\\n');
    for (;;) await writeFileAtomic(${JSON.stringify(target)}, big);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((r) => child.stdout.once('data', () => r()));
  // kill while a temp file is being written (poll until one exists)
  const t0 = Date.now();
  while (Date.now() - t0 < 10_000 && !readdirSync(adir).some(isTempName))
    await new Promise((r) => setTimeout(r, 2));
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  if (existsSync(target))
    assert.equal(statSync(target).size, 256 * 1024 * 1024, 'destination is complete or absent');
  assert.ok(readdirSync(adir).some(isTempName), 'the killed writer left its temp file');
  removeStaleTemps(adir);
  assert.deepEqual(
    readdirSync(adir).filter((n) => n !== 'big.bin'),
    [],
    'stale temp removed',
  );
  rmSync(adir, { recursive: true, force: true });
});
