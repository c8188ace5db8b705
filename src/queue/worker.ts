/**
 * The worker side (`dfan worker --queue URL`): BullMQ workers that take extraction and prediction
 * jobs and run them with the local code — `runExtractJob` (extractVideo + the atomic FeatureStore write)
 * and `PredictEngine.predictFile` — keeping each pack and model warm across jobs.
 *
 * Faults: a job whose valid feature file already exists is skipped (a retry after a kill never
 * recomputes a finished video); input errors (not a video, corrupt, …) fail at once with the
 * local typed message, other errors are retried (EXTRACT_ATTEMPTS); a killed worker's job is
 * taken back by the stalled-job check of the others once its lock expires; a lost Redis is
 * retried until it is back.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { PredictEngine } from '../app/predict.js';
import type { FeaturePack } from '../backbones/types.js';
import { type DfanErrorCode, describeError, isDfanError } from '../errors.js';
import { checkPackStreams, configHash as makeConfigHash, resolvePack } from '../features/extract.js';
import { runExtractJob } from '../features/runners.js';
import { fileNameForKey, readFeatureHeader } from '../features/store.js';
import {
  checkRedis,
  connectionLogger,
  connectionOptions,
  EXTRACT_QUEUE,
  PREDICT_QUEUE,
  QUEUE_PREFIX,
  safeUrl,
} from './connection.js';
import {
  DEFAULT_TUNING,
  type ExtractJobData,
  type ExtractJobResult,
  type JobProgress,
  type PredictJobData,
  type PredictJobResult,
  type QueueTuning,
  workerName,
} from './contracts.js';

export type QueueKind = 'extract' | 'predict';

export interface QueueWorkerOptions {
  url: string;
  /** jobs in flight in this process per queue (decode of one overlaps inference of another) */
  concurrency?: number;
  queues?: QueueKind[];
  /** load this pack before the first job; for predict jobs it also overrides the model's pack */
  pack?: string;
  tuning?: Partial<QueueTuning>;
  log?: (s: string) => void;
}

export interface RunningWorker {
  /** finish the jobs in progress (no new ones), then disconnect */
  close(): Promise<void>;
  /** jobs running now */
  active(): number;
}

/** Errors of the input, the same on every attempt: retrying them only delays the failure list. */
const INPUT_ERRORS: ReadonlySet<string> = new Set<DfanErrorCode>([
  'NOT_FOUND',
  'IS_DIRECTORY',
  'EMPTY_FILE',
  'NOT_A_VIDEO',
  'NO_VIDEO_STREAM',
  'ZERO_LENGTH',
  'CORRUPT',
  'BAD_ARGUMENT',
  'BAD_MANIFEST',
  'BAD_FEATURES',
  'MODEL_MISSING',
]);

function jobError(message: string, code: string | undefined): Error {
  return code && INPUT_ERRORS.has(code) ? new UnrecoverableError(message) : new Error(message);
}

/** A valid file for (key, config) at `path`: header, sizes, marker, key, config (and data hash). */
async function validFile(path: string, key: string, hash: string, verify: boolean): Promise<boolean> {
  if (!existsSync(path)) return false;
  try {
    const h = await readFeatureHeader(path, { verify });
    return h.meta.key === key && h.meta.configHash === hash;
  } catch {
    return false;
  }
}

/**
 * Things loaded once per key and kept warm across jobs (packs, predict engines): a worker usually
 * serves one configuration. A load that fails is forgotten, so the next job tries again.
 */
class WarmCache<T extends { dispose(): Promise<void> }> {
  private readonly items = new Map<string, Promise<T>>();

  get(key: string, load: () => Promise<T>): Promise<T> {
    let p = this.items.get(key);
    if (!p) {
      p = load();
      p.catch(() => this.items.delete(key));
      this.items.set(key, p);
    }
    return p;
  }

  async disposeAll(): Promise<void> {
    for (const p of this.items.values()) await (await p.catch(() => null))?.dispose().catch(() => {});
  }
}

/** A pack by (spec, streams); the streams are checked against the pack once, at load. */
function packFor(packs: WarmCache<FeaturePack>, spec: string, streams?: string[]): Promise<FeaturePack> {
  return packs.get(`${spec}\0${streams?.join(',') ?? ''}`, async () => {
    const pack = await resolvePack(spec, { streams });
    checkPackStreams(pack, streams);
    return pack;
  });
}

/** A predict engine by (model, pack), warmed up before its first job. */
function engineFor(engines: WarmCache<PredictEngine>, model: string, pack?: string): Promise<PredictEngine> {
  return engines.get(`${model}\0${pack ?? ''}`, async () => {
    const { PredictEngine } = await import('../app/predict.js');
    const e = await PredictEngine.create({ model, pack });
    await e.warm();
    return e;
  });
}

/** Runs an extraction job with the local code; skips a video whose valid file already exists. */
function extractHandler(me: string, packs: WarmCache<FeaturePack>) {
  return async (job: Job<ExtractJobData, ExtractJobResult>): Promise<ExtractJobResult> => {
    const d = job.data;
    if (!existsSync(d.store)) {
      throw new UnrecoverableError(
        `${d.store}: the feature store does not exist on worker ${me} (the store must be on storage every worker can reach, at the same path)`,
      );
    }
    const outPath = join(d.store, fileNameForKey(d.key));
    // a retry after a kill or a lost Redis: the file may be finished already — never recompute it
    if (await validFile(outPath, d.key, d.configHash, d.verify))
      return { key: d.key, status: 'skipped', worker: me };
    if (!existsSync(d.path)) {
      throw new UnrecoverableError(
        `${d.path}: video file not found on worker ${me} (videos must be on storage every worker can reach, at the same path)`,
      );
    }
    let pack: FeaturePack;
    try {
      pack = await packFor(packs, d.pack, d.streams);
    } catch (e) {
      throw jobError(describeError(e), isDfanError(e) ? e.code : undefined);
    }
    const hash = makeConfigHash(pack.id, { T: d.T, K: d.K, streams: d.streams });
    if (hash !== d.configHash) {
      throw new UnrecoverableError(
        `worker ${me} runs pack ${pack.id}, which gives config ${hash}, not the run's ${d.configHash} (run the same dfan version and packs on every machine)`,
      );
    }
    void job.updateProgress({ stage: 'extracting', fraction: 0.05 } satisfies JobProgress).catch(() => {});
    const r = await runExtractJob(
      pack,
      { pack: d.pack, T: d.T, K: d.K, streams: d.streams },
      {
        id: 0,
        key: d.key,
        path: d.path,
        source: d.source,
        outPath,
      },
    );
    if (!r.ok) throw jobError(r.error, r.code);
    return { key: d.key, status: 'done', timing: r.timing, worker: me };
  };
}

/** Runs a prediction job; its progress goes back to the server (at most every 150 ms). */
function predictHandler(me: string, engines: WarmCache<PredictEngine>, packOverride?: string) {
  return async (job: Job<PredictJobData, PredictJobResult>): Promise<PredictJobResult> => {
    const d = job.data;
    if (!existsSync(d.file)) {
      throw new UnrecoverableError(
        `the upload is not on worker ${me}'s storage (${d.file}): give dfan serve a --work-dir every worker can reach`,
      );
    }
    let last = 0;
    try {
      const engine = await engineFor(engines, d.model, packOverride ?? d.pack);
      return await engine.predictFile(d.file, {
        name: d.name,
        onProgress: (stage, fraction) => {
          const now = Date.now();
          if (now - last < 150 && fraction < 1) return;
          last = now;
          void job.updateProgress({ stage, fraction } satisfies JobProgress).catch(() => {});
        },
      });
    } catch (e) {
      throw jobError(describeError(e), isDfanError(e) ? e.code : undefined);
    }
  };
}

/** What one BullMQ worker needs beyond its handler. */
interface WorkerSetup {
  url: string;
  me: string;
  concurrency: number;
  tuning: QueueTuning;
  log: (s: string) => void;
}

/** A BullMQ worker on one queue, saying what it did, what stalled and what failed. */
function queueWorker(kind: QueueKind, handler: (job: Job) => Promise<unknown>, s: WorkerSetup): Worker {
  const { log } = s;
  const conn = connectionLogger(s.url, log, `dfan worker (${kind})`);
  const w = new Worker(kind === 'extract' ? EXTRACT_QUEUE : PREDICT_QUEUE, handler, {
    connection: connectionOptions(s.url),
    prefix: QUEUE_PREFIX,
    concurrency: kind === 'extract' ? s.concurrency : 1,
    lockDuration: s.tuning.lockDuration,
    stalledInterval: s.tuning.stalledInterval,
    maxStalledCount: s.tuning.maxStalledCount,
    name: s.me,
  });
  const nameOf = (job: Job) =>
    kind === 'extract' ? (job.data as ExtractJobData).key : (job.data as PredictJobData).name;
  w.on('error', conn.onError);
  w.on('ready', conn.onReady);
  w.on('completed', (job, result) => {
    conn.onReady();
    const r = result as ExtractJobResult | undefined;
    const what = kind === 'extract' ? `${r?.status ?? 'done'} ${nameOf(job)}` : `predicted ${nameOf(job)}`;
    const ms =
      job.finishedOn && job.processedOn
        ? ` (${((job.finishedOn - job.processedOn) / 1000).toFixed(2)} s)`
        : '';
    log(`dfan worker: ${what}${ms}`);
  });
  w.on('stalled', (jobId) =>
    log(`dfan worker: job ${jobId} stalled (its worker stopped renewing the lock): back in the queue`),
  );
  w.on('failed', (job, err) => {
    if (!job) return;
    const final = job.attemptsMade >= (job.opts.attempts ?? 1) || err instanceof UnrecoverableError;
    log(`dfan worker: ${final ? 'FAILED' : 'will retry'} ${nameOf(job)}: ${err.message}`);
  });
  return w;
}

export async function startQueueWorker(o: QueueWorkerOptions): Promise<RunningWorker> {
  const log = o.log ?? (() => {});
  const tuning = { ...DEFAULT_TUNING, ...o.tuning };
  const concurrency = Math.max(1, o.concurrency ?? 2);
  const kinds = o.queues ?? ['extract', 'predict'];
  const me = workerName();
  await checkRedis(o.url);

  const packs = new WarmCache<FeaturePack>();
  const engines = new WarmCache<PredictEngine>();
  if (o.pack && kinds.includes('extract')) {
    const t0 = performance.now();
    await packFor(packs, o.pack);
    log(`dfan worker: pack ${o.pack} loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }

  let running = 0;
  const counted =
    <D, R>(fn: (job: Job<D, R>) => Promise<R>) =>
    async (job: Job<D, R>): Promise<R> => {
      running++;
      try {
        return await fn(job);
      } finally {
        running--;
      }
    };
  const handlers = {
    extract: counted(extractHandler(me, packs)),
    predict: counted(predictHandler(me, engines, o.pack)),
  } as Record<QueueKind, (job: Job) => Promise<unknown>>;
  const setup: WorkerSetup = { url: o.url, me, concurrency, tuning, log };
  const workers = kinds.map((kind) => queueWorker(kind, handlers[kind], setup));
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  log(
    `dfan worker ${me}: taking ${kinds.join(' + ')} jobs from ${safeUrl(o.url)} ` +
      `(concurrency ${concurrency}, lock ${tuning.lockDuration} ms)`,
  );

  let closing: Promise<void> | null = null;
  return {
    active: () => running,
    close: () => {
      closing ??= (async () => {
        await Promise.all(workers.map((w) => w.close()));
        await packs.disposeAll();
        await engines.disposeAll();
      })();
      return closing;
    },
  };
}
