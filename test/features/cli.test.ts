/**
 * `dfan extract` / `dfan features` as a user runs them (spawned CLI, cheap fake pack, generated
 * videos): SIGKILL mid-run and resume, a corrupt video in a batch, a manifest with a missing
 * file, odd names.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { FeatureStore, readFeatures } from '../../src/features/store.js';
import { CLI, runCliSync } from '../helpers/cli.js';
import { testDir } from '../helpers/temp.js';
import { builtFakePack, makeVideo } from './helpers.js';

const dir = testDir('dfan-cli-');
const colours = ['red', 'green', 'blue', 'yellow', 'white', 'gray'];
before(() => {
  mkdirSync(join(dir, 'six'));
  for (const c of colours) makeVideo(join(dir, 'six', `${c}.mp4`), c, 1);
});

function run(args: string[], env: Record<string, string> = {}) {
  return runCliSync(args, { env: { ...process.env, ...env }, timeout: 60_000 });
}

function loggedPaths(log: string): string[] {
  return existsSync(log)
    ? readFileSync(log, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(' ').slice(1).join(' '))
    : [];
}

test('SIGKILL mid-run, then resume: every file valid, finished videos not recomputed', async () => {
  const out = join(dir, 'killed');
  const log = join(dir, 'killed.log');
  const env = { DFAN_FAKE_PACK_LOG: log, DFAN_FAKE_PACK_DELAY_MS: '400' };
  const child = spawn(
    process.execPath,
    [CLI, 'extract', join(dir, 'six'), '--out', out, '--pack', builtFakePack(), '-T', '4', '-K', '2'],
    {
      env: { ...process.env, ...env },
      stdio: 'ignore',
    },
  );
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const features = () =>
    existsSync(out) ? readdirSync(out).filter((n) => n.endsWith('.safetensors') && !n.startsWith('.')) : [];
  const t0 = Date.now();
  while (features().length === 0 && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 10));
  child.kill('SIGKILL');
  await exited;
  const before = new Map(features().map((n) => [n, statSync(join(out, n))]));
  assert.ok(before.size >= 1 && before.size < colours.length, `killed mid-run (${before.size} files)`);
  for (const n of before.keys()) await readFeatures(join(out, n), { verify: true }); // every file that exists is whole

  const r = run(
    ['extract', join(dir, 'six'), '--out', out, '--pack', builtFakePack(), '-T', '4', '-K', '2'],
    { DFAN_FAKE_PACK_LOG: log },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`skipped ${before.size} \\(already done\\)`));
  const store = await FeatureStore.open(out);
  assert.equal(store.keys().length, colours.length);
  for (const c of colours) {
    const vf = await readFeatures(store.pathFor(`${c}.mp4`), { verify: true });
    assert.equal(vf.meta.key, `${c}.mp4`);
  }
  for (const [n, st] of before) {
    const now = statSync(join(out, n));
    assert.equal(now.ino, st.ino, `${n} was not rewritten`);
    assert.equal(now.mtimeMs, st.mtimeMs, `${n} was not rewritten`);
  }
  // the videos finished before the kill were extracted exactly once over both runs
  const counts = new Map<string, number>();
  for (const p of loggedPaths(log)) counts.set(p, (counts.get(p) ?? 0) + 1);
  const store2 = await FeatureStore.open(out);
  for (const n of before.keys()) {
    const key = Object.entries(store2.index.entries).find(([, e]) => e.file === n)![0];
    assert.equal(counts.get(join(dir, 'six', key)), 1, `${key} computed once`);
  }
  assert.equal(
    readdirSync(out).filter((n) => n.endsWith('.tmp')).length,
    0,
    'stale temp files were cleaned up',
  );
});

test('Ctrl-C (SIGINT): running videos finish, exit 130, the next run completes the rest', async () => {
  const out = join(dir, 'interrupted');
  const args = [
    CLI,
    'extract',
    join(dir, 'six'),
    '--out',
    out,
    '--pack',
    builtFakePack(),
    '-T',
    '2',
    '-K',
    '2',
    '--workers',
    '1',
  ];
  const child = spawn(process.execPath, args, {
    env: { ...process.env, DFAN_FAKE_PACK_DELAY_MS: '300' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const t0 = Date.now();
  while (!/\[1\/6\] done/.test(stderr) && Date.now() - t0 < 30_000)
    await new Promise((r) => setTimeout(r, 10));
  child.kill('SIGINT');
  assert.equal(await exited, 130, stderr);
  assert.match(stderr, /extraction interrupted/);
  assert.doesNotMatch(stderr, /failures:/, 'an interrupt is not a failure');
  const done = (await FeatureStore.open(out)).keys().length;
  assert.ok(done >= 1 && done < colours.length, `${done} done before the interrupt`);
  const r = run(['extract', join(dir, 'six'), '--out', out, '--pack', builtFakePack(), '-T', '2', '-K', '2']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`extracted ${colours.length - done}, skipped ${done}`));
});

test('a corrupt video in a batch: the others finish, the failure is listed, exit code non-zero', async () => {
  const src = join(dir, 'mixed');
  mkdirSync(src);
  makeVideo(join(src, 'a.mp4'), 'red', 1);
  makeVideo(join(src, 'b.mkv'), 'blue', 1);
  // a real video cut in half: the header promises frames the file does not have
  const whole = readFileSync(makeVideo(join(dir, 'whole.mp4'), 'green', 2, '160x120'));
  writeFileSync(join(src, 'broken.mp4'), whole.subarray(0, Math.floor(whole.length / 3)));
  writeFileSync(join(src, 'notes.txt'), 'not a video: ignored');
  const out = join(dir, 'mixed-out');
  const r = run(['extract', src, '--out', out, '--pack', builtFakePack(), '-T', '4', '-K', '2']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /failures:\n\s+\S*broken\.mp4: .+/);
  assert.match(r.stderr, /1 of 3 videos failed/);
  const store = await FeatureStore.open(out);
  assert.deepEqual(store.keys().sort(), ['a.mp4', 'b.mkv']);
  assert.deepEqual(
    store.failures().map((f) => f.key),
    ['broken.mp4'],
  );
});

test('a manifest with a missing file: listed as not found, the rest extracted, keys as written', async () => {
  const root = join(dir, 'ds');
  mkdirSync(join(root, 'clips', 'Joy'), { recursive: true });
  makeVideo(join(root, 'clips', 'Joy', 'one.mp4'), 'yellow', 1);
  makeVideo(join(root, 'clips', 'Joy', 'two.mp4'), 'white', 1);
  const csv = join(root, 'manifest.csv');
  writeFileSync(
    csv,
    'video,label,split\nclips/Joy/one.mp4,Joy,train\nclips/Fear/gone.mp4,Fear,test\nclips/Joy/two.mp4,Joy,test\n',
  );
  const out = join(dir, 'ds-out');
  const r = run(['extract', csv, '--out', out, '--pack', builtFakePack(), '-T', '2', '-K', '2']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /clips\/Fear\/gone\.mp4: video file not found/);
  const store = await FeatureStore.open(out);
  assert.deepEqual(store.keys().sort(), ['clips/Joy/one.mp4', 'clips/Joy/two.mp4']);
  const vf = await store.load('clips/Joy/one.mp4');
  assert.equal(vf.meta.source, 'clips/Joy/one.mp4');
  assert.equal(vf.snippets.length, 2);
  const list = runCliSync(['features', 'list', out]);
  assert.equal(list.status, 0, list.stderr);
  assert.match(list.stdout, /2 extracted, 1 failed/);
  assert.match(list.stdout, /FAILED\s+clips\/Fear\/gone\.mp4\s+video file not found/);
});

test('odd file names and keys; features inspect (text and --json); bad arguments', async () => {
  const src = join(dir, 'odd');
  mkdirSync(join(src, 'Fear'), { recursive: true });
  mkdirSync(join(src, '悲しい'), { recursive: true });
  makeVideo(join(src, 'Fear', '[HD]Scary(2)^x=1.mp4'), 'red', 1);
  makeVideo(join(src, '悲しい', 'クリップ 1.webm'.replace('.webm', '.mp4')), 'blue', 1);
  makeVideo(join(src, 'it\'s a "clip".mp4'), 'green', 1);
  const out = join(dir, 'odd-out');
  const r = run([
    'extract',
    src,
    '--out',
    out,
    '--pack',
    builtFakePack(),
    '-T',
    '3',
    '-K',
    '2',
    '--streams',
    'object',
  ]);
  assert.equal(r.status, 0, r.stderr);
  const store = await FeatureStore.open(out);
  assert.deepEqual(
    store.keys().sort(),
    ['Fear/[HD]Scary(2)^x=1.mp4', 'it\'s a "clip".mp4', '悲しい/クリップ 1.mp4'].sort(),
  );
  for (const n of readdirSync(out))
    assert.match(n, /^(index\.json|[A-Za-z0-9][A-Za-z0-9._-]*\.safetensors)$/, n);
  const file = store.pathFor('Fear/[HD]Scary(2)^x=1.mp4');
  const insp = runCliSync(['features', 'inspect', file, '--json']);
  assert.equal(insp.status, 0, insp.stderr);
  const j = JSON.parse(insp.stdout) as {
    meta: { key: string };
    streams: Array<{ name: string; shape: number[]; dtype: string }>;
    snippets: unknown[];
  };
  assert.equal(j.meta.key, 'Fear/[HD]Scary(2)^x=1.mp4');
  assert.deepEqual(j.streams, [
    {
      name: 'object',
      dtype: 'F16',
      shape: [3, 2, 2, 3],
      kind: 'map',
      backbone: 'fake/quadrant-colour',
      description: 'mean colour per quadrant (test pack)',
    },
  ]);
  assert.equal(j.snippets.length, 3);
  const text = runCliSync(['features', 'inspect', file, '--verify']);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /object\s+F16 \[3, 2, 2, 3\]/);
  assert.match(text.stdout, /sha256 verified/);
  // a foreign file gives a one-line BAD_FEATURES error
  writeFileSync(join(dir, 'foreign.safetensors'), 'garbage garbage garbage');
  const bad = runCliSync(['features', 'inspect', join(dir, 'foreign.safetensors')]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /foreign\.safetensors: not a valid safetensors file/);
  // an unknown stream and a missing input are user errors
  const noStream = run([
    'extract',
    src,
    '--out',
    join(dir, 'x'),
    '--pack',
    builtFakePack(),
    '--streams',
    'scene',
  ]);
  assert.notEqual(noStream.status, 0);
  assert.match(noStream.stderr, /no "scene" stream/);
  const noInput = run(['extract', join(dir, 'nope'), '--out', join(dir, 'x')]);
  assert.notEqual(noInput.status, 0);
  assert.match(noInput.stderr, /nope: input does not exist/);
});
