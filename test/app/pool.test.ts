/**
 * Worker processes behind the server: jobs run in warm child processes (real predict path
 * through the fake pack), two at once, and a dead worker fails only its job and is replaced.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkPrediction } from '../../src/app/explain.js';
import { startServer } from '../../src/app/serve.js';
import type { Prediction } from '../../src/app/types.js';
import { testDir } from '../helpers/temp.js';
import { writeFakePack } from './fake-pack.js';
import { makeClip, multipartBody } from './helpers.js';

const dir = testDir('dfan-app-pool-');

test('serve with 2 worker processes: concurrent real jobs finish; a killed worker is replaced', {
  timeout: 120_000,
}, async () => {
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    model: 'default',
    pack: await writeFakePack(dir),
    workers: 2,
    concurrency: 2,
    warm: false,
    workDir: join(dir, 'work'),
  });
  try {
    const clips = ['red', 'green', 'blue'].map((c, i) => makeClip(dir, `c${i}.mp4`, c, 1));
    const ids: string[] = [];
    for (const [i, c] of clips.entries()) {
      const { body, headers } = multipartBody('video', `c${i}.mp4`, await readFile(c));
      const r = await server.app.inject({ method: 'POST', url: '/api/jobs', payload: body, headers });
      assert.equal(r.statusCode, 202, r.body);
      ids.push((r.json() as { id: string }).id);
    }
    const wait = async (id: string) => {
      for (;;) {
        const j = (await server.app.inject({ method: 'GET', url: `/api/jobs/${id}` })).json() as {
          status: string;
          result?: Prediction;
          error?: string;
        };
        if (j.status === 'done' || j.status === 'error') return j;
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const done = await Promise.all(ids.map(wait));
    for (const [i, j] of done.entries()) {
      assert.equal(j.status, 'done', j.error);
      assert.deepEqual(checkPrediction(j.result as Prediction), []);
      assert.equal(j.result?.video, `c${i}.mp4`);
    }
    // kill the workers: the pool starts new ones and the next job still runs
    const kids = server.workerPids();
    assert.equal(kids.length, 2);
    for (const pid of kids) process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 100 && server.workerPids().some((p) => kids.includes(p)); i++)
      await new Promise((r) => setTimeout(r, 50));
    assert.equal(server.workerPids().length, 2);
    assert.ok(!server.workerPids().some((p) => kids.includes(p)), 'new workers');
    const { body, headers } = multipartBody(
      'video',
      'after.mp4',
      await readFile(makeClip(dir, 'after.mp4', 'white', 1)),
    );
    const r = await server.app.inject({ method: 'POST', url: '/api/jobs', payload: body, headers });
    const j = await wait((r.json() as { id: string }).id);
    assert.equal(j.status, 'done', j.error);
  } finally {
    await server.close();
  }
});
