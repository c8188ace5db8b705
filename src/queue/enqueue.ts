/**
 * The enqueue side of `dfan extract INPUT --out DIR --queue URL`: the same items, the same skip
 * rule (a valid file with the same config hash is never redone) and the same summary as the
 * local `extractAll`, but each remaining video becomes a BullMQ job that any worker may run.
 *
 * Idempotent: job ids come from (store, key, config hash), so re-running the command while jobs
 * are in flight adds nothing, and a finished video is skipped before any job is made. This
 * process owns DIR/index.json (workers only write feature files, atomically); with --detach the
 * index is brought up to date by the next run of the same command.
 *
 * Waiting is event-driven (QueueEvents) with a periodic reconciliation of the job states, which
 * also covers a Redis that went away and came back empty: a lost job is enqueued again (bounded).
 */
import { Queue, QueueEvents } from 'bullmq';
import { assertUniqueKeys, batchSummary, planBatch } from '../features/batch-plan.js';
import type { ExtractAllOptions, ExtractFailure, ExtractItem, ExtractSummary } from '../features/extract.js';
import type { FeatureStore } from '../features/store.js';
import {
  checkRedis,
  connectionLogger,
  connectionOptions,
  EXTRACT_QUEUE,
  QUEUE_PREFIX,
  safeUrl,
} from './connection.js';
import { type ExtractJobData, type ExtractJobResult, extractJobId } from './contracts.js';
import {
  addJobs,
  openRun,
  type QueuedVideo,
  type RunSpec,
  recordRun,
  sortAgainstQueue,
  statesOf,
} from './extract-jobs.js';

export interface QueueExtractOptions extends Omit<ExtractAllOptions, 'workers' | 'inflight'> {
  /** redis://HOST:PORT */
  url: string;
  /** enqueue and return without waiting */
  detach?: boolean;
  /** lost / back messages */
  log?: (s: string) => void;
  /** how often job states are reconciled with Redis while waiting (ms, default 3000) */
  reconcileMs?: number;
}

export interface QueueExtractSummary extends ExtractSummary {
  run: string;
  /** jobs added by this run */
  enqueued: number;
  /** videos already in flight (added by an earlier run) that this run waited for */
  inFlight: number;
  detached: boolean;
}

const MAX_REQUEUES = 3;

/**
 * One run of `dfan extract --queue`, from the enqueue to the last settled job: the tally, the
 * store's index (this process owns it) and the jobs still pending.
 */
class QueueRun {
  private readonly connection: Record<string, unknown>;
  private readonly queue: Queue<ExtractJobData, ExtractJobResult>;
  private events: QueueEvents | null = null;
  private readonly log: (s: string) => void;
  private readonly qlog: ReturnType<typeof connectionLogger>;
  private readonly byId: Map<string, QueuedVideo>;
  private readonly pending = new Set<string>();
  private readonly requeues = new Map<string, number>();
  private readonly failed: ExtractFailure[];
  private readonly skipped: number;
  private readonly timings: ExtractSummary['timings'] = [];
  private done = 0;
  private enqueued = 0;
  private inFlight = 0;
  private warnedNoWorker = false;
  private flushing: Promise<void> = Promise.resolve();
  /** ends the current wait early once nothing is pending */
  private wake: () => void = () => {};

  constructor(
    private readonly spec: RunSpec,
    private readonly store: FeatureStore,
    private readonly todo: QueuedVideo[],
    plan: { failed: ExtractFailure[]; skipped: number },
    private readonly total: number,
    private readonly opts: QueueExtractOptions,
    private readonly startedAt: number,
  ) {
    this.log = opts.log ?? (() => {});
    this.failed = plan.failed;
    this.skipped = plan.skipped;
    this.byId = new Map(todo.map((v) => [v.id, v]));
    this.connection = connectionOptions(opts.url);
    this.queue = new Queue<ExtractJobData, ExtractJobResult>(EXTRACT_QUEUE, {
      connection: this.connection,
      prefix: QUEUE_PREFIX,
    });
    this.qlog = connectionLogger(opts.url, this.log, 'dfan extract');
    this.queue.on('error', this.qlog.onError);
  }

  /** Writes the store's index, one write after the other. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.store.flush()).catch(() => {});
    return this.flushing;
  }

  progress(key?: string, status?: 'done' | 'failed'): void {
    const { total, done, skipped } = this;
    this.opts.onProgress?.({ total, done, skipped, failed: this.failed.length, key, status });
  }

  /** Opens the event stream before anything is added: no completion can be missed (reconcile covers the rest). */
  async listen(): Promise<void> {
    this.events = new QueueEvents(EXTRACT_QUEUE, { connection: this.connection, prefix: QUEUE_PREFIX });
    const elog = connectionLogger(this.opts.url, this.log, 'dfan extract');
    this.events.on('error', elog.onError);
    await this.events.waitUntilReady();
  }

  /** Settles jobs as their events arrive (after onReady, so progress starts from the first call). */
  follow(): void {
    this.events?.on('completed', ({ jobId, returnvalue }) => {
      this.qlog.onReady();
      this.settleDone(jobId, returnvalue as unknown as ExtractJobResult);
    });
    this.events?.on('failed', ({ jobId, failedReason }) => this.settleFailed(jobId, failedReason));
  }

  /** Adds the jobs the queue does not hold yet and records the run. */
  async enqueue(): Promise<void> {
    const { toAdd, inFlight } = await sortAgainstQueue(this.queue, this.todo, !!this.opts.force);
    for (const v of this.todo) this.pending.add(v.id);
    this.inFlight = inFlight;
    await addJobs(this.queue, this.spec, toAdd);
    this.enqueued = toAdd.length;
    await recordRun(this.opts.url, this.spec, this.todo, this.total, this.skipped);
  }

  private settleDone(id: string, r?: ExtractJobResult): void {
    const v = this.byId.get(id);
    if (!v || !this.pending.delete(id)) return;
    this.done++;
    if (r?.timing) this.timings.push({ key: v.key, ...r.timing });
    this.store.markDone(v.key, this.spec.configHash, v.source);
    void this.flush();
    this.progress(v.key, 'done');
    this.wake();
  }

  private settleFailed(id: string, reason: string): void {
    const v = this.byId.get(id);
    if (!v || !this.pending.delete(id)) return;
    this.failed.push({ key: v.key, path: v.path, error: reason });
    this.store.markFailed(v.key, this.spec.configHash, reason, v.source);
    void this.flush();
    this.progress(v.key, 'failed');
    this.wake();
  }

  /** A job gone from Redis (restarted without persistence, removed by hand): done, or added again (bounded). */
  private async recoverLost(id: string): Promise<void> {
    const v = this.byId.get(id);
    if (!v) return;
    if (await this.store.has(v.key, this.spec.configHash, { verify: false })) {
      this.settleDone(id);
      return;
    }
    const n = (this.requeues.get(id) ?? 0) + 1;
    this.requeues.set(id, n);
    if (n > MAX_REQUEUES) this.settleFailed(id, 'the job disappeared from the queue repeatedly');
    else await addJobs(this.queue, this.spec, [v]);
  }

  /** Asks Redis for the state of every pending job and settles what the events missed. */
  private async reconcile(): Promise<void> {
    const now = await statesOf(this.queue, [...this.pending]);
    for (const [id, state] of now) {
      if (state === 'completed') this.settleDone(id, (await this.queue.getJob(id))?.returnvalue);
      else if (state === 'failed')
        this.settleFailed(id, (await this.queue.getJob(id))?.failedReason ?? 'failed');
      else if (state === 'unknown') await this.recoverLost(id);
    }
    this.qlog.onReady();
    // a run that waits for nobody should say so (once)
    if (!this.warnedNoWorker && this.pending.size > 0 && (await this.queue.getWorkersCount()) === 0) {
      this.warnedNoWorker = true;
      this.log(
        `dfan extract: no worker is connected; start \`dfan worker --queue ${safeUrl(this.opts.url)}\` on any machine`,
      );
    }
  }

  /** Resolves after `ms`, or sooner once nothing is pending or the run is aborted. */
  private pause(ms: number): Promise<void> {
    const signal = this.opts.signal;
    return new Promise<void>((r) => {
      const timer = setTimeout(r, ms);
      this.wake = () => {
        if (this.pending.size === 0) {
          clearTimeout(timer);
          r();
        }
      };
      const onAbort = () => {
        clearTimeout(timer);
        r();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Waits for every pending job (events, with a reconciliation every `reconcileMs`) or an abort. */
  async waitAll(): Promise<void> {
    const every = this.opts.reconcileMs ?? 3000;
    while (this.pending.size > 0 && !this.opts.signal?.aborted) {
      await this.pause(every);
      if (this.pending.size === 0 || this.opts.signal?.aborted) break;
      try {
        await this.reconcile();
      } catch (e) {
        this.qlog.onError(e);
      }
    }
  }

  summary(detached: boolean): QueueExtractSummary {
    const tally = {
      total: this.total,
      done: this.done,
      skipped: this.skipped,
      failed: this.failed,
      packId: this.spec.packId,
      configHash: this.spec.configHash,
      interrupted: !detached && this.pending.size > 0,
      timings: this.timings,
    };
    const { run } = this.spec;
    return {
      ...batchSummary(tally, this.startedAt, []),
      run,
      enqueued: this.enqueued,
      inFlight: this.inFlight,
      detached,
    };
  }

  async close(): Promise<void> {
    await this.flushing;
    await this.flush();
    await this.events?.close().catch(() => {});
    await this.queue.close().catch(() => {});
  }
}

/**
 * Enqueues every video that needs work and (unless `detach`) waits for the workers to settle
 * them, keeping the store's index and the tally as the local `extractAll` does.
 */
export async function extractViaQueue(
  items: ExtractItem[],
  outDir: string,
  opts: QueueExtractOptions,
): Promise<QueueExtractSummary> {
  const startedAt = performance.now();
  assertUniqueKeys(items);
  await checkRedis(opts.url);
  const { spec, store } = await openRun(outDir, opts);
  const plan = await planBatch(items, store, spec.configHash, opts);
  const todo = plan.todo.map((v) => ({ ...v, id: extractJobId(spec.storeDir, v.key, spec.configHash) }));
  const run = new QueueRun(spec, store, todo, plan, items.length, opts, startedAt);
  await run.flush();
  try {
    if (!opts.detach) await run.listen();
    await run.enqueue();
    opts.onReady?.({
      packId: spec.packId,
      configHash: spec.configHash,
      todo: todo.length,
      skipped: plan.skipped,
    });
    run.progress();
    if (opts.detach) return run.summary(true);
    run.follow();
    await run.waitAll();
    return run.summary(false);
  } finally {
    await run.close();
  }
}
