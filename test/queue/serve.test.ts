/**
 * `dfan serve --queue` end to end: two servers (in this process) share one queue with a
 * `dfan worker` process (fake face pack on generated clips); uploads become jobs, the worker's
 * progress reaches the server's job (the SSE stream's source) and the prediction comes back.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { checkPrediction } from '../../src/app/explain.js';
import { checkVideoFile } from '../../src/app/serve.js';
import { buildServer } from '../../src/app/server.js';
import type { Prediction } from '../../src/app/types.js';
import { ZERO_SHOT_DESCRIPTOR } from '../../src/app/zero-shot.js';
import { queuePredictRunner } from '../../src/queue/predict.js';
import { writeFakePack } from '../app/fake-pack.js';
import { makeClip, uploadFile, waitDone } from '../app/helpers.js';
import { needShared, sharedPath } from '../helpers/shared.js';
import { testDir } from '../helpers/temp.js';
import { dfan, type Proc, stopWorker } from './helpers.js';
import { needRedis, TestRedis } from './redis.js';

const skip = needRedis();
const dir = testDir('dfan-queue-serve-');
let redis: TestRedis;
let worker: Proc | null = null;

describe('serve + worker through the queue', { skip }, () => {
  before(async () => {
    redis = await TestRedis.start();
  });
  after(async () => {
    if (worker) await stopWorker(worker, 'SIGKILL');
    await redis?.stop();
  });

  test('uploads to two servers become jobs for one worker; progress and predictions come back', async () => {
    const pack = await writeFakePack(dir);
    worker = dfan(['worker', '--queue', redis.url, '--only', 'predict', '--pack', pack]);
    await worker.waitFor(/taking predict jobs/);
    const servers = await Promise.all(
      [0, 1].map(async (i) => {
        const q = await queuePredictRunner({ url: redis.url, model: 'default', pack });
        const s = await buildServer({
          runner: q.runner,
          model: ZERO_SHOT_DESCRIPTOR,
          checkVideo: checkVideoFile,
          concurrency: 4,
          maxQueued: 4,
          workDir: join(dir, `work${i}`),
        });
        const close = async () => {
          await s.app.close();
          await q.close();
        };
        return { ...s, close };
      }),
    );
    try {
      const stages = new Set<string>();
      servers[0].queue.on('update', (j: { stage: string }) => stages.add(j.stage));
      // a real clip when ../shared is there (the fake pack keeps it cheap), else a generated one
      const real = needShared('media', 'single_face.mp4') === false;
      const clips = [
        makeClip(dir, 'a.mp4', 'white', 2),
        real ? sharedPath('media', 'single_face.mp4') : makeClip(dir, 'b.mp4', 'blue', 2),
      ];
      const posted = await Promise.all(servers.map((s, i) => uploadFile(s.app, clips[i], `clip${i}.mp4`)));
      for (const r of posted) assert.equal(r.statusCode, 202, r.body);
      const done = await Promise.all(
        servers.map((s, i) => waitDone(s.app, (posted[i].json() as { id: string }).id)),
      );
      for (const [i, d] of done.entries()) {
        assert.equal(d.status, 'done', JSON.stringify(d));
        const p = d.result as Prediction;
        assert.equal(p.video, `clip${i}.mp4`);
        assert.deepEqual(checkPrediction(p), []);
        assert.equal(p.model.kind, 'zero-shot');
      }
      // the worker's own stages reached the server (what its SSE stream sends)
      assert.ok(stages.has('waiting for a worker'), [...stages].join(', '));
      assert.ok(
        [...stages].some((s) => /decoding|running the models|extracting|model/.test(s)),
        `worker progress arrived: ${[...stages].join(', ')}`,
      );
      // the worker logs after its 'completed' event, which may come after the server has the result
      await worker.waitFor(
        /predicted clip0\.mp4[\s\S]*predicted clip1\.mp4|predicted clip1\.mp4[\s\S]*predicted clip0\.mp4/,
        10_000,
      );
    } finally {
      for (const s of servers) await s.close();
    }
    assert.deepEqual(await stopWorker(worker), { code: 0, signal: null });
    worker = null;
  });
});
