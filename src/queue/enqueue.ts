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
import { resolve } from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { DfanError } from '../errors.js';
import { peakRssOfThisProcess } from '../features/batch.js';
import {
  DEFAULT_K,
  DEFAULT_T,
  type ExtractAllOptions,
  type ExtractFailure,
  type ExtractItem,
  type ExtractSummary,
  configHash as makeConfigHash,
  resolvePack,
} from '../features/extract.js';
import { FeatureStore } from '../features/store.js';
import {
  checkRedis,
  connectionLogger,
  connectionOptions,
  EXTRACT_QUEUE,
  QUEUE_PREFIX,
  redisClient,
  safeUrl,
} from './connection.js';
import {
  EXTRACT_ATTEMPTS,
  type ExtractJobData,
  type ExtractJobResult,
  extractJobId,
  runIdFor,
  runKeys,
} from './contracts.js';

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

/** The pack id behind a spec (the config hash needs it); the default pack's without loading it. */
export async function packIdOf(spec: string, streams?: string[]): Promise<string> {
  if (spec === 'default') {
    const { DEFAULT_PACK_ID, resolveStreams } = await import('../backbones/default/pack.js');
    resolveStreams(streams); // throws for an unknown stream, as the local run does
    return DEFAULT_PACK_ID;
  }
  const { checkPackStreams } = await import('../features/extract.js');
  const pack = await resolvePack(spec, { streams });
  try {
    checkPackStreams(pack, streams);
    return pack.id;
  } finally {
    await pack.dispose();
  }
}

/** A pack spec every worker resolves the same way: files by absolute path, names as they are. */
export function sharedPackSpec(spec: string): string {
  return /[\\/]|\.(json|c?js|mjs)$/.test(spec) ? resolve(spec) : spec;
}

/** States of many jobs, 200 requests in flight at a time (ioredis pipelines them). */
async function statesOf(queue: Queue, ids: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let i = 0; i < ids.length; i += 200) {
    const chunk = ids.slice(i, i + 200);
    const states = await Promise.all(chunk.map((id) => queue.getJobState(id)));
    for (const [k, id] of chunk.entries()) out.set(id, states[k]);
  }
  return out;
}

const LIVE = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'wait', 'paused']);
const MAX_REQUEUES = 3;

export async function extractViaQueue(
  items: ExtractItem[],
  outDir: string,
  opts: QueueExtractOptions,
): Promise<QueueExtractSummary> {
  const t0 = performance.now();
  const log = opts.log ?? (() => {});
  const seen = new Set<string>();
  for (const it of items) {
    if (seen.has(it.key)) throw new DfanError('BAD_ARGUMENT', `the key "${it.key}" is listed twice`);
    seen.add(it.key);
  }
  await checkRedis(opts.url);
  const T = opts.T ?? DEFAULT_T;
  const K = opts.K ?? DEFAULT_K;
  const pack = sharedPackSpec(opts.pack);
  const packId = await packIdOf(pack, opts.streams);
  const hash = makeConfigHash(packId, { T, K, streams: opts.streams });
  const storeDir = resolve(outDir);
  const store = await FeatureStore.open(storeDir, { create: true });
  store.index.packId = packId;
  store.index.configHash = hash;
  store.index.T = T;
  store.index.K = K;
  const run = runIdFor(storeDir, hash);

  const failed: ExtractFailure[] = [];
  let done = 0;
  let skipped = 0;
  const todo: Array<{ id: string; item: ExtractItem & { path: string }; source: string }> = [];
  for (const it of items) {
    const source = it.source ?? it.path ?? it.key;
    if (!it.path) {
      failed.push({ key: it.key, path: null, error: 'video file not found' });
      store.markFailed(it.key, hash, 'video file not found', source);
      continue;
    }
    if (!opts.force && (await store.has(it.key, hash, { verify: opts.verifyExisting ?? true }))) {
      skipped++;
      const e = store.index.entries[it.key];
      if (e?.status !== 'done' || e.configHash !== hash) store.markDone(it.key, hash, source);
      continue;
    }
    todo.push({ id: extractJobId(storeDir, it.key, hash), item: { ...it, path: it.path }, source });
  }
  let flushing: Promise<void> = Promise.resolve();
  const flush = () => {
    flushing = flushing.then(() => store.flush()).catch(() => {});
    return flushing;
  };
  await flush();

  const connection = connectionOptions(opts.url);
  const queue = new Queue<ExtractJobData, ExtractJobResult>(EXTRACT_QUEUE, {
    connection,
    prefix: QUEUE_PREFIX,
  });
  const qlog = connectionLogger(opts.url, log, 'dfan extract');
  queue.on('error', qlog.onError);
  let events: QueueEvents | null = null;
  const byId = new Map(todo.map((t) => [t.id, t]));
  const pending = new Set<string>();
  const requeues = new Map<string, number>();
  const timings: ExtractSummary['timings'] = [];
  let enqueued = 0;
  let inFlight = 0;
  let interrupted = false;

  const dataOf = (t: (typeof todo)[number]): ExtractJobData => ({
    run,
    store: storeDir,
    key: t.item.key,
    path: resolve(t.item.path),
    source: t.source,
    pack,
    T,
    K,
    streams: opts.streams,
    configHash: hash,
    verify: opts.verifyExisting ?? true,
  });
  const jobOpts = (id: string) => ({
    jobId: id,
    attempts: EXTRACT_ATTEMPTS,
    backoff: { type: 'fixed' as const, delay: 1000 },
    // finished jobs are kept a while for `dfan queue status`; the feature files are the record
    removeOnComplete: { age: 7 * 24 * 3600, count: 100_000 },
    removeOnFail: { age: 7 * 24 * 3600, count: 100_000 },
  });
  const add = async (batch: Array<(typeof todo)[number]>) => {
    for (let i = 0; i < batch.length; i += 500) {
      const chunk = batch.slice(i, i + 500);
      await queue.addBulk(chunk.map((t) => ({ name: 'extract', data: dataOf(t), opts: jobOpts(t.id) })));
    }
  };

  try {
    if (!opts.detach) {
      // listen before adding: no completion can be missed (reconciliation covers the rest)
      events = new QueueEvents(EXTRACT_QUEUE, { connection, prefix: QUEUE_PREFIX });
      const elog = connectionLogger(opts.url, log, 'dfan extract');
      events.on('error', elog.onError);
      await events.waitUntilReady();
    }
    // dedup against what the queue already holds; a finished or failed job of a video that still
    // needs work (file deleted, --force, a failure to retry) is replaced
    const toAdd: typeof todo = [];
    const states = await statesOf(
      queue,
      todo.map((t) => t.id),
    );
    for (const t of todo) {
      const state = states.get(t.id) ?? 'unknown';
      if (LIVE.has(state) && !opts.force) inFlight++;
      else {
        if (state !== 'unknown') await queue.remove(t.id).catch(() => 0);
        toAdd.push(t);
      }
      pending.add(t.id);
    }
    await add(toAdd);
    enqueued = toAdd.length;
    const rk = runKeys(QUEUE_PREFIX, run);
    const client = await redisClient(opts.url);
    const info = {
      store: storeDir,
      packId,
      configHash: hash,
      T: String(T),
      K: String(K),
      total: String(items.length),
      skipped: String(skipped),
      updatedAt: new Date().toISOString(),
    };
    try {
      await client.hset(rk.info, info);
      await client.del(rk.jobs); // the run's jobs are those of its latest enqueue
      for (let i = 0; i < todo.length; i += 1000)
        await client.sadd(rk.jobs, ...todo.slice(i, i + 1000).map((t) => t.id));
      await client.zadd(rk.all, Date.now(), run);
    } finally {
      client.disconnect();
    }
    opts.onReady?.({ packId, configHash: hash, todo: todo.length, skipped });
    const progress = (key?: string, status?: 'done' | 'failed') =>
      opts.onProgress?.({ total: items.length, done, skipped, failed: failed.length, key, status });
    progress();
    if (opts.detach) {
      return summary(true);
    }

    let wake: () => void = () => {};
    const settleDone = (id: string, r?: ExtractJobResult) => {
      const t = byId.get(id);
      if (!t || !pending.delete(id)) return;
      done++;
      if (r?.timing) timings.push({ key: t.item.key, ...r.timing });
      store.markDone(t.item.key, hash, t.source);
      void flush();
      progress(t.item.key, 'done');
      wake();
    };
    const settleFailed = (id: string, reason: string) => {
      const t = byId.get(id);
      if (!t || !pending.delete(id)) return;
      failed.push({ key: t.item.key, path: t.item.path, error: reason });
      store.markFailed(t.item.key, hash, reason, t.source);
      void flush();
      progress(t.item.key, 'failed');
      wake();
    };
    events?.on('completed', ({ jobId, returnvalue }) => {
      qlog.onReady();
      settleDone(jobId, returnvalue as unknown as ExtractJobResult);
    });
    events?.on('failed', ({ jobId, failedReason }) => settleFailed(jobId, failedReason));

    const reconcile = async () => {
      const now = await statesOf(queue, [...pending]);
      for (const [id, state] of now) {
        if (state === 'completed') {
          const job = await queue.getJob(id);
          settleDone(id, job?.returnvalue);
        } else if (state === 'failed') {
          const job = await queue.getJob(id);
          settleFailed(id, job?.failedReason ?? 'failed');
        } else if (state === 'unknown') {
          // gone from Redis (restarted without persistence, or removed by hand)
          const t = byId.get(id);
          if (!t) continue;
          if (await store.has(t.item.key, hash, { verify: false })) {
            settleDone(id);
            continue;
          }
          const n = (requeues.get(id) ?? 0) + 1;
          requeues.set(id, n);
          if (n > MAX_REQUEUES) settleFailed(id, 'the job disappeared from the queue repeatedly');
          else await add([t]);
        }
      }
      qlog.onReady();
      // a run that waits for nobody should say so (once)
      if (!warnedNoWorker && pending.size > 0 && (await queue.getWorkersCount()) === 0) {
        warnedNoWorker = true;
        log(
          `dfan extract: no worker is connected; start \`dfan worker --queue ${safeUrl(opts.url)}\` on any machine`,
        );
      }
    };
    let warnedNoWorker = false;
    const every = opts.reconcileMs ?? 3000;
    while (pending.size > 0 && !opts.signal?.aborted) {
      await new Promise<void>((r) => {
        const timer = setTimeout(r, every);
        wake = () => {
          if (pending.size === 0) {
            clearTimeout(timer);
            r();
          }
        };
        opts.signal?.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            r();
          },
          { once: true },
        );
      });
      if (pending.size === 0 || opts.signal?.aborted) break;
      try {
        await reconcile();
      } catch (e) {
        qlog.onError(e);
      }
    }
    if (pending.size > 0) interrupted = true;
    return summary(false);
  } finally {
    await flushing;
    await flush();
    await events?.close().catch(() => {});
    await queue.close().catch(() => {});
  }

  function summary(detached: boolean): QueueExtractSummary {
    return {
      total: items.length,
      done,
      skipped,
      failed,
      packId,
      configHash: hash,
      interrupted,
      timings,
      peakRssMB: { main: peakRssOfThisProcess(), workers: [] },
      wallSeconds: (performance.now() - t0) / 1000,
      run,
      enqueued,
      inFlight,
      detached,
    };
  }
}
