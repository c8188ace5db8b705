/**
 * POST /api/jobs: an upload becomes a job. The file is streamed to disk under a random name and
 * hashed on the way in (the cache key), checked with ffprobe (not by its extension), and queued;
 * a full queue answers 503 with Retry-After. When the browser cannot play the upload, a copy it
 * can play is made in the background (src/app/playback.ts).
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { MultipartFile } from '@fastify/multipart';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { describeError } from '../errors.js';
import { type Job, type JobQueue, newJobId, publicJob } from './jobs.js';
import type { Playback, PlaybackPlan } from './playback.js';
import type { ModelDescriptor } from './types.js';

/** What the upload route needs of the server (src/app/server.ts builds it). */
export interface UploadContext {
  queue: JobQueue;
  model: ModelDescriptor;
  uploadDir: string;
  maxUploadMB: number;
  maxBytes: number;
  /** seconds a client is told to wait when the queue is full */
  retryAfter: string;
  /** throws (message shown to the user) when the file is not a video; may say how it plays */
  checkVideo: (file: string) => Promise<PlaybackPlan | undefined>;
  /** makes a copy the browser plays (absent: the page shows key frames instead) */
  convert?: (src: string, dest: string, plan: PlaybackPlan) => Promise<void>;
}

/** Upload extensions kept on the stored file, with the type served when nothing better is known. */
const CONTENT_TYPES: Record<string, string> = {
  '.mp4': 'video/mp4',
  '.m4v': 'video/mp4',
  '.mov': 'video/quicktime',
  '.webm': 'video/webm',
  '.mkv': 'video/x-matroska',
  '.avi': 'video/x-msvideo',
  '.ogv': 'video/ogg',
};

/** Display name of an upload: the base name, printable ASCII-ish, bounded; never used as a path. */
export function safeDisplayName(name: string | undefined): string {
  const base = (name ?? 'upload').split(/[\\/]/).pop() ?? 'upload';
  const clean = base.replace(/[^\w.\- ()[\]+,]/g, '_').slice(0, 120);
  return clean.replace(/^\.+/, '') || 'upload';
}

type Refusal = { status: number; body: { error: string; message: string } };
const refusal = (status: number, error: string, message: string): Refusal => ({
  status,
  body: { error, message },
});
const tooLarge = (ctx: UploadContext) =>
  refusal(413, 'too large', `uploads are limited to ${ctx.maxUploadMB} MB`);

function busy(ctx: UploadContext, reply: FastifyReply) {
  return reply
    .code(503)
    .header('Retry-After', ctx.retryAfter)
    .send({
      error: 'queue full',
      message: `the server is busy; try again in ${ctx.retryAfter} s`,
      queue: ctx.queue.stats(),
    });
}

interface Received {
  id: string;
  name: string;
  ext: string;
  file: string;
  size: number;
  sha256: string;
}

/** Stream the part to a fresh file in the upload dir, hashing it; a refusal removes the file. */
async function receive(ctx: UploadContext, part: MultipartFile): Promise<Received | Refusal> {
  const id = newJobId();
  const name = safeDisplayName(part.filename);
  const ext = extname(name).toLowerCase();
  const file = join(ctx.uploadDir, `${id}${CONTENT_TYPES[ext] ? ext : '.bin'}`);
  const hash = createHash('sha256');
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
  });
  try {
    await pipeline(part.file, tap, createWriteStream(file, { flags: 'wx', mode: 0o600 }));
  } catch (e) {
    await rm(file, { force: true });
    if ((e as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE' || part.file.truncated)
      return tooLarge(ctx);
    throw e;
  }
  if (part.file.truncated || size === 0) {
    await rm(file, { force: true });
    return size === 0 ? refusal(400, 'empty', 'the uploaded file is empty') : tooLarge(ctx);
  }
  return { id, name, ext, file, size, sha256: hash.digest('hex') };
}

/**
 * The job's player: the upload when the browser plays it (or nothing says otherwise), else a
 * copy converted in the background beside the upload, else key frames only.
 */
function startPlayback(ctx: UploadContext, job: Job, plan: PlaybackPlan | undefined): Playback {
  if (!plan || plan.playable)
    return { state: 'original', file: job.file, contentType: plan?.contentType ?? job.contentType };
  if (!ctx.convert)
    return {
      state: 'unplayable',
      file: job.file,
      contentType: job.contentType,
      note: 'the browser cannot play this video',
    };
  const playback: Playback = { state: 'converting', file: `${job.file}.play.mp4`, contentType: 'video/mp4' };
  ctx.convert(job.file, playback.file, plan).then(
    async () => {
      playback.state = 'converted';
      // swept while converting: nothing will serve or remove the copy
      if (ctx.queue.jobs.get(job.id) !== job) await rm(playback.file, { force: true });
      else ctx.queue.emit('update', job);
    },
    (e) => {
      playback.state = 'unplayable';
      playback.note = `the browser cannot play this video and converting it failed: ${describeError(e).split(job.file).join(job.name)}`;
      ctx.queue.emit('update', job);
    },
  );
  return playback;
}

export function uploadRoute(ctx: UploadContext) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const { queue } = ctx;
    if (!queue.canAccept()) return busy(ctx, reply);
    if (Number(req.headers['content-length'] ?? 0) > ctx.maxBytes + 64 * 1024) {
      const r = tooLarge(ctx);
      return reply.code(r.status).send(r.body);
    }
    if (!req.isMultipart()) {
      return reply
        .code(415)
        .send({ error: 'unsupported', message: 'send the video as multipart/form-data (field "video")' });
    }
    const part = await req.file();
    if (!part)
      return reply.code(400).send({ error: 'no file', message: 'no file in the upload (field "video")' });
    const got = await receive(ctx, part);
    if ('status' in got) return reply.code(got.status).send(got.body);
    let plan: PlaybackPlan | undefined;
    try {
      plan = await ctx.checkVideo(got.file);
    } catch (e) {
      await rm(got.file, { force: true });
      return reply
        .code(415)
        .send({ error: 'not a video', message: describeError(e).replace(got.file, got.name) });
    }
    const key = `${got.sha256}:${ctx.model.name}`;
    const { result, job: inflight } = queue.lookup(key);
    if (inflight || (!result && !queue.canAccept())) {
      await rm(got.file, { force: true });
      return inflight ? reply.code(202).send(publicJob(inflight)) : busy(ctx, reply);
    }
    const job: Job = {
      id: got.id,
      status: 'queued',
      stage: 'queued',
      progress: 0,
      name: got.name,
      file: got.file,
      contentType: CONTENT_TYPES[got.ext] ?? 'video/mp4',
      size: got.size,
      hash: key,
      cached: false,
      createdAt: Date.now(),
    };
    job.playback = startPlayback(ctx, job, plan);
    queue.submit(job, result);
    return reply.code(job.status === 'done' ? 200 : 202).send(publicJob(job));
  };
}
