/**
 * What the page's player gets: real files of each kind probed by the real ffprobe check, the
 * real conversion of an MPEG-4 Part 2 AVI, and the server's answers while a copy is made, once
 * it is made, and when making it failed (the page then shows key frames).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { convertForBrowser, oneAtATime, type PlaybackPlan, playbackPlan } from '../../src/app/playback.js';
import { checkVideoFile } from '../../src/app/serve.js';
import { buildServer, type ServerOptions } from '../../src/app/server.js';
import { ZERO_SHOT_DESCRIPTOR } from '../../src/app/zero-shot.js';
import { probe } from '../../src/video/probe.js';
import { ffmpeg, lavfiClip } from '../helpers/ffmpeg.js';
import { testDir } from '../helpers/temp.js';
import { fakePrediction, makeClip, uploadFile, waitDone } from './helpers.js';

const dir = testDir('dfan-app-playback-');
const SOURCE = 'testsrc2=s=176x144:d=1:r=10';
const TONE = ['-f', 'lavfi', '-i', 'sine=f=440:d=1'];

/** An MPEG-4 Part 2 + MP3 AVI, the kind old cameras and DivX/Xvid encoders wrote (made once for the file). */
let aviFile = '';
function mpeg4Avi(): string {
  if (aviFile) return aviFile;
  const file = join(dir, 'camera.avi');
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    SOURCE,
    ...TONE,
    '-c:v',
    'mpeg4',
    '-q:v',
    '5',
    '-c:a',
    'libmp3lame',
    '-shortest',
    file,
  ]);
  aviFile = file;
  return file;
}

test('a browser plays H.264 MP4 and VP9 WebM as they are; AVI, Theora and H.264 in Matroska need a copy', async () => {
  const cases: Array<[string, string[], boolean, string]> = [
    ['h264.mp4', ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'], true, 'video/mp4'],
    ['h264.mov', ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'], true, 'video/mp4'],
    ['vp9.webm', ['-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8'], true, 'video/webm'],
    ['mpeg4.avi', ['-c:v', 'mpeg4'], false, ''],
    ['mpeg4.mp4', ['-c:v', 'mpeg4'], false, ''],
    ['theora.ogv', ['-c:v', 'libtheora'], false, ''],
    ['h264.mkv', ['-c:v', 'libx264', '-preset', 'ultrafast'], false, ''],
  ];
  for (const [name, codec, playable, type] of cases) {
    const plan = await checkVideoFile(lavfiClip(join(dir, name), SOURCE, codec));
    assert.equal(plan.playable, playable, name);
    if (playable) assert.equal(plan.contentType, type, name);
    assert.ok(Math.abs(plan.duration - 1) < 0.2, `${name}: ${plan.duration}`);
  }
  // audio counts too: AAC in MP4 plays, PCM in MP4 or AAC in WebM would not
  const base = { format: 'mov,mp4,m4a,3gp,3g2,mj2', codec: 'h264', duration: 1 };
  assert.equal(playbackPlan({ ...base, audioCodec: 'aac' }).playable, true);
  assert.equal(playbackPlan({ ...base, audioCodec: 'pcm_s16le' }).playable, false);
  assert.equal(
    playbackPlan({ ...base, format: 'matroska,webm', codec: 'vp9', audioCodec: 'aac' }).playable,
    false,
  );
});

test('convertForBrowser: an MPEG-4 Part 2 AVI becomes an H.264/AAC MP4 of the same length, written whole', async () => {
  const avi = mpeg4Avi();
  const before = await probe(avi);
  assert.equal(before.codec, 'mpeg4');
  const plan = await checkVideoFile(avi);
  assert.equal(plan.playable, false);
  const out = join(dir, 'camera.play.mp4');
  await convertForBrowser(avi, out, plan);
  const after = await probe(out);
  assert.equal(after.codec, 'h264');
  assert.equal(after.audioCodec, 'aac');
  assert.deepEqual([after.width, after.height], [before.width, before.height]);
  assert.ok(Math.abs(after.duration - before.duration) < 0.15, `${after.duration} vs ${before.duration}`);
  assert.deepEqual(playbackPlan(after), {
    playable: true,
    contentType: 'video/mp4',
    duration: after.duration,
  });
  assert.ok(!readdirSync(dir).some((f) => f.includes('.part')), 'no temp file left');
  // a file ffmpeg cannot read: the error says so and nothing is left behind
  const broken = join(dir, 'broken.avi');
  await assert.rejects(convertForBrowser(join(dir, 'absent.avi'), broken, plan));
  assert.ok(!existsSync(broken) && !readdirSync(dir).some((f) => f.includes('.part')));
});

async function serverWith(convert: ServerOptions['convert']) {
  return buildServer({
    runner: async (job) => fakePrediction(job.name),
    model: ZERO_SHOT_DESCRIPTOR,
    checkVideo: checkVideoFile,
    convert,
    concurrency: 1,
    maxQueued: 2,
  });
}

async function jobOf(app: FastifyInstance, id: string): Promise<Record<string, unknown>> {
  return (await app.inject({ method: 'GET', url: `/api/jobs/${id}` })).json() as Record<string, unknown>;
}

/** Poll the job until its player is no longer being converted. */
async function settled(app: FastifyInstance, id: string): Promise<Record<string, unknown>> {
  let job = await jobOf(app, id);
  for (let i = 0; i < 600 && job.playback === 'converting'; i++) {
    await new Promise((r) => setTimeout(r, 50));
    job = await jobOf(app, id);
  }
  return job;
}

test('server: 409 while the copy is made, then the copy (ranges too) until the TTL sweep removes it', async () => {
  const avi = mpeg4Avi();
  let release = () => {};
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const made: PlaybackPlan[] = [];
  const { app, queue, workDir } = await serverWith(async (src, dest, plan) => {
    made.push(plan);
    await gate;
    await convertForBrowser(src, dest, plan);
  });
  try {
    const posted = await uploadFile(app, avi, 'holiday.avi');
    assert.equal(posted.statusCode, 202, posted.body);
    const { id, playback } = posted.json() as { id: string; playback: string };
    assert.equal(playback, 'converting');
    assert.equal((await waitDone(app, id)).status, 'done'); // the analysis does not wait for the copy
    const early = await app.inject({ method: 'GET', url: `/api/jobs/${id}/video` });
    assert.equal(early.statusCode, 409);
    assert.equal(early.headers['retry-after'], '2');
    release();
    assert.equal((await settled(app, id)).playback, 'converted');
    assert.equal(made.length, 1);
    const uploads = join(workDir, 'uploads');
    const copy = readdirSync(uploads).filter((f) => f.endsWith('.avi.play.mp4'));
    assert.equal(copy.length, 1, readdirSync(uploads).join(', '));
    const v = await app.inject({ method: 'GET', url: `/api/jobs/${id}/video` });
    assert.equal(v.statusCode, 200);
    assert.equal(v.headers['content-type'], 'video/mp4');
    const bytes = await readFile(join(uploads, copy[0]));
    assert.deepEqual(v.rawPayload, bytes);
    const part = await app.inject({
      method: 'GET',
      url: `/api/jobs/${id}/video`,
      headers: { range: 'bytes=0-99' },
    });
    assert.equal(part.statusCode, 206);
    assert.deepEqual(part.rawPayload, bytes.subarray(0, 100));
    // an MP4 upload is served as it is: no copy
    const mp4 = await uploadFile(app, makeClip(dir, 'plain.mp4', 'green'), 'plain.mp4');
    assert.equal((mp4.json() as { playback: string }).playback, 'original');
    await waitDone(app, (mp4.json() as { id: string }).id);
    assert.equal(made.length, 1);
    // expired: the upload and its copy go together
    await queue.sweep(Date.now() + 2 * 60 * 60_000);
    assert.deepEqual(readdirSync(uploads), []);
  } finally {
    release();
    await app.close();
  }
});

test('server: a copy that cannot be made leaves the player on key frames (415), and the job says why', async () => {
  const avi = mpeg4Avi();
  const { app } = await serverWith(async () => {
    throw new Error('Unknown encoder libx264');
  });
  try {
    const { id } = (await uploadFile(app, avi, 'holiday.avi')).json() as { id: string };
    await waitDone(app, id);
    const job = await settled(app, id);
    assert.equal(job.playback, 'unplayable');
    assert.match(
      String(job.playbackNote),
      /cannot play this video and converting it failed: Unknown encoder/,
    );
    const v = await app.inject({ method: 'GET', url: `/api/jobs/${id}/video` });
    assert.equal(v.statusCode, 415);
    assert.match((v.json() as { message: string }).message, /converting it failed/);
  } finally {
    await app.close();
  }
  // without a converter (a server built for another use) the page is told at once
  const bare = await serverWith(undefined);
  try {
    const posted = (await uploadFile(bare.app, avi, 'holiday.avi')).json() as { playback: string };
    assert.equal(posted.playback, 'unplayable');
  } finally {
    await bare.app.close();
  }
});

test('oneAtATime: conversions run one after another, and a failed one does not stop the next', async () => {
  const log: string[] = [];
  const step = oneAtATime(async (name: string, fail: boolean) => {
    log.push(`start ${name}`);
    await new Promise((r) => setTimeout(r, 5));
    log.push(`end ${name}`);
    if (fail) throw new Error(name);
  });
  const runs = [step('a', false), step('b', true), step('c', false)];
  const settled = await Promise.allSettled(runs);
  assert.deepEqual(log, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  assert.deepEqual(
    settled.map((s) => s.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  );
});
