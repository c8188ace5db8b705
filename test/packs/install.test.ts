import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { type InstallablePackJson, PACK_FORMAT } from '../../src/backbones/packs/format.js';
import { installPack, verifyPacks } from '../../src/backbones/packs/install.js';
import { packDir, packsRoot, requireInstalled } from '../../src/backbones/packs/installed.js';
import { DfanError } from '../../src/errors.js';
import { projectRoot } from '../../src/version.js';
import { needShared, sharedPath } from '../helpers/shared.js';
import { testDir } from '../helpers/temp.js';

/** A fresh, empty cache for one test. */
async function freshCache(): Promise<string> {
  const d = testDir('dfan-cache-');
  process.env.DFAN_CACHE = d;
  return d;
}

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** A tiny pack folder with real hashes (no ../shared needed). */
async function makeTinyPack(id = 'tiny'): Promise<{ dir: string; pack: InstallablePackJson }> {
  const dir = testDir('dfan-src-');
  const files: Record<string, Buffer> = {
    'weights.bin': Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7919) % 251)),
    'labels.txt': Buffer.from('cat\ndog\n'),
  };
  for (const [n, b] of Object.entries(files)) await writeFile(join(dir, n), b);
  const pack: InstallablePackJson = {
    format: PACK_FORMAT,
    id,
    version: '0.0.1',
    description: 'test pack',
    streams: [
      { name: 'object', kind: 'vector', backbone: 'tiny/out', description: 'random bytes, for tests only' },
    ],
    files: Object.entries(files).map(([name, b]) => ({
      name,
      size: b.length,
      sha256: sha(b),
      licence: 'MIT',
    })),
    backbones: [],
  };
  await writeFile(join(dir, 'pack.json'), JSON.stringify(pack));
  return { dir, pack };
}

/** Serve a folder on 127.0.0.1 (random port); `override` replaces a file's bytes. */
async function serve(
  dir: string,
  override: Record<string, Buffer> = {},
): Promise<{ url: string; server: Server; hits: string[] }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    const name = decodeURIComponent((req.url ?? '/').split('?')[0].replace(/^\/+/, ''));
    hits.push(name);
    const file = join(dir, basename(name));
    if (override[name]) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(override[name]);
    } else if (name && existsSync(file)) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(readFileSync(file));
    } else {
      res.writeHead(404);
      res.end('not found');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, server, hits };
}

function cacheIsEmpty(): boolean {
  const root = packsRoot();
  return !existsSync(root) || readdirSync(root).length === 0;
}

async function rejectsWith(p: Promise<unknown>, code: string): Promise<DfanError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof DfanError, `expected a DfanError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail(`expected DfanError ${code}`);
}

test('install from a folder with pack.json, then verify', async () => {
  await freshCache();
  const { dir, pack } = await makeTinyPack();
  const seen: number[] = [];
  const p = await installPack(dir, { onProgress: (e) => seen.push(e.bytes) });
  assert.equal(p.id, 'tiny');
  assert.equal(p.dir, packDir('tiny'));
  for (const f of pack.files) assert.equal(sha(await readFile(join(p.dir, f.name))), f.sha256);
  assert.equal(Math.max(...seen), 70_000 + 8, 'progress reaches the total byte count');
  const [v] = await verifyPacks('tiny');
  assert.equal(v.ok, true);
  assert.deepEqual(
    readdirSync(packsRoot()).filter((n) => n.startsWith('.')),
    [],
    'no temp folder left behind',
  );
});

test('verify detects a modified and a missing file', async () => {
  await freshCache();
  const { dir } = await makeTinyPack();
  const p = await installPack(dir);
  const w = join(p.dir, 'weights.bin');
  const b = readFileSync(w);
  b[123] ^= 0xff; // same size, different content
  writeFileSync(w, b);
  let [v] = await verifyPacks('tiny');
  assert.equal(v.ok, false);
  assert.match(v.problems[0].problem, /sha256/);
  await rm(join(p.dir, 'labels.txt'));
  [v] = await verifyPacks();
  assert.equal(v.problems.length, 2);
  assert.ok(v.problems.some((x) => x.problem === 'missing'));
});

test('a corrupted file from a folder fails with CHECKSUM and installs nothing', async () => {
  await freshCache();
  const { dir } = await makeTinyPack();
  const b = readFileSync(join(dir, 'weights.bin'));
  b[0] ^= 1;
  writeFileSync(join(dir, 'weights.bin'), b);
  const e = await rejectsWith(installPack(dir), 'CHECKSUM');
  assert.match(e.message, /weights\.bin/);
  assert.ok(cacheIsEmpty(), 'nothing installed, no temp folder left');
});

test('a failed reinstall keeps the previous install intact', async () => {
  await freshCache();
  const { dir } = await makeTinyPack();
  await installPack(dir);
  await rm(join(dir, 'labels.txt'));
  await rejectsWith(installPack(dir), 'NOT_FOUND');
  const [v] = await verifyPacks('tiny');
  assert.equal(v.ok, true, 'old pack still complete');
  assert.deepEqual(readdirSync(packsRoot()), ['tiny']);
});

test('over HTTP: a short file fails with CHECKSUM, a good server installs', async () => {
  await freshCache();
  const { dir, pack } = await makeTinyPack();
  const short = readFileSync(join(dir, 'weights.bin')).subarray(0, 1000);
  const bad = await serve(dir, { 'weights.bin': short });
  try {
    const e = await rejectsWith(installPack(bad.url), 'CHECKSUM');
    assert.match(e.message, /size 1000 bytes, expected 70000/);
    assert.ok(cacheIsEmpty());
  } finally {
    bad.server.close();
  }
  const good = await serve(dir);
  try {
    const p = await installPack(good.url);
    assert.equal(p.pack.files.length, pack.files.length);
    assert.ok(good.hits.includes('pack.json') && good.hits.includes('weights.bin'));
    assert.equal((await verifyPacks('tiny'))[0].ok, true);
    assert.match(p.source ?? '', /^http:\/\/127\.0\.0\.1:/);
  } finally {
    good.server.close();
  }
});

test('a source without pack.json needs --id; a wrong --id is refused', async () => {
  await freshCache();
  const { dir } = await makeTinyPack();
  await rm(join(dir, 'pack.json'));
  await rejectsWith(installPack(dir), 'BAD_MANIFEST');
  await rejectsWith(installPack(dir, { id: 'no-such-pack' }), 'BAD_ARGUMENT');
  const withJson = await makeTinyPack();
  await rejectsWith(installPack(withJson.dir, { id: 'other' }), 'BAD_ARGUMENT');
  assert.ok(cacheIsEmpty());
});

test('invalid pack.json names the problem', async () => {
  await freshCache();
  const { dir, pack } = await makeTinyPack();
  await writeFile(
    join(dir, 'pack.json'),
    JSON.stringify({ ...pack, files: [{ ...pack.files[0], name: '../evil' }] }),
  );
  const e = await rejectsWith(installPack(dir), 'BAD_MANIFEST');
  assert.match(e.message, /plain file name/);
});

test('the shipped research pack.json matches ../shared/models (folder install + verify)', {
  skip: needShared('models', 'movinet_a0_stream_int8_kinetics600.tflite'),
}, async () => {
  await freshCache();
  const known = JSON.parse(
    readFileSync(join(projectRoot(), 'packs', 'research', 'pack.json'), 'utf8'),
  ) as InstallablePackJson;
  const p = await installPack(sharedPath('models'), { id: 'research' });
  assert.equal(p.id, 'research');
  assert.deepEqual(
    p.pack.files.map((f) => f.name),
    known.files.map((f) => f.name),
  );
  assert.equal((await verifyPacks('research'))[0].ok, true);
  assert.equal((await requireInstalled('research')).dir, packDir('research'));
});

test('research pack over HTTP from a loopback server serving ../shared/models; truncated file → CHECKSUM', {
  skip: needShared('models', 'yamnet.tflite'),
}, async () => {
  await freshCache();
  const models = sharedPath('models');
  const truncated = readFileSync(join(models, 'yamnet.tflite')).subarray(0, 4096);
  const bad = await serve(models, { 'yamnet.tflite': truncated });
  try {
    const e = await rejectsWith(installPack(bad.url, { id: 'research' }), 'CHECKSUM');
    assert.match(e.message, /yamnet\.tflite/);
    assert.ok(cacheIsEmpty(), 'nothing installed');
  } finally {
    bad.server.close();
  }
  const good = await serve(models);
  try {
    const p = await installPack(good.url, { id: 'research' });
    assert.equal((await verifyPacks('research'))[0].ok, true);
    assert.ok(existsSync(join(p.dir, 'movinet_a0_stream_int8_kinetics600.tflite')));
  } finally {
    good.server.close();
  }
});

test('requireInstalled says how to install a missing pack', async () => {
  await freshCache();
  await mkdir(packsRoot(), { recursive: true });
  const e = await rejectsWith(requireInstalled('research'), 'MODEL_MISSING');
  assert.match(e.hint ?? '', /dfan pack install/);
});

test('over HTTP: a server that stalls mid-file times out; a missing file is NOT_FOUND; nothing installed', async () => {
  await freshCache();
  const { dir } = await makeTinyPack();
  const sockets = new Set<import('node:net').Socket>();
  const server = createServer((req, res) => {
    const name = (req.url ?? '/').replace(/^\/+/, '');
    if (name === 'pack.json') {
      res.end(readFileSync(join(dir, 'pack.json')));
      return;
    }
    if (name === 'weights.bin') {
      res.writeHead(200, { 'content-length': '70000' });
      res.write(readFileSync(join(dir, 'weights.bin')).subarray(0, 5000)); // then nothing more
      return;
    }
    res.writeHead(404);
    res.end();
  });
  server.on('connection', (s) => sockets.add(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  try {
    const e = await rejectsWith(installPack(url, { idleTimeoutMs: 400 }), 'NOT_FOUND');
    assert.match(e.message, /weights\.bin.*no data/);
    assert.ok(cacheIsEmpty());
  } finally {
    for (const s of sockets) s.destroy();
    server.close();
  }
  const partial = await serve(dir, {});
  try {
    await rm(join(dir, 'labels.txt'));
    const e = await rejectsWith(installPack(partial.url), 'NOT_FOUND');
    assert.match(e.message, /labels\.txt is missing/);
    assert.ok(cacheIsEmpty());
  } finally {
    partial.server.close();
  }
});

test('temp folders of a killed install are cleaned up by the next install; live ones are kept', async () => {
  await freshCache();
  const { spawnSync } = await import('node:child_process');
  const deadPid = spawnSync(process.execPath, ['-e', '0']).pid;
  await mkdir(join(packsRoot(), `.tmp-tiny-${deadPid}-deadbeef`, 'x'), { recursive: true });
  await mkdir(join(packsRoot(), `.tmp-other-${process.pid}-cafebabe`), { recursive: true });
  const { dir } = await makeTinyPack();
  await installPack(dir);
  assert.deepEqual(readdirSync(packsRoot()).sort(), [`.tmp-other-${process.pid}-cafebabe`, 'tiny']);
});
