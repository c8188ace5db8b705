/**
 * `dfan queue status`: what the queue holds (job counts per state, connected workers) and, per
 * run, how far it got and which videos failed (with the same one-line reasons as the local run).
 */
import { type JobType, Queue } from 'bullmq';
import {
  checkRedis,
  connectionOptions,
  EXTRACT_QUEUE,
  PREDICT_QUEUE,
  QUEUE_PREFIX,
  redisClient,
} from './connection.js';
import { type ExtractJobData, runKeys } from './contracts.js';

export interface QueueCounts {
  waiting: number;
  active: number;
  delayed: number;
  completed: number;
  failed: number;
}

export interface RunStatus {
  run: string;
  store: string;
  packId: string;
  configHash: string;
  total: number;
  /** videos whose file was valid when the run was (last) enqueued */
  skipped: number;
  updatedAt: string;
  jobs: QueueCounts & { missing: number };
  failures: Array<{ key: string; error: string }>;
}

export interface QueueStatus {
  url: string;
  queues: Record<'extract' | 'predict', QueueCounts>;
  workers: string[];
  runs: RunStatus[];
}

const STATES = ['waiting', 'active', 'delayed', 'completed', 'failed'] as const;

/** BullMQ's states that `counts` folds into QueueCounts. */
const COUNTED: JobType[] = [
  'waiting',
  'prioritized',
  'waiting-children',
  'active',
  'delayed',
  'completed',
  'failed',
];

function counts(raw: Record<string, number>): QueueCounts {
  return {
    waiting: (raw.waiting ?? 0) + (raw.prioritized ?? 0) + (raw['waiting-children'] ?? 0),
    active: raw.active ?? 0,
    delayed: raw.delayed ?? 0,
    completed: raw.completed ?? 0,
    failed: raw.failed ?? 0,
  };
}

/** Status of the queue and of `run` (or of the most recent `recent` runs). */
export async function queueStatus(
  url: string,
  opts: { run?: string; recent?: number } = {},
): Promise<QueueStatus> {
  await checkRedis(url);
  const connection = connectionOptions(url);
  const extract = new Queue<ExtractJobData>(EXTRACT_QUEUE, { connection, prefix: QUEUE_PREFIX });
  const predict = new Queue(PREDICT_QUEUE, { connection, prefix: QUEUE_PREFIX });
  const client = await redisClient(url);
  try {
    const [ce, cp, we, wp] = await Promise.all([
      extract.getJobCounts(...COUNTED),
      predict.getJobCounts(...COUNTED),
      extract.getWorkers(),
      predict.getWorkers(),
    ]);
    const workers = [...new Set([...we, ...wp].map((w) => String(w.name ?? w.addr ?? '?')))].sort();
    const all = runKeys(QUEUE_PREFIX, '').all;
    const ids = opts.run ? [opts.run] : await client.zrevrange(all, 0, (opts.recent ?? 5) - 1);
    const runs: RunStatus[] = [];
    for (const run of ids) {
      const rk = runKeys(QUEUE_PREFIX, run);
      const info = await client.hgetall(rk.info);
      if (!info.store) continue;
      const jobIds = await client.smembers(rk.jobs);
      const c: RunStatus['jobs'] = { waiting: 0, active: 0, delayed: 0, completed: 0, failed: 0, missing: 0 };
      const failures: RunStatus['failures'] = [];
      for (const id of jobIds) {
        const state = await extract.getJobState(id);
        if (state === 'unknown') c.missing++;
        else if ((STATES as readonly string[]).includes(state)) c[state as (typeof STATES)[number]]++;
        else c.waiting++;
        if (state === 'failed') {
          const job = await extract.getJob(id);
          if (job) failures.push({ key: job.data.key, error: job.failedReason ?? 'failed' });
        }
      }
      runs.push({
        run,
        store: info.store,
        packId: info.packId,
        configHash: info.configHash,
        total: Number(info.total),
        skipped: Number(info.skipped),
        updatedAt: info.updatedAt,
        jobs: c,
        failures: failures.sort((a, b) => a.key.localeCompare(b.key)),
      });
    }
    return { url, queues: { extract: counts(ce), predict: counts(cp) }, workers, runs };
  } finally {
    client.disconnect();
    await Promise.all([extract.close(), predict.close()]);
  }
}

export function formatStatus(s: QueueStatus): string {
  const q = (n: string, c: QueueCounts) =>
    `  ${n.padEnd(8)} waiting ${c.waiting}, active ${c.active}, delayed ${c.delayed}, completed ${c.completed}, failed ${c.failed}`;
  const lines = [
    `queue ${s.url}`,
    q('extract', s.queues.extract),
    q('predict', s.queues.predict),
    `workers (${s.workers.length}): ${s.workers.join(', ') || 'none connected'}`,
  ];
  if (s.runs.length === 0) lines.push('no extraction runs');
  for (const r of s.runs) {
    const j = r.jobs;
    const finished = j.completed + j.failed;
    const jobs = j.completed + j.failed + j.waiting + j.active + j.delayed + j.missing;
    lines.push(
      `run ${r.run} → ${r.store}  (pack ${r.packId}, config ${r.configHash}, enqueued ${r.updatedAt})`,
      `  ${r.total} videos: ${r.skipped} already done when enqueued; jobs ${finished}/${jobs} finished — ` +
        `done ${j.completed}, failed ${j.failed}, active ${j.active}, waiting ${j.waiting + j.delayed}` +
        (j.missing ? `, missing ${j.missing} (re-run the extract command to enqueue them again)` : ''),
    );
    for (const f of r.failures) lines.push(`  failed ${f.key}: ${f.error}`);
  }
  return `${lines.join('\n')}\n`;
}
