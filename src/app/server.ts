/**
 * `dfan serve`: Fastify 5 server with a JSON API, server-sent progress and the static web page
 * (web/). Uploads become jobs (src/app/upload.ts); the queue runs them a few at a time; jobs,
 * uploads and results expire after the TTL. Each route is a named handler below.
 */
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import multipart from '@fastify/multipart';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { describeError } from '../errors.js';
import { projectRoot } from '../version.js';
import { type Job, JobQueue, type JobRunner, publicJob } from './jobs.js';
import type { Playback } from './playback.js';
import type { ModelDescriptor } from './types.js';
import { type UploadContext, uploadRoute } from './upload.js';

export interface ServerOptions extends Pick<UploadContext, 'checkVideo' | 'convert'> {
  runner: JobRunner;
  model: ModelDescriptor;
  /** a frame of the video at `time` as jpg/png, optionally with a spatial grid overlaid */
  frame?: (
    file: string,
    time: number,
    format: 'jpg' | 'png',
    grid?: number[][],
    region?: [number, number, number, number],
  ) => Promise<Buffer>;
  maxUploadMB?: number;
  ttlMinutes?: number;
  concurrency?: number;
  maxQueued?: number;
  cache?: boolean;
  /** where uploads go (default: a fresh temp dir, removed on close) */
  workDir?: string;
  /** seconds a client is told to wait when the queue is full */
  retryAfter?: number;
  logger?: boolean;
}

type IdRequest = FastifyRequest<{ Params: { id: string } }>;

const notFound = (reply: FastifyReply, id: string) =>
  reply.code(404).send({ error: 'not found', message: `no job ${id.slice(0, 40)} (it may have expired)` });

/** The page (web/): read once at start, served with the security headers of every answer. */
async function registerPage(app: FastifyInstance): Promise<void> {
  const webDir = join(projectRoot(), 'web');
  const statics: Record<string, { type: string; body: Buffer }> = {};
  for (const [file, type, path] of [
    ['index.html', 'text/html; charset=utf-8', join(webDir, 'index.html')],
    ['app.js', 'text/javascript; charset=utf-8', join(webDir, 'app.js')],
    ['style.css', 'text/css; charset=utf-8', join(webDir, 'style.css')],
    // the colour ramp of the reports, as compiled (it imports nothing): the page colours the same
    [
      'ramp.js',
      'text/javascript; charset=utf-8',
      fileURLToPath(new URL('../render/ramp.js', import.meta.url)),
    ],
  ] as const) {
    statics[file] = { type, body: await readFile(path) };
  }
  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('Referrer-Policy', 'no-referrer');
    reply.header(
      'Content-Security-Policy',
      "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self'; script-src 'self'; connect-src 'self'",
    );
    return payload;
  });
  const sendStatic = (file: string) => async (_req: unknown, reply: FastifyReply) =>
    reply.type(statics[file].type).header('Cache-Control', 'no-cache').send(statics[file].body);
  app.get('/', sendStatic('index.html'));
  app.get('/index.html', sendStatic('index.html'));
  app.get('/app.js', sendStatic('app.js'));
  app.get('/style.css', sendStatic('style.css'));
  app.get('/ramp.js', sendStatic('ramp.js'));
}

/** GET /api/jobs/:id/events: the job as server-sent events until it is done or failed. */
function eventsRoute(queue: JobQueue) {
  return async (req: IdRequest, reply: FastifyReply) => {
    const job = queue.get(req.params.id);
    if (!job) return notFound(reply, req.params.id);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    const send = (j: Job) => {
      const ev = j.status === 'done' || j.status === 'error' ? j.status : 'progress';
      res.write(`event: ${ev}\ndata: ${JSON.stringify(publicJob(j))}\n\n`);
      if (ev !== 'progress') finish();
    };
    const onUpdate = (j: Job) => {
      if (j.id === job.id) send(j);
    };
    const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
    let closed = false;
    const finish = () => {
      if (closed) return;
      closed = true;
      clearInterval(ping);
      queue.off('update', onUpdate);
      res.end();
    };
    queue.on('update', onUpdate);
    req.raw.on('close', finish);
    send(job);
  };
}

/** The bytes a `Range: bytes=a-b` header asks of a file of `size` bytes; null = the whole file (pure). */
export function byteRange(header: string | undefined, size: number): { start: number; end: number } | null {
  const range = /^bytes=(\d*)-(\d*)$/.exec(String(header ?? ''));
  if (!range || !(range[1] || range[2])) return null;
  const start = Math.max(0, range[1] ? Number(range[1]) : size - Number(range[2]));
  const end = Math.min(size - 1, range[1] && range[2] ? Number(range[2]) : size - 1);
  return { start, end };
}

/**
 * GET /api/jobs/:id/video: what the player plays (src/app/playback.ts), with range requests.
 * 409 while a copy the browser plays is being made, 415 when there is none (key frames instead).
 */
function videoRoute(queue: JobQueue) {
  return async (req: IdRequest, reply: FastifyReply) => {
    const job = queue.get(req.params.id);
    if (!job) return notFound(reply, req.params.id);
    const play: Playback = job.playback ?? {
      state: 'original',
      file: job.file,
      contentType: job.contentType,
    };
    if (play.state === 'converting')
      return reply.code(409).header('Retry-After', '2').send({
        error: 'converting',
        message: 'the video is being converted for the browser; its key frames are shown meanwhile',
      });
    if (play.state === 'unplayable')
      return reply
        .code(415)
        .send({ error: 'unplayable', message: play.note ?? 'the browser cannot play this video' });
    const { size } = await stat(play.file);
    reply.header('Accept-Ranges', 'bytes').type(play.contentType);
    const range = byteRange(req.headers.range, size);
    if (!range) return reply.header('Content-Length', size).send(createReadStream(play.file));
    if (range.start > range.end || range.start >= size)
      return reply.code(416).header('Content-Range', `bytes */${size}`).send();
    return reply
      .code(206)
      .header('Content-Range', `bytes ${range.start}-${range.end}/${size}`)
      .header('Content-Length', range.end - range.start + 1)
      .send(createReadStream(play.file, range));
  };
}

type FrameRequest = FastifyRequest<{
  Params: { id: string; frame: string };
  Querystring: { overlay?: string };
}>;

/** GET /api/jobs/:id/frames/:i.jpg|png[?overlay=stream]: the key frame of snippet i. */
function framesRoute(queue: JobQueue, frame: ServerOptions['frame']) {
  return async (req: FrameRequest, reply: FastifyReply) => {
    const job = queue.get(req.params.id);
    if (!job) return notFound(reply, req.params.id);
    const m = /^(\d{1,4})\.(jpg|png)$/.exec(req.params.frame);
    if (!m || !frame)
      return reply.code(404).send({ error: 'not found', message: 'frames are /frames/<snippet>.jpg|png' });
    if (!job.result)
      return reply.code(409).send({ error: 'not ready', message: 'the job has no result yet' });
    const i = Number(m[1]);
    const grids = Object.entries(job.result.spatial);
    const index = grids[0]?.[1].findIndex((g) => g.snippet === i) ?? -1;
    const pos = index >= 0 ? index : i;
    const s = job.result.snippets[pos];
    if (!s) return reply.code(404).send({ error: 'not found', message: `no snippet ${i}` });
    const overlay = req.query.overlay ? job.result.spatial[req.query.overlay]?.[pos] : undefined;
    if (req.query.overlay && !overlay)
      return reply.code(404).send({ error: 'not found', message: `no stream ${req.query.overlay}` });
    const format = overlay ? 'png' : (m[2] as 'jpg' | 'png');
    const body = await frame(job.file, (s.start + s.end) / 2, format, overlay?.grid, overlay?.region);
    return reply
      .type(format === 'png' ? 'image/png' : 'image/jpeg')
      .header('Cache-Control', 'max-age=3600')
      .send(body);
  };
}

export async function buildServer(opts: ServerOptions) {
  const maxUploadMB = opts.maxUploadMB ?? 200;
  const ttlMs = (opts.ttlMinutes ?? 60) * 60_000;
  const concurrency = opts.concurrency ?? Math.max(1, cpus().length);
  const ownWorkDir = !opts.workDir;
  const workDir = opts.workDir ?? (await mkdtemp(join(tmpdir(), 'dfan-serve-')));
  const uploadDir = join(workDir, 'uploads');
  await mkdir(uploadDir, { recursive: true });
  const queue = new JobQueue({
    runner: opts.runner,
    concurrency,
    maxQueued: opts.maxQueued ?? concurrency * 2,
    ttlMs,
    cache: opts.cache ?? true,
  });
  const upload: UploadContext = {
    queue,
    model: opts.model,
    uploadDir,
    maxUploadMB,
    maxBytes: Math.round(maxUploadMB * 1024 * 1024),
    retryAfter: String(opts.retryAfter ?? 15),
    checkVideo: opts.checkVideo,
    convert: opts.convert,
  };

  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: 1024 * 1024 });
  await app.register(multipart, { limits: { fileSize: upload.maxBytes, files: 1, fields: 4, parts: 5 } });
  await registerPage(app);
  app.get('/api/info', async () => ({
    model: opts.model,
    limits: { maxUploadMB: upload.maxBytes / 1024 / 1024, ttlMinutes: ttlMs / 60_000 },
    queue: queue.stats(),
  }));
  app.post('/api/jobs', uploadRoute(upload));
  app.get('/api/jobs/:id', async (req: IdRequest, reply) => {
    const job = queue.get(req.params.id);
    return job ? publicJob(job) : notFound(reply, req.params.id);
  });
  app.get('/api/jobs/:id/events', eventsRoute(queue));
  app.get('/api/jobs/:id/video', videoRoute(queue));
  app.get('/api/jobs/:id/frames/:frame', framesRoute(queue, opts.frame));
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({ error: 'not found', message: `no route ${req.method} ${req.url.slice(0, 80)}` });
  });
  app.setErrorHandler((err, _req, reply) => {
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    reply
      .code(status >= 400 && status < 600 ? status : 500)
      .send({ error: 'error', message: describeError(err) });
  });

  const timer = setInterval(() => void queue.sweep(), Math.min(ttlMs, 60_000));
  timer.unref();
  app.addHook('onClose', async () => {
    clearInterval(timer);
    // let running jobs finish (bounded: a stuck job must not block shutdown)
    await Promise.race([queue.idle(), new Promise((r) => setTimeout(r, 30_000).unref())]);
    if (ownWorkDir) await rm(workDir, { recursive: true, force: true });
  });
  return { app, queue, workDir };
}

export type DfanServer = Awaited<ReturnType<typeof buildServer>>['app'];
