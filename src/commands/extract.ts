import type { Command } from 'commander';
import { DfanError } from '../errors.js';
import type { ExtractItem, ExtractSummary } from '../features/extract.js';
import type { ProgressReporter } from '../features/progress.js';
import type { QueueExtractSummary } from '../queue/enqueue.js';
import { endOfBatch, writeFailures } from './batch-end.js';
import { parseList } from './lists.js';
import { numberOption } from './numbers.js';

const EXAMPLES = `
INPUT is one video, a folder (searched recursively for .mp4 .wmv .flv .avi .mkv .webm .mov .3gp;
keys are the paths relative to the folder) or a dataset manifest CSV with the header
video,label,split (paths relative to the CSV; keys are the video column as written).

Each video becomes one safetensors file in DIR (readable from Python, see docs/features.md),
listed in DIR/index.json. Re-running the same command resumes: videos whose file is valid and
was made with the same pack, T and K are skipped, never recomputed; truncated or foreign files
are re-extracted. A broken video is reported and skipped; the run ends with the list of
failures and a non-zero exit code if there were any.

Examples:
  $ dfan extract clip.mp4 --out feats
  $ dfan extract videos/ --out feats --workers 2
  $ dfan extract ve8.csv --out feats/ve8 -T 16 --pack research
  $ dfan extract videos/ --out feats --streams object,face     keep only two streams
  $ dfan extract videos/ --out feats --force                   recompute everything
  $ dfan extract videos/ --out /shared/feats --queue redis://10.0.0.5:6379
        one job per video on a Redis queue, run by \`dfan worker\` on any number of machines
        (videos and DIR on storage every worker reaches, same paths; see docs/deploy.md)
  $ dfan extract videos/ --out /shared/feats --queue redis://10.0.0.5:6379 --detach
        enqueue and return; \`dfan queue status --queue redis://10.0.0.5:6379\` shows the run
  $ dfan features inspect feats/clip-1a2b3c4d5e6f.safetensors`;

interface ExtractCliOptions {
  out: string;
  pack: string;
  T: number;
  K: number;
  workers?: number;
  inflight?: number;
  force?: boolean;
  streams?: string;
  verify: boolean;
  progress: boolean;
  queue?: string;
  detach?: boolean;
}

export function register(program: Command): void {
  program
    .command('extract')
    .description('run the frozen backbones over videos and store one feature file per video (resumable)')
    .argument('<input>', 'a video, a folder of videos, or a video,label,split CSV manifest')
    .requiredOption('-o, --out <dir>', 'feature folder (created if needed)')
    .option(
      '-p, --pack <pack>',
      'backbone pack: default | research | a pack JSON file | a pack JS module',
      'default',
    )
    .option('-T, --snippets <T>', 'snippets per video', numberOption('-T', { min: 1 }), 16)
    .option(
      '-K, --clip <K>',
      'clip frames per snippet (for motion / clip backbones)',
      numberOption('-K', { min: 1 }),
      8,
    )
    .option(
      '-w, --workers <n>',
      'worker processes, each loading the pack once (0 = in this process)',
      numberOption('--workers', { min: 0 }),
      0,
    )
    .option(
      '--inflight <n>',
      'videos in flight per worker (or in this process), so decoding overlaps inference',
      numberOption('--inflight', { min: 1 }),
      2,
    )
    .option('-f, --force', 'recompute videos whose feature file is already valid')
    .option('-s, --streams <list>', 'keep only these streams, comma-separated (e.g. object,face)')
    .option(
      '--no-verify',
      'skip the sha256 check of existing files when resuming (header and size are still checked)',
    )
    .option('--no-progress', 'no progress bar (one line per video instead)')
    .option(
      '-q, --queue <url>',
      'enqueue one job per video on this Redis (redis://HOST:PORT) for `dfan worker`s, and wait for them',
    )
    .option('--detach', 'with --queue: enqueue and return at once (see `dfan queue status`)')
    .addHelpText('after', EXAMPLES)
    .action(async (input: string, o: Record<string, unknown>) => runExtract(input, extractOptions(o)));
}

/** Commander's options as ExtractCliOptions, with the combinations that make no sense refused. */
function extractOptions(o: Record<string, unknown>): ExtractCliOptions {
  const opts: ExtractCliOptions = {
    out: o.out as string,
    pack: o.pack as string,
    T: o.snippets as number,
    K: o.clip as number,
    workers: o.workers as number | undefined,
    inflight: o.inflight as number | undefined,
    force: o.force as boolean | undefined,
    streams: o.streams as string | undefined,
    verify: o.verify as boolean,
    progress: o.progress as boolean,
    queue: o.queue as string | undefined,
    detach: o.detach as boolean | undefined,
  };
  if (opts.detach && !opts.queue)
    throw new DfanError('BAD_ARGUMENT', '--detach needs --queue redis://HOST:PORT');
  if (opts.queue && opts.workers) {
    throw new DfanError(
      'BAD_ARGUMENT',
      '--workers is for local runs; with --queue start `dfan worker`s instead',
    );
  }
  return opts;
}

/** `--streams`: undefined when absent, else at least one name. */
function streamsOption(v: string | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  const streams = parseList(v);
  if (streams.length === 0) throw new DfanError('BAD_ARGUMENT', '--streams needs at least one stream name');
  return streams;
}

/** The first Ctrl-C asks the run to stop after the videos in progress; the second quits at once. */
function stopOnSigint(reporter: ProgressReporter): { signal: AbortSignal; release: () => void } {
  const ac = new AbortController();
  let sigints = 0;
  const onSigint = () => {
    sigints++;
    if (sigints > 1) process.exit(130);
    ac.abort();
    reporter.note(
      'stopping after the videos in progress (Ctrl-C again to quit at once; finished files are kept)',
    );
  };
  process.on('SIGINT', onSigint);
  return { signal: ac.signal, release: () => process.off('SIGINT', onSigint) };
}

/** What both ways of extracting share: the items, the options and the progress display. */
interface ExtractRun {
  items: ExtractItem[];
  kind: string;
  o: ExtractCliOptions;
  streams: string[] | undefined;
  signal: AbortSignal;
  reporter: ProgressReporter;
}

async function extractHere(r: ExtractRun): Promise<ExtractSummary> {
  const { extractAll } = await import('../features/extract.js');
  const { o } = r;
  return extractAll(r.items, o.out, {
    pack: o.pack,
    T: o.T,
    K: o.K,
    streams: r.streams,
    workers: o.workers,
    inflight: o.inflight,
    force: o.force,
    verifyExisting: o.verify,
    signal: r.signal,
    onReady: (p) =>
      r.reporter.start(
        r.items.length,
        p.todo,
        p.skipped,
        `${r.kind} · pack ${p.packId} · T=${o.T} K=${o.K} → ${o.out}`,
      ),
    onProgress: (p) => r.reporter.update(p),
  });
}

async function extractQueued(r: ExtractRun, url: string): Promise<QueueExtractSummary> {
  const { parseQueueUrl, safeUrl } = await import('../queue/connection.js');
  const { extractViaQueue } = await import('../queue/enqueue.js');
  const { o } = r;
  const title = (packId: string) =>
    `${r.kind} · pack ${packId} · T=${o.T} K=${o.K} → ${o.out} · queue ${safeUrl(url)}`;
  return extractViaQueue(r.items, o.out, {
    url: parseQueueUrl(url),
    detach: o.detach,
    pack: o.pack,
    T: o.T,
    K: o.K,
    streams: r.streams,
    force: o.force,
    verifyExisting: o.verify,
    signal: r.signal,
    log: (s) => r.reporter.note(s),
    onReady: (p) => r.reporter.start(r.items.length, p.todo, p.skipped, title(p.packId)),
    onProgress: (p) => r.reporter.update(p),
  });
}

async function runExtract(input: string, o: ExtractCliOptions): Promise<void> {
  const { resolveInput } = await import('../features/inputs.js');
  const { ProgressReporter } = await import('../features/progress.js');
  const streams = streamsOption(o.streams);
  const { items, kind } = resolveInput(input);
  const reporter = new ProgressReporter(process.stderr, { bar: o.progress });
  await reporter.init();
  const { signal, release } = stopOnSigint(reporter);
  const run: ExtractRun = { items, kind, o, streams, signal, reporter };
  let summary: ExtractSummary;
  let queued: QueueExtractSummary | null = null;
  try {
    if (o.queue) summary = queued = await extractQueued(run, o.queue);
    else summary = await extractHere(run);
  } finally {
    release();
    reporter.stop();
  }
  if (queued && (await reportQueued(queued, o.queue ?? ''))) return;
  reportSummary(summary, o.out, queued !== null);
}

/** The queue's part of the report; true when the run was detached and nothing more is to say. */
async function reportQueued(queued: QueueExtractSummary, url: string): Promise<boolean> {
  const { safeUrl } = await import('../queue/connection.js');
  const err = process.stderr;
  err.write(
    `run ${queued.run}: ${queued.enqueued} job(s) enqueued, ${queued.inFlight} already in flight, ` +
      `${queued.skipped} video(s) already done\n`,
  );
  if (!queued.detached) return false;
  err.write(`detached: watch it with \`dfan queue status ${queued.run} --queue ${safeUrl(url)}\`\n`);
  return queued.failed.length === 0;
}

/** The closing lines and the failures; throws INTERRUPTED or SOME_FAILED for the exit code. */
function reportSummary(summary: ExtractSummary, out: string, queued: boolean): void {
  const err = process.stderr;
  err.write(
    `extracted ${summary.done}, skipped ${summary.skipped} (already done), failed ${summary.failed.length} ` +
      `of ${summary.total} in ${summary.wallSeconds.toFixed(1)} s → ${out}\n`,
  );
  writeFailures(summary);
  endOfBatch(
    summary,
    {
      interrupted: queued
        ? 'the jobs stay queued and the workers go on; run the same command again to wait for them'
        : 'run the same command again to resume; finished videos are kept',
      failed: 'fix or remove them and run the same command again: finished videos are kept',
    },
    'extraction',
  );
}
