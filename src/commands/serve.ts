import type { Command } from 'commander';
import type { RemoteRunner } from '../app/serve.js';
import { DfanError } from '../errors.js';
import { parseNumber, parseOptionalNumber } from './numbers.js';

interface ServeOpts {
  port: string;
  host: string;
  model: string;
  maxUploadMb: string;
  ttlMinutes: string;
  concurrency?: string;
  maxQueued?: string;
  workers?: string;
  cache: boolean;
  pack?: string;
  workDir?: string;
  queue?: string;
}

/** `--queue URL`: the jobs go to `dfan worker`s through Redis (src/queue/predict.ts). */
async function queueRunner(queue: string, opts: ServeOpts, log: (s: string) => void): Promise<RemoteRunner> {
  const url = (await import('../queue/connection.js')).parseQueueUrl(queue);
  const { queuePredictRunner } = await import('../queue/predict.js');
  const q = await queuePredictRunner({ url, model: opts.model, pack: opts.pack, log });
  return { ...q, describe: `jobs go to the queue at ${url} (run \`dfan worker --queue ${url}\`)` };
}

async function serveAction(opts: ServeOpts): Promise<void> {
  const port = parseNumber('--port', opts.port, { min: 0, max: 65535 });
  const maxUploadMB = parseNumber('--max-upload-mb', opts.maxUploadMb, {
    min: 0.001,
    max: 100_000,
    integer: false,
  });
  const ttlMinutes = parseNumber('--ttl-minutes', opts.ttlMinutes, {
    min: 0.01,
    max: 100_000,
    integer: false,
  });
  const concurrency = parseOptionalNumber('--concurrency', opts.concurrency, { min: 1, max: 64 });
  const maxQueued = parseOptionalNumber('--max-queued', opts.maxQueued, { min: 0, max: 10_000 });
  const workers = parseOptionalNumber('--workers', opts.workers, { min: 0, max: 64 });
  if (opts.queue && workers !== undefined) {
    throw new DfanError(
      'BAD_ARGUMENT',
      '--workers is for local jobs; with --queue start `dfan worker`s instead',
    );
  }
  const { startServer } = await import('../app/serve.js');
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const server = await startServer({
    host: opts.host,
    port,
    model: opts.model,
    pack: opts.pack,
    maxUploadMB,
    ttlMinutes,
    concurrency,
    maxQueued,
    workers,
    cache: opts.cache,
    workDir: opts.workDir,
    remote: opts.queue ? await queueRunner(opts.queue, opts, log) : undefined,
    log,
  });
  process.stdout.write(
    `dfan serve: ${server.url}  (model: ${server.model.name}, ${server.model.kind}; Ctrl-C to stop)\n`,
  );
  await new Promise<void>((resolveStop) => {
    const stop = () => {
      process.stderr.write('dfan serve: stopping…\n');
      void server.close().finally(resolveStop);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

export function register(program: Command): void {
  program
    .command('serve')
    .description(
      'web page + JSON API: upload a video, watch the emotion, the temporal strip and the spatial heatmap',
    )
    .option('--port <n>', 'port', '8080')
    .option(
      '--host <addr>',
      'interface to listen on (loopback by default; 0.0.0.0 exposes it to the network)',
      '127.0.0.1',
    )
    .option(
      '--model <run|default>',
      'a trained DFAN run folder, or "default" (zero-shot face-expression model)',
      'default',
    )
    .option('--max-upload-mb <n>', 'largest upload accepted (413 above)', '200')
    .option(
      '--ttl-minutes <n>',
      'uploads, jobs and cached results are deleted this long after they finish',
      '60',
    )
    .option('--concurrency <n>', 'jobs at a time (default: one per core)')
    .option(
      '--max-queued <n>',
      'jobs allowed to wait; beyond that uploads get 503 + Retry-After (default: 2 per core)',
    )
    .option(
      '--workers <n>',
      'warm worker processes that run the jobs (default: one per job slot; 0 = in the server process)',
    )
    .option('--no-cache', 'do not reuse results of identical uploads (content hash)')
    .option('--pack <spec>', 'feature pack override (pack JSON or module)')
    .option('--work-dir <dir>', 'where uploads are kept (default: a fresh temp dir, removed on exit)')
    .option(
      '-q, --queue <url>',
      'hand the jobs to `dfan worker`s through this Redis (redis://HOST:PORT) instead of running them here',
    )
    .addHelpText(
      'after',
      `
API (JSON; details in docs/predict.md):
  POST /api/jobs                 multipart field "video" → 202 {id,status} (200 when cached)
  GET  /api/jobs/:id             status, progress and, when done, the prediction
  GET  /api/jobs/:id/events      server-sent progress events (progress, done, error)
  GET  /api/jobs/:id/video       the uploaded video (range requests)
  GET  /api/jobs/:id/frames/:i.jpg|png[?overlay=face]   key frame of snippet i
  GET  /api/info                 model name and kind, limits, queue

Examples:
  $ dfan serve                           http://127.0.0.1:8080
  $ dfan serve --port 9000 --model runs/ek6-dual
  $ dfan serve --host 0.0.0.0 --max-upload-mb 50 --ttl-minutes 10
  $ dfan serve --queue redis://10.0.0.5:6379 --work-dir /shared/uploads
        uploads become jobs for \`dfan worker\`s (any number, any machine that sees /shared/uploads);
        several servers may share the queue (docs/deploy.md)`,
    )
    .action(serveAction);
}
