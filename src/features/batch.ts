/**
 * `extractAll`: a batch of videos into a FeatureStore, resumable. The store's files are the
 * truth: a video is skipped only when its file passes the integrity check with the same config
 * hash; everything else (missing, truncated, foreign, other config, --force) is extracted.
 * Runners (./runners.ts) are this process or worker processes; each keeps `inflight` videos going
 * at once.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { DfanError } from '../errors.js';
import { removeStaleTemps } from '../util/atomic.js';
import { processAlive } from '../util/process.js';
import { assertUniqueKeys, batchSummary, type PlannedVideo, planBatch, stampIndex } from './batch-plan.js';
import {
  DEFAULT_K,
  DEFAULT_T,
  type ExtractAllOptions,
  type ExtractFailure,
  type ExtractItem,
  type ExtractSummary,
  configHash as makeConfigHash,
} from './extract.js';
import {
  type ExtractJob,
  type ExtractJobConfig,
  type ExtractOutcome,
  InProcessRunner,
  ProcessRunner,
  type Runner,
} from './runners.js';
import { FeatureStore } from './store.js';

// ---------------------------------------------------------------- lock

const LOCK_FILE = '.dfan-extract.lock';

function acquireLock(dir: string): () => void {
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => {
        try {
          unlinkSync(path);
        } catch {
          /* gone */
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(readFileSync(path, 'utf8').trim());
      if (pid !== process.pid && processAlive(pid)) {
        throw new DfanError('BAD_ARGUMENT', `another dfan extract (pid ${pid}) is writing to this folder`, {
          file: dir,
          hint: `wait for it to finish, or remove ${LOCK_FILE} if that process is not dfan`,
        });
      }
      unlinkSync(path); // left by a killed run: take over
    }
  }
  throw new DfanError('INTERNAL', 'could not take the extraction lock', { file: dir });
}

// ---------------------------------------------------------------- extractAll

function jobConfig(opts: ExtractAllOptions): ExtractJobConfig {
  return { pack: opts.pack, T: opts.T ?? DEFAULT_T, K: opts.K ?? DEFAULT_K, streams: opts.streams };
}

function extractJob(id: number, v: PlannedVideo, store: FeatureStore): ExtractJob {
  return { id, key: v.key, path: v.path, source: v.source, outPath: store.pathFor(v.key) };
}

/** How the runners take jobs off the queue. */
interface Drive {
  packId: string;
  /** videos in flight per runner */
  inflight: number;
  /** a runner that died is replaced, this many times in all */
  maxRespawns: number;
  makeRunner: () => Runner;
  signal?: AbortSignal;
  onResult: (r: ExtractOutcome) => void;
}

/**
 * Run the queue on the runners until it is empty (or the signal aborts): each runner keeps
 * `inflight` videos going; a runner that dies is replaced (up to `maxRespawns`); a runner that
 * fails to load gives up its slot.
 */
async function driveRunners(runners: Runner[], queue: ExtractJob[], d: Drive): Promise<void> {
  let respawns = 0;
  const lane = async (slot: number): Promise<void> => {
    while (queue.length > 0 && !d.signal?.aborted) {
      let runner = runners[slot];
      if (!runner.alive()) {
        if (respawns >= d.maxRespawns) return;
        respawns++;
        runner = d.makeRunner();
        runners[slot] = runner;
        try {
          await runner.ready;
        } catch {
          continue;
        }
      }
      const job = queue.shift();
      if (!job) return;
      d.onResult(await runner.run(job));
    }
  };
  // the other runners may still be loading: a slot whose runner fails to load gives up
  await Promise.all(
    runners.map(async (r, slot) => {
      try {
        const info = await r.ready;
        if (info.packId !== d.packId) throw new DfanError('INTERNAL', 'workers loaded different packs');
      } catch {
        return;
      }
      await Promise.all(Array.from({ length: d.inflight }, () => lane(slot)));
    }),
  );
}

/**
 * Jobs no runner took. True when the signal aborted (the batch was interrupted); else every
 * runner died, and each of them is reported as a failure.
 */
function settleLeftovers(
  queue: ExtractJob[],
  signal: AbortSignal | undefined,
  onResult: (r: ExtractOutcome) => void,
): boolean {
  if (queue.length === 0) return false;
  if (signal?.aborted) return true;
  for (const job of queue.splice(0)) {
    onResult({ id: job.id, ok: false, error: 'no extraction worker could run (all worker processes died)' });
  }
  return false;
}

/** The last write of the index; a failure is harmless: the files are the truth, the index is rebuilt when needed. */
function flushIndexSync(store: FeatureStore): void {
  try {
    store.flushSync();
  } catch {
    /* rebuilt from the files on the next open */
  }
}

/** Extract a batch of videos into `outDir` (see ExtractAllOptions). Never throws for a bad video. */
export async function extractAll(
  items: ExtractItem[],
  outDir: string,
  opts: ExtractAllOptions,
): Promise<ExtractSummary> {
  const t0 = performance.now();
  const cfg = jobConfig(opts);
  assertUniqueKeys(items);
  const store = await FeatureStore.open(outDir, { create: true });
  const unlock = acquireLock(outDir);
  removeStaleTemps(outDir);
  const nWorkers = Math.max(0, Math.floor(opts.workers ?? 0));
  const makeRunner = (): Runner => (nWorkers > 0 ? new ProcessRunner(cfg) : new InProcessRunner(cfg));
  const runners: Runner[] = [];
  const failed: ExtractFailure[] = [];
  const timings: ExtractSummary['timings'] = [];
  let done = 0;
  let interrupted = false;
  let flushing: Promise<void> = Promise.resolve();
  const flush = () => {
    flushing = flushing.then(() => store.flush()).catch(() => {});
    return flushing;
  };
  try {
    for (let i = 0; i < Math.max(1, nWorkers); i++) runners.push(makeRunner());
    const { packId } = await runners[0].ready;
    const hash = makeConfigHash(packId, cfg);
    stampIndex(store, packId, hash, cfg);
    const plan = await planBatch(items, store, hash, opts);
    failed.push(...plan.failed);
    const { skipped } = plan;
    const queue = plan.todo.map((v, id) => extractJob(id, v, store));
    const progress = (key?: string, status?: 'done' | 'skipped' | 'failed') =>
      opts.onProgress?.({ total: items.length, done, skipped, failed: failed.length, key, status });
    await flush();
    opts.onReady?.({ packId, configHash: hash, todo: queue.length, skipped });
    progress();

    const byId = new Map(queue.map((j) => [j.id, j]));
    const onResult = (r: ExtractOutcome) => {
      const job = byId.get(r.id)!;
      if (!r.ok && opts.signal?.aborted) {
        // most likely killed by the same Ctrl-C (ffmpeg got SIGINT too): not the video's fault
        interrupted = true;
        return;
      }
      if (r.ok) {
        done++;
        timings.push({ key: job.key, ...r.timing });
        store.markDone(job.key, hash, job.source);
      } else {
        failed.push({ key: job.key, path: job.path, error: r.error });
        store.markFailed(job.key, hash, r.error, job.source);
      }
      void flush();
      progress(job.key, r.ok ? 'done' : 'failed');
    };
    await driveRunners(runners, queue, {
      packId,
      inflight: Math.max(1, Math.floor(opts.inflight ?? 2)),
      maxRespawns: 3 * Math.max(1, nWorkers),
      makeRunner,
      signal: opts.signal,
      onResult,
    });
    if (settleLeftovers(queue, opts.signal, onResult)) interrupted = true;
    await flush();
    return batchSummary(
      { total: items.length, done, skipped, failed, packId, configHash: hash, interrupted, timings },
      t0,
      runners.map((r) => r.peakRssMB()).filter((x) => x > 0),
    );
  } finally {
    await Promise.all(runners.map((r) => r.close().catch(() => {})));
    await flushing;
    flushIndexSync(store);
    unlock();
  }
}
