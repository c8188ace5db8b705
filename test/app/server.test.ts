/**
 * API tests through fastify.inject with a fake runner (fast; the real model runs in the
 * predict and browser tests). Uploads are real files checked by the real ffprobe check.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { checkPrediction } from '../../src/app/explain.js';
import type { JobRunner } from '../../src/app/jobs.js';
import { checkVideoFile } from '../../src/app/serve.js';
import { buildServer } from '../../src/app/server.js';
import type { Prediction } from '../../src/app/types.js';
import { ZERO_SHOT_DESCRIPTOR } from '../../src/app/zero-shot.js';
import { lavfiClip } from '../helpers/ffmpeg.js';
import { testDir } from '../helpers/temp.js';
import { fakePrediction, makeClip, multipartBody, uploadFile, waitDone } from './helpers.js';

const dir = testDir('dfan-app-server-');
const clips: string[] = [];

before(async () => {
  for (const [i, c] of ['red', 'green', 'blue', 'yellow', 'white'].entries())
    clips.push(makeClip(dir, `clip${i}.mp4`, c));
});

const quickRunner: JobRunner = async (job, progress) => {
  progress('extracting features', 0.5);
  return fakePrediction(job.name);
};

async function server(
  runner: JobRunner = quickRunner,
  extra: Partial<Parameters<typeof buildServer>[0]> = {},
) {
  return buildServer({
    runner,
    model: ZERO_SHOT_DESCRIPTOR,
    checkVideo: checkVideoFile,
    frame: async () => Buffer.from('img'),
    concurrency: 2,
    maxQueued: 4,
    ...extra,
  });
}

test('valid upload → job → result; video with ranges; identical upload → cached; SSE reports done', async () => {
  const { app } = await server();
  try {
    const info = (await app.inject({ method: 'GET', url: '/api/info' })).json() as {
      model: { kind: string };
    };
    assert.equal(info.model.kind, 'zero-shot');
    const r = await uploadFile(app, clips[0], 'my clip.mp4');
    assert.equal(r.statusCode, 202, r.body);
    const job = r.json() as { id: string; status: string };
    assert.match(job.id, /^[A-Za-z0-9_-]{22}$/);
    const done = await waitDone(app, job.id);
    assert.equal(done.status, 'done');
    const result = done.result as Prediction;
    assert.deepEqual(checkPrediction(result), []);
    assert.equal(result.video, 'my clip.mp4');
    assert.equal(result.model.kind, 'zero-shot');
    assert.equal(done.labelsAre, 'emotion'); // the page heads the bars "Emotion"

    const size = (await readFile(clips[0])).length;
    const v = await app.inject({ method: 'GET', url: `/api/jobs/${job.id}/video` });
    assert.equal(v.statusCode, 200);
    assert.equal(v.rawPayload.length, size);
    assert.equal(v.headers['content-type'], 'video/mp4');
    const part = await app.inject({
      method: 'GET',
      url: `/api/jobs/${job.id}/video`,
      headers: { range: 'bytes=10-19' },
    });
    assert.equal(part.statusCode, 206);
    assert.equal(part.rawPayload.length, 10);
    assert.equal(part.headers['content-range'], `bytes 10-19/${size}`);

    const again = await uploadFile(app, clips[0], 'copy.mp4');
    assert.equal(again.statusCode, 200);
    const cached = again.json() as { status: string; cached: boolean; result: Prediction; id: string };
    assert.equal(cached.status, 'done');
    assert.equal(cached.cached, true);
    assert.equal(cached.result.video, 'copy.mp4');
    assert.notEqual(cached.id, job.id);

    const ev = await app.inject({ method: 'GET', url: `/api/jobs/${job.id}/events` });
    assert.equal(ev.headers['content-type'], 'text/event-stream');
    assert.match(ev.body, /event: done\ndata: \{/);

    const frame = await app.inject({ method: 'GET', url: `/api/jobs/${job.id}/frames/1.jpg` });
    assert.equal(frame.statusCode, 200);
    assert.equal(frame.headers['content-type'], 'image/jpeg');
    const badFrame = await app.inject({ method: 'GET', url: `/api/jobs/${job.id}/frames/..%2F..%2Fetc.jpg` });
    assert.equal(badFrame.statusCode, 404);
    const page = await app.inject({ method: 'GET', url: '/' });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /<canvas id="overlay">/);
  } finally {
    await app.close();
  }
});

test('a text file named .mp4 → 415; no file → 400; not multipart → 415', async () => {
  const { app, workDir } = await server();
  try {
    const txt = join(dir, 'fake.mp4');
    await writeFile(txt, 'this is not a video\n'.repeat(50));
    const r = await uploadFile(app, txt, 'fake.mp4');
    assert.equal(r.statusCode, 415, r.body);
    assert.match((r.json() as { message: string }).message, /video/);
    assert.doesNotMatch(r.body, new RegExp(workDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    const json = await app.inject({ method: 'POST', url: '/api/jobs', payload: { video: 'x' } });
    assert.equal(json.statusCode, 415);
    const png = join(dir, 'one.png');
    lavfiClip(png, 'color=c=red:s=32x32:d=0.1', ['-frames:v', '1']);
    const img = await uploadFile(app, png, 'still.mp4');
    assert.equal(img.statusCode, 415, img.body);
    assert.deepEqual(readdirSync(join(workDir, 'uploads')), [], 'rejected uploads are deleted');
  } finally {
    await app.close();
  }
});

test('oversized upload → 413 and nothing kept', async () => {
  const { app, workDir } = await server(quickRunner, { maxUploadMB: 0.01 });
  try {
    const big = join(dir, 'big.mp4');
    await writeFile(big, Buffer.alloc(64 * 1024, 1));
    const { body, headers } = multipartBody('video', 'big.mp4', await readFile(big));
    // once with an honest content-length, once streamed without one (chunked)
    const r = await app.inject({ method: 'POST', url: '/api/jobs', payload: body, headers });
    assert.equal(r.statusCode, 413, r.body);
    const { 'content-length': _, ...noLength } = headers;
    const r2 = await app.inject({ method: 'POST', url: '/api/jobs', payload: body, headers: noLength });
    assert.equal(r2.statusCode, 413, r2.body);
    assert.deepEqual(readdirSync(join(workDir, 'uploads')), []);
  } finally {
    await app.close();
  }
});

test('unknown or malformed job id → 404', async () => {
  const { app } = await server();
  try {
    for (const url of [
      '/api/jobs/AAAAAAAAAAAAAAAAAAAAAA',
      '/api/jobs/nope',
      '/api/jobs/..%2F..%2Fetc%2Fpasswd',
      '/api/jobs/AAAAAAAAAAAAAAAAAAAAAA/video',
      '/api/jobs/AAAAAAAAAAAAAAAAAAAAAA/events',
      '/api/jobs/AAAAAAAAAAAAAAAAAAAAAA/frames/0.jpg',
    ]) {
      const r = await app.inject({ method: 'GET', url });
      assert.equal(r.statusCode, 404, url);
    }
  } finally {
    await app.close();
  }
});

test('concurrent jobs: at most `concurrency` run at once, all finish', async () => {
  let running = 0;
  let peak = 0;
  const slow: JobRunner = async (job) => {
    running++;
    peak = Math.max(peak, running);
    await new Promise((r) => setTimeout(r, 150));
    running--;
    return fakePrediction(job.name);
  };
  const { app } = await server(slow, { concurrency: 2, maxQueued: 4 });
  try {
    const rs = await Promise.all(clips.slice(0, 4).map((c, i) => uploadFile(app, c, `c${i}.mp4`)));
    for (const r of rs) assert.equal(r.statusCode, 202, r.body);
    const done = await Promise.all(rs.map((r) => waitDone(app, (r.json() as { id: string }).id)));
    for (const d of done) assert.equal(d.status, 'done');
    assert.equal(peak, 2);
  } finally {
    await app.close();
  }
});

test('a full queue answers 503 with Retry-After instead of piling up; a failing job reports its error', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const blocked: JobRunner = async (job) => {
    await gate;
    if (job.name.startsWith('bad')) throw new Error(`${job.file}: boom: decoder exploded`);
    return fakePrediction(job.name);
  };
  const { app, workDir } = await server(blocked, { concurrency: 1, maxQueued: 1, retryAfter: 7 });
  try {
    const a = await uploadFile(app, clips[0], 'bad.mp4');
    const b = await uploadFile(app, clips[1], 'b.mp4');
    assert.equal(a.statusCode, 202);
    assert.equal(b.statusCode, 202);
    const c = await uploadFile(app, clips[2], 'c.mp4');
    assert.equal(c.statusCode, 503, c.body);
    assert.equal(c.headers['retry-after'], '7');
    assert.equal(readdirSync(join(workDir, 'uploads')).length, 2, 'the refused upload is not kept');
    release();
    const da = await waitDone(app, (a.json() as { id: string }).id);
    assert.equal(da.status, 'error');
    assert.equal(da.error, 'bad.mp4: boom: decoder exploded');
    const db = await waitDone(app, (b.json() as { id: string }).id);
    assert.equal(db.status, 'done');
    const d = await uploadFile(app, clips[2], 'c.mp4');
    assert.equal(d.statusCode, 202);
  } finally {
    release();
    await app.close();
  }
});

test('path traversal in the file name is neutralised; uploads expire after the TTL', async () => {
  const { app, queue, workDir } = await server(quickRunner, { ttlMinutes: 1 });
  try {
    const r = await uploadFile(app, clips[3], '../../../../tmp/evil.mp4');
    assert.equal(r.statusCode, 202);
    const j = await waitDone(app, (r.json() as { id: string }).id);
    assert.equal((j.result as Prediction).video, 'evil.mp4');
    const files = readdirSync(join(workDir, 'uploads'));
    assert.equal(files.length, 1);
    assert.match(files[0], /^[A-Za-z0-9_-]{22}\.mp4$/);
    assert.ok(!existsSync('/tmp/evil.mp4'));
    assert.equal(await queue.sweep(Date.now() + 30_000), 0, 'not expired yet');
    assert.equal(await queue.sweep(Date.now() + 61_000), 1);
    assert.deepEqual(readdirSync(join(workDir, 'uploads')), []);
    const gone = await app.inject({ method: 'GET', url: `/api/jobs/${j.id}` });
    assert.equal(gone.statusCode, 404);
    // the cached result expired too: the same upload runs again
    const again = await uploadFile(app, clips[3], 'evil.mp4');
    assert.equal(again.statusCode, 202);
  } finally {
    await app.close();
  }
});
