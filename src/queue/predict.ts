/**
 * The serve side of `dfan serve --queue URL`: a JobRunner (src/app/jobs.ts) that hands each upload
 * to the predict queue and resolves with the prediction a `dfan worker` returns; the worker's
 * progress comes back through QueueEvents and feeds the server's SSE stream unchanged. Several
 * servers can share one queue: each listens for its own job ids.
 */
import { Queue, QueueEvents } from 'bullmq';
import type { JobRunner } from '../app/jobs.js';
import type { Prediction, ProgressFn } from '../app/types.js';
import {
  checkRedis,
  connectionLogger,
  connectionOptions,
  PREDICT_QUEUE,
  QUEUE_PREFIX,
} from './connection.js';
import {
  type JobProgress,
  PREDICT_ATTEMPTS,
  type PredictJobData,
  type PredictJobResult,
} from './contracts.js';

interface Waiter {
  resolve: (p: Prediction) => void;
  reject: (e: Error) => void;
  onProgress: ProgressFn;
}

export interface QueueRunner {
  runner: JobRunner;
  close(): Promise<void>;
}

export interface QueuePredictOptions {
  url: string;
  model: string;
  pack?: string;
  log?: (s: string) => void;
  /** reconciliation of job states while waiting (ms, default 2000) */
  reconcileMs?: number;
}

/** The uploads waiting for their prediction, by job id; each is settled once. */
class Waiters {
  private readonly byId = new Map<string, Waiter>();

  add(id: string, onProgress: ProgressFn): Promise<Prediction> {
    return new Promise<Prediction>((resolve, reject) => this.byId.set(id, { resolve, reject, onProgress }));
  }

  ids(): string[] {
    return [...this.byId.keys()];
  }

  progress(id: string, p: JobProgress): void {
    this.byId.get(id)?.onProgress(p.stage, p.fraction);
  }

  resolve(id: string, p: Prediction): void {
    this.take(id)?.resolve(p);
  }

  reject(id: string, message: string): void {
    this.take(id)?.reject(new Error(message));
  }

  forget(id: string): void {
    this.byId.delete(id);
  }

  private take(id: string): Waiter | undefined {
    const w = this.byId.get(id);
    this.byId.delete(id);
    return w;
  }
}

/** Settles the waiters whose job finished or vanished without an event reaching us. */
async function reconcile(queue: Queue<PredictJobData, PredictJobResult>, waiters: Waiters): Promise<void> {
  for (const id of waiters.ids()) {
    const state = await queue.getJobState(id);
    if (state === 'completed' || state === 'failed') {
      const job = await queue.getJob(id);
      if (state === 'completed' && job) waiters.resolve(id, job.returnvalue);
      else waiters.reject(id, job?.failedReason ?? 'the prediction job failed');
    } else if (state === 'unknown') {
      waiters.reject(id, 'the job was lost by the queue (Redis restarted?); upload again');
    }
  }
}

export async function queuePredictRunner(o: QueuePredictOptions): Promise<QueueRunner> {
  await checkRedis(o.url);
  const log = o.log ?? (() => {});
  const connection = connectionOptions(o.url);
  const queue = new Queue<PredictJobData, PredictJobResult>(PREDICT_QUEUE, {
    connection,
    prefix: QUEUE_PREFIX,
  });
  const events = new QueueEvents(PREDICT_QUEUE, { connection, prefix: QUEUE_PREFIX });
  const conn = connectionLogger(o.url, log, 'dfan serve');
  queue.on('error', conn.onError);
  events.on('error', conn.onError);
  await events.waitUntilReady();
  const waiters = new Waiters();
  events.on('progress', ({ jobId, data }) => {
    const p = data as unknown as JobProgress;
    if (p && typeof p === 'object') waiters.progress(jobId, p);
  });
  events.on('completed', ({ jobId, returnvalue }) => {
    conn.onReady();
    waiters.resolve(jobId, returnvalue as unknown as Prediction);
  });
  events.on('failed', ({ jobId, failedReason }) => waiters.reject(jobId, failedReason));
  // a missed event (Redis restarted, a reconnect) must not leave an upload waiting forever
  const timer = setInterval(() => {
    void reconcile(queue, waiters)
      .then(() => conn.onReady())
      .catch(conn.onError);
  }, o.reconcileMs ?? 2000);
  timer.unref();

  const runner: JobRunner = async (job, onProgress) => {
    const id = `p${job.id}`;
    const done = waiters.add(id, onProgress);
    onProgress('waiting for a worker', 0.01);
    try {
      const data = { file: job.file, name: job.name, model: o.model, pack: o.pack };
      await queue.add('predict', data, {
        jobId: id,
        attempts: PREDICT_ATTEMPTS,
        backoff: { type: 'fixed', delay: 500 },
        removeOnComplete: { age: 3600 },
        removeOnFail: { age: 3600 },
      });
    } catch (e) {
      waiters.forget(id);
      throw e;
    }
    return done;
  };
  const close = async () => {
    clearInterval(timer);
    for (const id of waiters.ids()) waiters.reject(id, 'the server is stopping');
    await events.close().catch(() => {});
    await queue.close().catch(() => {});
  };
  return { runner, close };
}
