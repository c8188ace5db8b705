/**
 * Every bad input, through the API (typed error code) and through the CLI (non-zero exit code,
 * one line on stderr naming the file, no stack trace). Odd but valid names must just work.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { DfanError } from '../../src/errors.js';
import { decodeFrames, probe } from '../../src/video/index.js';
import { runCliSync } from '../helpers/cli.js';
import { testDir } from '../helpers/temp.js';
import { audioOnly, hasMkfifo, testsrcClip, zeroLength } from './fixtures.js';

const dir = testDir('dfan-video-');
let good = '';
const bad: Record<string, { path: string; code: string }> = {};

before(() => {
  good = testsrcClip(dir);
  const p = (n: string) => join(dir, n);
  bad.missing = { path: p('no such video.mp4'), code: 'NOT_FOUND' };
  mkdirSync(p('a folder.mp4'));
  bad.directory = { path: p('a folder.mp4'), code: 'IS_DIRECTORY' };
  writeFileSync(p('empty.mp4'), '');
  bad.empty = { path: p('empty.mp4'), code: 'EMPTY_FILE' };
  writeFileSync(p('notes.mp4'), 'these are my notes, not a video\n'.repeat(20));
  bad.text = { path: p('notes.mp4'), code: 'NOT_A_VIDEO' };
  bad.audio = { path: audioOnly(dir), code: 'NO_VIDEO_STREAM' };
  bad.zero = { path: zeroLength(dir), code: 'ZERO_LENGTH' };
  // an MP4 cut off right after its header: the index (moov) never arrives
  const buf = readFileSync(good);
  bad.truncatedIndex = { path: p('cut-index.mp4'), code: 'CORRUPT' };
  writeFileSync(bad.truncatedIndex.path, Buffer.concat([buf.subarray(0, 32), Buffer.alloc(64)]));
});

function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = runCliSync(args, { timeout: 120_000, env: { ...process.env, ...env } });
  return {
    code: r.status,
    stdout: r.stdout,
    stderr: r.stderr + (r.error ? `\n[spawn: ${r.error.message}]` : ''),
  };
}

const isCode = (code: string) => (e: unknown) => {
  assert.ok(e instanceof DfanError, `expected a DfanError, got ${String(e)}`);
  assert.equal(e.code, code, e.message);
  return true;
};

for (const name of ['missing', 'directory', 'empty', 'text', 'audio', 'zero', 'truncatedIndex']) {
  test(`bad input "${name}": API throws a typed DfanError naming the file`, async () => {
    const { path, code } = bad[name];
    await assert.rejects(probe(path), isCode(code));
    await assert.rejects(decodeFrames(path, [0], { width: 8, height: 8 }), isCode(code));
    try {
      await probe(path);
    } catch (e) {
      const line = (e as DfanError).oneLine();
      assert.ok(line.includes(path), line);
      assert.ok(!line.includes('\n'));
    }
  });

  test(`bad input "${name}": CLI exits non-zero with one line naming the file`, () => {
    const { path } = bad[name];
    const runs = [['probe', path]];
    // the snippets verb goes through the same checks; exercise it on a few
    if (['missing', 'text', 'zero'].includes(name)) runs.push(['snippets', path, '-T', '2']);
    for (const args of runs) {
      const r = cli(args);
      assert.notEqual(r.code, 0, `${args.join(' ')} exit code; stderr: ${r.stderr}`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `one line, got:\n${r.stderr}`);
      assert.ok(lines[0].startsWith('dfan: ') && lines[0].includes(path), lines[0]);
      assert.ok(!/\n\s+at /.test(r.stderr), 'no stack trace');
    }
  });
}

test('--debug adds the stack trace', () => {
  const r = cli(['probe', bad.text.path, '--debug']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /\n\s+at /);
});

test('truncated stream: decodes what it can, warns, never hangs', async () => {
  const buf = readFileSync(good); // faststart: the index is at the front
  const cut = join(dir, 'cut-in-half.mp4');
  writeFileSync(cut, buf.subarray(0, Math.floor(buf.length / 2)));
  const warnings: string[] = [];
  const t0 = Date.now();
  const frames = await decodeFrames(cut, [0.5, 1, 3.5], {
    width: 16,
    height: 12,
    onWarning: (w) => warnings.push(w),
  });
  assert.equal(frames.length, 3);
  assert.ok(Date.now() - t0 < 30_000);
  assert.ok(warnings.length >= 1 && warnings[0].includes(cut), `warnings: ${warnings}`);
  assert.ok((frames[2].pts ?? 9) < 3.5, 'the late time falls back to the last decodable frame');
  // CLI: exit 0, the sheet is written, the warning names the file
  const r = cli(['snippets', cut, '-T', '4', '--sheet', join(dir, 'cut.png')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /warning: .*cut-in-half\.mp4/);
});

test('corrupt stream (garbage in the middle): frames or a clear error, never a hang or crash', async () => {
  const buf = Buffer.from(readFileSync(good));
  let seed = 7;
  for (let i = Math.floor(buf.length / 3); i < (2 * buf.length) / 3; i += 5) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    buf[i] = seed & 0xff;
  }
  const bent = join(dir, 'corrupt.mp4');
  writeFileSync(bent, buf);
  try {
    const frames = await decodeFrames(bent, [0.2, 2, 3.9], { width: 16, height: 12, onWarning: () => {} });
    assert.equal(frames.length, 3);
  } catch (e) {
    isCode('CORRUPT')(e);
  }
  const r = cli(['snippets', bent, '-T', '3']);
  assert.ok(r.code === 0 || r.stderr.trim().split('\n').length === 1, r.stderr);
});

test('a FIFO named .mp4 is refused at once instead of blocking', {
  skip: !hasMkfifo() && 'no mkfifo',
}, async () => {
  const fifo = join(dir, 'pipe.mp4');
  spawnSync('mkfifo', [fifo]);
  await assert.rejects(probe(fifo), isCode('NOT_A_VIDEO'));
});

test('odd names work: spaces, brackets, commas, ^, =, non-ASCII, leading dash, colon', async () => {
  const sub = join(dir, 'Fear');
  mkdirSync(sub);
  const names = [
    join(sub, '[HD]Scary(2)^x=1 é, ü.mp4'),
    join(dir, '-starts-with-dash.mp4'),
    join(dir, 'has:colon.mp4'),
  ];
  for (const n of names) {
    writeFileSync(n, readFileSync(good));
    const info = await probe(n);
    assert.equal(info.width, 160);
    const [f] = await decodeFrames(n, [1], { width: 8, height: 8 }, info);
    assert.equal(f.data.length, 8 * 8 * 3);
    const r = cli(['snippets', n, '-T', '2', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).snippets.length, 2);
  }
  // relative name starting with '-' (after --) from the CLI
  const r = runCliSync(['probe', '--json', '--', '-starts-with-dash.mp4'], { cwd: dir });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).width, 160);
});

test('probe of several files: good ones are listed, bad ones named on stderr, exit 1', () => {
  const r = cli(['probe', good, bad.text.path]);
  assert.equal(r.code, 1);
  assert.ok(r.stdout.includes(good));
  assert.ok(r.stderr.includes(bad.text.path));
});

test('CLI flag errors are BAD_ARGUMENT (exit 2)', () => {
  assert.equal(cli(['snippets', good, '-T', '0']).code, 2);
  assert.equal(cli(['snippets', good, '--mode', 'zoom']).code, 2);
});

test('a stalled ffmpeg is killed after the idle timeout (never hangs)', async () => {
  const fake = join(dir, 'stalled-ffmpeg.sh');
  writeFileSync(fake, '#!/bin/sh\nexec sleep 60\n', { mode: 0o755 });
  const old = process.env.DFAN_FFMPEG;
  process.env.DFAN_FFMPEG = fake;
  const t0 = Date.now();
  try {
    await assert.rejects(
      decodeFrames(good, [1], { width: 8, height: 8, idleTimeoutMs: 800 }),
      isCode('CORRUPT'),
    );
  } finally {
    if (old === undefined) delete process.env.DFAN_FFMPEG;
    else process.env.DFAN_FFMPEG = old;
  }
  assert.ok(Date.now() - t0 < 15_000, `took ${Date.now() - t0} ms`);
});
