/**
 * `dfan extract --queue` and `dfan worker` against a real redis-server (started here on a free
 * loopback port): 3 workers share a batch with a corrupt video, a re-run enqueues nothing, a
 * SIGKILLed worker's job is recovered by another, SIGTERM finishes the running job, Redis going
 * away gives a clear error and work resumes when it is back. Fake pack: a job takes milliseconds.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import { FeatureStore, readFeatures } from '../../src/features/store.js';
import { builtFakePack, makeVideo } from '../features/helpers.js';
import { testDir } from '../helpers/temp.js';
import { dfan, dfanRun, type Proc, startWorker, stopWorker, until } from './helpers.js';
import { freePort, needRedis, TestRedis } from './redis.js';

const skip = needRedis();
const dir = testDir('dfan-queue-');
const colours = ['red', 'green', 'blue', 'yellow', 'white', 'gray'];
let redis: TestRedis;
const workers: Proc[] = [];
const common = () => ['--pack', builtFakePack(), '-T', '4', '-K', '2', '--no-progress'];

function logged(log: string): string[] {
  return existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) : [];
}
const paths = (log: string) => logged(log).map((l) => l.split(' ').slice(1).join(' '));
const pids = (log: string) => new Set(logged(log).map((l) => l.split(' ')[0]));
const failureLines = (out: string) =>
  out
    .split('\n')
    .filter((l) => l.startsWith('  ') && l.includes('broken'))
    .map((l) => l.trim());

async function allValid(out: string, n: number) {
  const files = readdirSync(out).filter((f) => f.endsWith('.safetensors'));
  assert.equal(files.filter((f) => !f.startsWith('.')).length, n, `files in ${out}: ${files.join(', ')}`);
  for (const f of files) await readFeatures(join(out, f), { verify: true });
}

describe('extraction through the queue', { skip }, () => {
  before(async () => {
    redis = await TestRedis.start();
    mkdirSync(join(dir, 'six'));
    for (const c of colours) makeVideo(join(dir, 'six', `${c}.mp4`), c, 1);
    mkdirSync(join(dir, 'mixed'));
    for (const c of colours) copyFileSync(join(dir, 'six', `${c}.mp4`), join(dir, 'mixed', `${c}.mp4`));
    writeFileSync(join(dir, 'mixed', 'broken.mp4'), Buffer.from('this is not a video at all'.repeat(40)));
    mkdirSync(join(dir, 'four'));
    for (const c of colours.slice(0, 4)) makeVideo(join(dir, 'four', `${c}.mp4`), c, 2);
  });
  after(async () => {
    for (const w of workers) await stopWorker(w, 'SIGKILL');
    await redis?.stop();
  });

  test('3 workers, a corrupt video in the batch: each good video extracted once, the corrupt one fails with the local error', async () => {
    const log = join(dir, 'three.log');
    const env = { DFAN_FAKE_PACK_LOG: log, DFAN_FAKE_PACK_DELAY_MS: '150' };
    for (let i = 0; i < 3; i++)
      workers.push(await startWorker(redis.url, builtFakePack(), ['--concurrency', '1'], env));
    const out = join(dir, 'feats');
    const r = await dfanRun(['extract', join(dir, 'mixed'), '--out', out, '--queue', redis.url, ...common()]);
    assert.equal(r.code, 1, r.out); // same exit code as a local run with a failure
    assert.match(r.out, /extracted 6, skipped 0 \(already done\), failed 1 of 7/);
    await allValid(out, 6);
    assert.deepEqual(paths(log).sort(), colours.map((c) => join(dir, 'mixed', `${c}.mp4`)).sort());
    assert.ok(pids(log).size >= 2, `the work was shared (${pids(log).size} worker(s) ran jobs)`);
    const store = await FeatureStore.open(out);
    assert.equal(store.keys().length, 6);
    assert.deepEqual(
      store.failures().map((f) => f.key),
      ['broken.mp4'],
    );
    // the same typed one-line reason as the local run
    const local = await dfanRun([
      'extract',
      join(dir, 'mixed', 'broken.mp4'),
      '--out',
      join(dir, 'local'),
      ...common(),
    ]);
    assert.equal(local.code, 1);
    assert.deepEqual(failureLines(r.out), failureLines(local.out));
    assert.match(failureLines(r.out)[0], /not a readable video/);
  });

  test('a re-run enqueues nothing for finished videos; a second enqueue of jobs in flight adds nothing', async () => {
    const log = join(dir, 'three.log');
    const before = logged(log).length;
    const r = await dfanRun([
      'extract',
      join(dir, 'six'),
      '--out',
      join(dir, 'feats'),
      '--queue',
      redis.url,
      ...common(),
    ]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /0 job\(s\) enqueued, 0 already in flight, 6 video\(s\) already done/);
    assert.equal(logged(log).length, before, 'nothing recomputed');
    // workers stop gracefully (SIGTERM, exit 0)
    for (const w of workers.splice(0)) assert.deepEqual(await stopWorker(w), { code: 0, signal: null });
    // no worker now: two detached enqueues of the same batch → the second one dedups
    const out = join(dir, 'dedup');
    const enqueue = () =>
      dfanRun(['extract', join(dir, 'six'), '--out', out, '--queue', redis.url, '--detach', ...common()]);
    const a = await enqueue();
    assert.equal(a.code, 0, a.out);
    assert.match(a.out, /6 job\(s\) enqueued, 0 already in flight/);
    const b = await enqueue();
    assert.match(b.out, /0 job\(s\) enqueued, 6 already in flight/);
    const st = await dfanRun(['queue', 'status', '--queue', redis.url]);
    assert.equal(st.code, 0, st.out);
    assert.match(st.out, /extract\s+waiting 6/);
    assert.match(st.out, new RegExp(`→ ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    const w = await startWorker(redis.url, builtFakePack());
    workers.push(w);
    const c = await dfanRun(['extract', join(dir, 'six'), '--out', out, '--queue', redis.url, ...common()]);
    assert.equal(c.code, 0, c.out);
    await allValid(out, 6);
    assert.deepEqual(await stopWorker(workers.pop() as Proc), { code: 0, signal: null });
  });

  test('SIGKILLed worker mid-job: another worker takes the job back; SIGTERM lets the running job finish', async () => {
    const log = join(dir, 'kill.log');
    const out = join(dir, 'killed');
    const fast = ['--lock-duration', '1000', '--stalled-interval', '500', '--concurrency', '1'];
    const a = await startWorker(redis.url, builtFakePack(), fast, {
      DFAN_FAKE_PACK_LOG: log,
      DFAN_FAKE_PACK_DELAY_MS: '60000',
    });
    workers.push(a);
    const run = dfan(['extract', join(dir, 'four'), '--out', out, '--queue', redis.url, ...common()]);
    const q = new Queue('extract', { connection: { url: redis.url }, prefix: 'dfan' });
    try {
      await until(async () => (await q.getActiveCount()) >= 1, 20_000, 'worker A to take a job');
      a.child.kill('SIGKILL');
      await a.exited;
      const b = await startWorker(redis.url, builtFakePack(), fast, {
        DFAN_FAKE_PACK_LOG: log,
        DFAN_FAKE_PACK_DELAY_MS: '300',
      });
      workers.push(b);
      const timer = setTimeout(() => run.child.kill('SIGKILL'), 40_000);
      const r = await run.exited;
      clearTimeout(timer);
      assert.equal(r.code, 0, run.out());
      if (process.env.DFAN_QUEUE_DEBUG) console.error(b.out(), run.out());
      await allValid(out, 4);
      // A finished nothing; every video was computed once, by B
      assert.equal(logged(log).length, 4);
      assert.deepEqual(pids(log), new Set([String(b.child.pid)]));
      // SIGTERM while B runs a job: it finishes it, then exits 0
      const one = join(dir, 'one');
      mkdirSync(one);
      makeVideo(join(one, 'last.mp4'), 'blue', 1);
      const d = await dfanRun([
        'extract',
        one,
        '--out',
        join(dir, 'term'),
        '--queue',
        redis.url,
        '--detach',
        ...common(),
      ]);
      assert.equal(d.code, 0, d.out);
      await until(async () => (await q.getActiveCount()) >= 1, 20_000, 'worker B to take the job');
      const stopped = await stopWorker(b);
      assert.deepEqual(stopped, { code: 0, signal: null }, b.out());
      assert.match(b.out(), /finishing 1 running job/);
      await allValid(join(dir, 'term'), 1);
    } finally {
      await q.close();
    }
  });

  test('Redis down: a clear error naming the URL and the fix; Redis lost mid-run: work resumes when it is back', async () => {
    const port = await freePort();
    const r = await dfanRun([
      'extract',
      join(dir, 'six'),
      '--out',
      join(dir, 'nowhere'),
      '--queue',
      `redis://127.0.0.1:${port}`,
      ...common(),
    ]);
    assert.equal(r.code, 1);
    assert.match(
      r.out,
      new RegExp(
        `cannot reach Redis at redis://127\\.0\\.0\\.1:${port} .*start redis-server or pass --queue redis://HOST:PORT`,
      ),
    );
    const w = await dfanRun(['worker', '--queue', `redis://127.0.0.1:${port}`]);
    assert.equal(w.code, 1);
    assert.match(w.out, /cannot reach Redis at .*start redis-server/);

    const log = join(dir, 'down.log');
    const worker = await startWorker(redis.url, builtFakePack(), ['--concurrency', '1'], {
      DFAN_FAKE_PACK_LOG: log,
      DFAN_FAKE_PACK_DELAY_MS: '250',
    });
    workers.push(worker);
    const out = join(dir, 'resumed');
    const run = dfan(['extract', join(dir, 'six'), '--out', out, '--queue', redis.url, ...common()]);
    await until(() => logged(log).length >= 1, 20_000, 'a first video');
    await redis.down(); // a crash: and it comes back empty (no persistence)
    await until(() => /lost Redis/.test(worker.out()), 10_000, 'the worker to notice');
    await new Promise((res) => setTimeout(res, 500));
    await redis.up();
    const timer = setTimeout(() => run.child.kill('SIGKILL'), 45_000);
    const res = await run.exited;
    clearTimeout(timer);
    assert.equal(res.code, 0, run.out());
    await allValid(out, 6);
    assert.match(worker.out(), /lost Redis at redis:\/\/127\.0\.0\.1:\d+ .*start redis-server/);
    await worker.waitFor(/is back; resuming/, 10_000);
    // finished before the loss: never recomputed (at most the one in flight at the crash is redone)
    assert.ok(logged(log).length <= 7, `computed ${logged(log).length} times for 6 videos`);
  });
});
