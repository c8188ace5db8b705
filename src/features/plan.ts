/**
 * Planning a batch against a feature store, shared by local extraction (`extractAll`) and the
 * job queue: keys are unique, the store's index names the pack and sampling, and only the items
 * without a valid file of this config are extracted.
 */
import { DfanError } from '../errors.js';
import type { ExtractFailure, ExtractItem } from './extract.js';
import type { FeatureStore } from './store.js';

export function assertUniqueKeys(items: ExtractItem[]): void {
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

/** An item to extract, with the source path stored in its metadata. */
export interface PlannedItem {
  item: ExtractItem & { path: string };
  source: string;
}

/**
 * The items of a batch to extract, in order: every item without a valid file of this config
 * (all of them with `force`). Items whose video was not found become failures (recorded in the
 * store and pushed onto `failed`); valid files are skipped (and marked done in the index when it
 * did not say so).
 */
export async function planBatch(
  items: ExtractItem[],
  store: FeatureStore,
  hash: string,
  opts: { force?: boolean; verifyExisting?: boolean },
  failed: ExtractFailure[],
): Promise<{ todo: PlannedItem[]; skipped: number }> {
  const todo: PlannedItem[] = [];
  let skipped = 0;
  for (const it of items) {
    const source = it.source ?? it.path ?? it.key;
    if (!it.path) {
      const error = 'video file not found';
      failed.push({ key: it.key, path: null, error });
      store.markFailed(it.key, hash, error, source);
      continue;
    }
    if (!opts.force && (await store.has(it.key, hash, { verify: opts.verifyExisting ?? true }))) {
      skipped++;
      const e = store.index.entries[it.key];
      if (e?.status !== 'done' || e.configHash !== hash) store.markDone(it.key, hash, source);
      continue;
    }
    todo.push({ item: { ...it, path: it.path }, source });
  }
  return { todo, skipped };
}
