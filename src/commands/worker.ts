import type { Command } from 'commander';
import { DfanError } from '../errors.js';
import { numberOption } from './numbers.js';

const HELP = `
A worker takes jobs from the Redis queue and runs them with the same code as the local path:
extraction jobs (from \`dfan extract … --queue URL\`) write their feature file atomically into
the store the job names; prediction jobs (from \`dfan serve --queue URL\`) return the prediction
and report progress. Run one per machine (or several); they share the work.

Every worker must see the videos, the feature store, the uploads of \`dfan serve\` and any pack
or model file at the same paths as the machine that enqueued them (shared storage: NFS, a
mounted bucket …), and run the same dfan version. Details: docs/deploy.md.

Faults: a worker killed mid-job (SIGKILL, a lost machine) loses its job's lock; after
--lock-duration another worker takes the job back (stalled-job check every --stalled-interval).
A half-written file is never trusted (temp file + rename), a finished one never recomputed.
A broken video fails its job at once with the same error as locally. When Redis goes away the
worker says so and keeps retrying; work resumes when it is back.
SIGTERM (or Ctrl-C): no new jobs, the running ones finish (up to --grace seconds; after that, or
on a second signal, it exits and its jobs go to another worker).

Examples:
  $ dfan worker --queue redis://10.0.0.5:6379
  $ dfan worker --queue redis://10.0.0.5:6379 --concurrency 2 --pack research
  $ dfan worker --queue redis://127.0.0.1:6379 --only extract --pack my-pack.json`;

export function register(program: Command): void {
  program
    .command('worker')
    .description('take extraction and prediction jobs from a Redis queue (run on any number of machines)')
    .option('-q, --queue <url>', 'the Redis the jobs are on', 'redis://127.0.0.1:6379')
    .option(
      '-c, --concurrency <n>',
      'extraction jobs in flight in this process (decode of one overlaps inference of another)',
      numberOption('--concurrency', { min: 1 }),
      2,
    )
    .option(
      '-p, --pack <spec>',
      'load this pack at start (default | research | FILE); also overrides the pack of prediction jobs',
    )
    .option('--only <kind>', 'take only extract or only predict jobs (default: both)')
    .option(
      '--lock-duration <ms>',
      "job lock; a killed worker's job is taken back after this long",
      numberOption('--lock-duration', { min: 100 }),
      30_000,
    )
    .option(
      '--stalled-interval <ms>',
      'how often to look for jobs whose worker died',
      numberOption('--stalled-interval', { min: 100 }),
      30_000,
    )
    .option(
      '--grace <s>',
      'on SIGTERM, wait this long for running jobs before leaving them to other workers',
      numberOption('--grace', { min: 0 }),
      120,
    )
    .addHelpText('after', HELP)
    .action(workerCommand);
}

/** `dfan worker`: start the queue workers and run until a signal stops them. */
async function workerCommand(o: Record<string, unknown>): Promise<void> {
  const only = o.only as string | undefined;
  if (only && only !== 'extract' && only !== 'predict')
    throw new DfanError('BAD_ARGUMENT', `--only takes extract or predict (got "${only}")`);
  const { parseQueueUrl } = await import('../queue/connection.js');
  const { startQueueWorker } = await import('../queue/worker.js');
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const worker = await startQueueWorker({
    url: parseQueueUrl(o.queue as string),
    concurrency: o.concurrency as number,
    pack: o.pack as string | undefined,
    queues: only ? [only as 'extract' | 'predict'] : ['extract', 'predict'],
    tuning: {
      lockDuration: o.lockDuration as number,
      stalledInterval: o.stalledInterval as number,
    },
    log,
  });
  await untilStopped(worker, (o.grace as number) * 1000, log);
}

/**
 * Resolves once the worker closed after SIGINT / SIGTERM: running jobs finish (up to `graceMs`),
 * none start; a second signal, or the end of the grace period, leaves at once.
 */
function untilStopped(
  worker: { active(): number; close(): Promise<void> },
  graceMs: number,
  log: (s: string) => void,
): Promise<void> {
  return new Promise<void>((resolveStop) => {
    let signals = 0;
    const stop = (sig: string) => {
      signals++;
      if (signals > 1) {
        log(`dfan worker: ${sig} again: leaving at once (running jobs go to another worker)`);
        process.exit(sig === 'SIGINT' ? 130 : 143);
      }
      log(
        `dfan worker: ${sig}: finishing ${worker.active()} running job(s), taking no new ones ` +
          `(up to ${graceMs / 1000} s; ${sig} again to leave at once)`,
      );
      const timer = setTimeout(() => {
        log('dfan worker: grace period over: leaving (running jobs go to another worker)');
        process.exit(143);
      }, graceMs);
      timer.unref();
      void worker.close().finally(() => {
        clearTimeout(timer);
        log('dfan worker: stopped');
        resolveStop();
      });
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
}
