/**
 * The bookkeeping around a batch extraction, the same whether this process extracts the videos
 * (extractAll, batch.ts) or a queue's workers do (extractViaQueue, src/queue/enqueue.ts): a key
 * may be listed once; an item without a file fails, a video whose file is already valid for the
 * config hash is skipped (the resume rule), the rest is to do; and the summary at the end.
 */
import { DfanError } from '../errors.js';
import { peakRssMB } from '../util/memory.js';
import type { ExtractAllOptions, ExtractFailure, ExtractItem, ExtractSummary } from './extract.js';
import type { FeatureStore } from './store.js';

/** Refuses a batch that lists a key twice (both would write the same feature file). */
export function assertUniqueKeys(items: readonly ExtractItem[]): void {
  const seen = new Set<string>();
  for (const it of items) {
    if (seen.has(it.key)) throw new DfanError('BAD_ARGUMENT', `the key "${it.key}" is listed twice`);
    seen.add(it.key);
  }
}

/** The store's index says which pack and sampling its files hold. */
export function stampIndex(
  store: FeatureStore,
  packId: string,
  configHash: string,
  sampling: { T: number; K: number },
): void {
  store.index.packId = packId;
  store.index.configHash = configHash;
  store.index.T = sampling.T;
  store.index.K = sampling.K;
}

/** A video the batch must extract. */
export interface PlannedVideo {
  key: string;
  path: string;
  /** what the feature file records as its source */
  source: string;
}

export interface BatchPlan {
  todo: PlannedVideo[];
  /** items whose video file was not found */
  failed: ExtractFailure[];
  /** videos whose feature file is already valid for this config hash */
  skipped: number;
}

/**
 * Sorts the items (in their order) into to-do, failed and skipped, recording the failed and
 * skipped ones in the store's index. The files are the truth: a video is skipped only when its
 * file passes the integrity check with the same config hash (and `force` is off).
 */
export async function planBatch(
  items: readonly ExtractItem[],
  store: FeatureStore,
  configHash: string,
  opts: Pick<ExtractAllOptions, 'force' | 'verifyExisting'>,
): Promise<BatchPlan> {
  const plan: BatchPlan = { todo: [], failed: [], skipped: 0 };
  for (const it of items) {
    const source = it.source ?? it.path ?? it.key;
    if (!it.path) {
      const error = 'video file not found';
      plan.failed.push({ key: it.key, path: null, error });
      store.markFailed(it.key, configHash, error, source);
      continue;
    }
    if (!opts.force && (await store.has(it.key, configHash, { verify: opts.verifyExisting ?? true }))) {
      plan.skipped++;
      const e = store.index.entries[it.key];
      if (e?.status !== 'done' || e.configHash !== configHash) store.markDone(it.key, configHash, source);
      continue;
    }
    plan.todo.push({ key: it.key, path: it.path, source });
  }
  return plan;
}

/** The summary of a finished (or interrupted) batch; `startedAt` is its performance.now(). */
export function batchSummary(
  tally: Omit<ExtractSummary, 'peakRssMB' | 'wallSeconds'>,
  startedAt: number,
  workersPeakRssMB: number[],
): ExtractSummary {
  return {
    ...tally,
    peakRssMB: { main: peakRssMB(), workers: workersPeakRssMB },
    wallSeconds: (performance.now() - startedAt) / 1000,
  };
}
