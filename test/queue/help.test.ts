/** The queue verbs teach in --help (options with defaults, an example) without a Redis. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCliSync } from '../helpers/cli.js';

const help = (...args: string[]) => runCliSync([...args, '--help'], { timeout: 30_000 });

test('dfan worker / queue status / extract --queue: --help shows options, defaults and examples', () => {
  const w = help('worker');
  assert.equal(w.status, 0, w.stderr);
  assert.match(w.stdout, /--queue <url>.*\(default:\s+"redis:\/\/127\.0\.0\.1:6379"\)/s);
  assert.match(w.stdout, /--lock-duration <ms>[\s\S]*default: 30000/);
  assert.match(w.stdout, /\$ dfan worker --queue redis:\/\//);
  const s = help('queue', 'status');
  assert.equal(s.status, 0, s.stderr);
  assert.match(s.stdout, /\$ dfan queue status/);
  const e = help('extract');
  assert.match(e.stdout, /--queue <url>/);
  assert.match(e.stdout, /--detach/);
  const v = help('serve');
  assert.match(v.stdout, /--queue <url>/);
  assert.match(v.stdout, /\$ dfan serve --queue redis:\/\//);
});

test('--detach without --queue, and --queue with --workers, are usage errors (exit 2)', () => {
  const a = runCliSync(['extract', 'x.mp4', '--out', 'y', '--detach']);
  assert.equal(a.status, 2);
  assert.match(a.stderr, /--detach needs --queue/);
  const b = runCliSync([
    'extract',
    'x.mp4',
    '--out',
    'y',
    '--queue',
    'redis://127.0.0.1:1',
    '--workers',
    '2',
  ]);
  assert.equal(b.status, 2);
  assert.match(b.stderr, /start `dfan worker`s instead/);
  const c = runCliSync(['worker', '--queue', 'http://x']);
  assert.equal(c.status, 2);
  assert.match(c.stderr, /redis:\/\/ or rediss:\/\//);
});
