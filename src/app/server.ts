/**
 * `dfan serve`: Fastify 5 server with a JSON API, server-sent progress and the static web page
 * (web/). Uploads are streamed to disk under random names, checked with ffprobe (not by their
 * extension), hashed on the way in (cache key), and queued; a full queue answers 503 with
 * Retry-After. Jobs, uploads and results expire after the TTL.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import multipart from '@fastify/multipart';
import Fastify, { type FastifyReply } from 'fastify';
import { describeError } from '../errors.js';
import { projectRoot } from '../version.js';
import { type Job, JobQueue, type JobRunner, newJobId, publicJob } from './jobs.js';
import type { ModelDescriptor } from './types.js';

export interface ServerOptions {
  runner: JobRunner;
  model: ModelDescriptor;
  /** check an upload is a real video; throws (message shown to the user) when not */
  checkVideo: (file: string) => Promise<void>;
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

export async function buildServer(opts: ServerOptions) {
  const maxBytes = Math.round((opts.maxUploadMB ?? 200) * 1024 * 1024);
  const ttlMs = (opts.ttlMinutes ?? 60) * 60_000;
  const concurrency = opts.concurrency ?? Math.max(1, cpus().length);
  const ownWorkDir = !opts.workDir;
  const workDir = opts.workDir ?? (await mkdtemp(join(tmpdir(), 'dfan-serve-')));
  const uploadDir = join(workDir, 'uploads');
  await mkdir(uploadDir, { recursive: true });
  const retryAfter = String(opts.retryAfter ?? 15);
  const queue = new JobQueue({
    runner: opts.runner,
    concurrency,
    maxQueued: opts.maxQueued ?? concurrency * 2,
    ttlMs,
    cache: opts.cache ?? true,
  });

  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: 1024 * 1024 });
  await app.register(multipart, { limits: { fileSize: maxBytes, files: 1, fields: 4, parts: 5 } });

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

  app.get('/api/info', async () => ({
    model: opts.model,
    limits: { maxUploadMB: maxBytes / 1024 / 1024, ttlMinutes: ttlMs / 60_000 },
    queue: queue.stats(),
  }));

  const busy = (reply: FastifyReply) =>
    reply
      .code(503)
      .header('Retry-After', retryAfter)
      .send({
        error: 'queue full',
        message: `the server is busy; try again in ${retryAfter} s`,
        queue: queue.stats(),
      });

  app.post('/api/jobs', async (req, reply) => {
    if (!queue.canAccept()) return busy(reply);
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > maxBytes + 64 * 1024) {
      return reply
        .code(413)
        .send({ error: 'too large', message: `uploads are limited to ${opts.maxUploadMB ?? 200} MB` });
    }
    if (!req.isMultipart()) {
      return reply
        .code(415)
        .send({ error: 'unsupported', message: 'send the video as multipart/form-data (field "video")' });
    }
    const part = await req.file();
    if (!part)
      return reply.code(400).send({ error: 'no file', message: 'no file in the upload (field "video")' });
    const id = newJobId();
    const name = safeDisplayName(part.filename);
    const ext = extname(name).toLowerCase();
    const dest = join(uploadDir, `${id}${CONTENT_TYPES[ext] ? ext : '.bin'}`);
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
      await pipeline(part.file, tap, createWriteStream(dest, { flags: 'wx', mode: 0o600 }));
    } catch (e) {
      await rm(dest, { force: true });
      const code = (e as { code?: string }).code;
      if (code === 'FST_REQ_FILE_TOO_LARGE' || part.file.truncated) {
        return reply
          .code(413)
          .send({ error: 'too large', message: `uploads are limited to ${opts.maxUploadMB ?? 200} MB` });
      }
      throw e;
    }
    if (part.file.truncated) {
      await rm(dest, { force: true });
      return reply
        .code(413)
        .send({ error: 'too large', message: `uploads are limited to ${opts.maxUploadMB ?? 200} MB` });
    }
    if (size === 0) {
      await rm(dest, { force: true });
      return reply.code(400).send({ error: 'empty', message: 'the uploaded file is empty' });
    }
    try {
      await opts.checkVideo(dest);
    } catch (e) {
      await rm(dest, { force: true });
      return reply.code(415).send({ error: 'not a video', message: describeError(e).replace(dest, name) });
    }
    const key = `${hash.digest('hex')}:${opts.model.name}`;
    const { result, job: inflight } = queue.lookup(key);
    if (inflight) {
      await rm(dest, { force: true });
      return reply.code(202).send(publicJob(inflight));
    }
    if (!result && !queue.canAccept()) {
      await rm(dest, { force: true });
      return busy(reply);
    }
    const job: Job = {
      id,
      status: 'queued',
      stage: 'queued',
      progress: 0,
      name,
      file: dest,
      contentType: CONTENT_TYPES[ext] ?? 'video/mp4',
      size,
      hash: key,
      cached: false,
      createdAt: Date.now(),
    };
    queue.submit(job, result);
    return reply.code(job.status === 'done' ? 200 : 202).send(publicJob(job));
  });

  const notFound = (reply: FastifyReply, id: string) =>
    reply.code(404).send({ error: 'not found', message: `no job ${id.slice(0, 40)} (it may have expired)` });

  app.get<{ Params: { id: string } }>('/api/jobs/:id', async (req, reply) => {
    const job = queue.get(req.params.id);
    if (!job) return notFound(reply, req.params.id);
    return publicJob(job);
  });

  app.get<{ Params: { id: string } }>('/api/jobs/:id/events', async (req, reply) => {
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
  });

  app.get<{ Params: { id: string } }>('/api/jobs/:id/video', async (req, reply) => {
    const job = queue.get(req.params.id);
    if (!job) return notFound(reply, req.params.id);
    const { size } = await stat(job.file);
    reply.header('Accept-Ranges', 'bytes').type(job.contentType);
    const range = /^bytes=(\d*)-(\d*)$/.exec(String(req.headers.range ?? ''));
    if (range && (range[1] || range[2])) {
      let start = range[1] ? Number(range[1]) : size - Number(range[2]);
      let end = range[1] && range[2] ? Number(range[2]) : size - 1;
      start = Math.max(0, start);
      end = Math.min(size - 1, end);
      if (start > end || start >= size) {
        return reply.code(416).header('Content-Range', `bytes */${size}`).send();
      }
      reply
        .code(206)
        .header('Content-Range', `bytes ${start}-${end}/${size}`)
        .header('Content-Length', end - start + 1);
      return reply.send(createReadStream(job.file, { start, end }));
    }
    reply.header('Content-Length', size);
    return reply.send(createReadStream(job.file));
  });

  app.get<{ Params: { id: string; frame: string }; Querystring: { overlay?: string } }>(
    '/api/jobs/:id/frames/:frame',
    async (req, reply) => {
      const job = queue.get(req.params.id);
      if (!job) return notFound(reply, req.params.id);
      const m = /^(\d{1,4})\.(jpg|png)$/.exec(req.params.frame);
      if (!m || !opts.frame)
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
      const body = await opts.frame(job.file, (s.start + s.end) / 2, format, overlay?.grid, overlay?.region);
      return reply
        .type(format === 'png' ? 'image/png' : 'image/jpeg')
        .header('Cache-Control', 'max-age=3600')
        .send(body);
    },
  );

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
