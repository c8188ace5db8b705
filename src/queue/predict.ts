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

export async function queuePredictRunner(o: {
  url: string;
  model: string;
  pack?: string;
  log?: (s: string) => void;
  /** reconciliation of job states while waiting (ms, default 2000) */
  reconcileMs?: number;
}): Promise<QueueRunner> {
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
  const waiters = new Map<string, Waiter>();
  const settle = (id: string, f: (w: Waiter) => void) => {
    const w = waiters.get(id);
    if (!w) return;
    waiters.delete(id);
    f(w);
  };
  events.on('progress', ({ jobId, data }) => {
    const p = data as unknown as JobProgress;
    if (p && typeof p === 'object') waiters.get(jobId)?.onProgress(p.stage, p.fraction);
  });
  events.on('completed', ({ jobId, returnvalue }) => {
    conn.onReady();
    settle(jobId, (w) => w.resolve(returnvalue as unknown as Prediction));
  });
  events.on('failed', ({ jobId, failedReason }) => settle(jobId, (w) => w.reject(new Error(failedReason))));
  // a missed event (Redis restarted, a reconnect) must not leave an upload waiting forever
  const timer = setInterval(() => {
    void (async () => {
      for (const id of [...waiters.keys()]) {
        const state = await queue.getJobState(id);
        if (state === 'completed' || state === 'failed') {
          const job = await queue.getJob(id);
          if (state === 'completed' && job) settle(id, (w) => w.resolve(job.returnvalue));
          else settle(id, (w) => w.reject(new Error(job?.failedReason ?? 'the prediction job failed')));
        } else if (state === 'unknown') {
          settle(id, (w) =>
            w.reject(new Error('the job was lost by the queue (Redis restarted?); upload again')),
          );
        }
      }
      conn.onReady();
    })().catch(conn.onError);
  }, o.reconcileMs ?? 2000);
  timer.unref();

  const runner: JobRunner = async (job, onProgress) => {
    const id = `p${job.id}`;
    const done = new Promise<Prediction>((resolve, reject) =>
      waiters.set(id, { resolve, reject, onProgress }),
    );
    onProgress('waiting for a worker', 0.01);
    try {
      await queue.add(
        'predict',
        { file: job.file, name: job.name, model: o.model, pack: o.pack },
        {
          jobId: id,
          attempts: PREDICT_ATTEMPTS,
          backoff: { type: 'fixed', delay: 500 },
          removeOnComplete: { age: 3600 },
          removeOnFail: { age: 3600 },
        },
      );
    } catch (e) {
      waiters.delete(id);
      throw e;
    }
    return done;
  };
  return {
    runner,
    close: async () => {
      clearInterval(timer);
      for (const [id, w] of waiters) {
        waiters.delete(id);
        w.reject(new Error('the server is stopping'));
      }
      await events.close().catch(() => {});
      await queue.close().catch(() => {});
    },
  };
}
