/**
 * The extraction jobs of one run as Redis holds them: the run's spec (store, pack, config hash:
 * what every job shares), each job's data and options, bulk adds, the dedup against jobs already
 * queued, and the run's record that `dfan queue status` reads.
 */
import { resolve } from 'node:path';
import type { Queue } from 'bullmq';
import type { PlannedVideo } from '../features/batch-plan.js';
import {
  checkPackStreams,
  DEFAULT_K,
  DEFAULT_T,
  type ExtractAllOptions,
  configHash as makeConfigHash,
  resolvePack,
} from '../features/extract.js';
import { FeatureStore } from '../features/store.js';
import { QUEUE_PREFIX, redisClient } from './connection.js';
import {
  EXTRACT_ATTEMPTS,
  type ExtractJobData,
  type ExtractJobResult,
  runIdFor,
  runKeys,
} from './contracts.js';

/** The pack id behind a spec (the config hash needs it); the default pack's without loading it. */
export async function packIdOf(spec: string, streams?: string[]): Promise<string> {
  if (spec === 'default') {
    const { DEFAULT_PACK_ID, resolveStreams } = await import('../backbones/default/pack.js');
    resolveStreams(streams); // throws for an unknown stream, as the local run does
    return DEFAULT_PACK_ID;
  }
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
export async function statesOf(queue: Queue, ids: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let i = 0; i < ids.length; i += 200) {
    const chunk = ids.slice(i, i + 200);
    const states = await Promise.all(chunk.map((id) => queue.getJobState(id)));
    for (const [k, id] of chunk.entries()) out.set(id, states[k]);
  }
  return out;
}

/** Job states in which a job will still run by itself. */
const LIVE = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'wait', 'paused']);

/** What every job of one run shares: the store, the pack and its config, and the run's id. */
export interface RunSpec {
  run: string;
  /** absolute path of the feature store (the same on every worker) */
  storeDir: string;
  /** the pack spec every worker resolves the same way (sharedPackSpec) */
  pack: string;
  packId: string;
  configHash: string;
  T: number;
  K: number;
  streams?: string[];
  verify: boolean;
}

/** A video to extract, with its (idempotent) job id. */
export interface QueuedVideo extends PlannedVideo {
  id: string;
}

/** Resolves the run's config (the pack id is needed for the config hash) and opens its store. */
export async function openRun(
  outDir: string,
  opts: Pick<ExtractAllOptions, 'pack' | 'T' | 'K' | 'streams' | 'verifyExisting'>,
): Promise<{ spec: RunSpec; store: FeatureStore }> {
  const T = opts.T ?? DEFAULT_T;
  const K = opts.K ?? DEFAULT_K;
  const pack = sharedPackSpec(opts.pack);
  const packId = await packIdOf(pack, opts.streams);
  const configHash = makeConfigHash(packId, { T, K, streams: opts.streams });
  const storeDir = resolve(outDir);
  const store = await FeatureStore.open(storeDir, { create: true });
  store.index.packId = packId;
  store.index.configHash = configHash;
  store.index.T = T;
  store.index.K = K;
  const run = runIdFor(storeDir, configHash);
  const verify = opts.verifyExisting ?? true;
  return { spec: { run, storeDir, pack, packId, configHash, T, K, streams: opts.streams, verify }, store };
}

export function jobData(spec: RunSpec, v: QueuedVideo): ExtractJobData {
  return {
    run: spec.run,
    store: spec.storeDir,
    key: v.key,
    path: resolve(v.path),
    source: v.source,
    pack: spec.pack,
    T: spec.T,
    K: spec.K,
    streams: spec.streams,
    configHash: spec.configHash,
    verify: spec.verify,
  };
}

export function jobOptions(id: string) {
  return {
    jobId: id,
    attempts: EXTRACT_ATTEMPTS,
    backoff: { type: 'fixed' as const, delay: 1000 },
    // finished jobs are kept a while for `dfan queue status`; the feature files are the record
    removeOnComplete: { age: 7 * 24 * 3600, count: 100_000 },
    removeOnFail: { age: 7 * 24 * 3600, count: 100_000 },
  };
}

/** Adds jobs in bulks of 500. */
export async function addJobs(
  queue: Queue<ExtractJobData, ExtractJobResult>,
  spec: RunSpec,
  videos: QueuedVideo[],
) {
  for (let i = 0; i < videos.length; i += 500) {
    const chunk = videos.slice(i, i + 500);
    await queue.addBulk(
      chunk.map((v) => ({ name: 'extract', data: jobData(spec, v), opts: jobOptions(v.id) })),
    );
  }
}

/**
 * Dedup against what the queue already holds: a live job of a video is left to run (unless
 * `force`); a finished or failed job of a video that still needs work (file deleted, --force, a
 * failure to retry) is removed, to be replaced.
 */
export async function sortAgainstQueue(
  queue: Queue<ExtractJobData, ExtractJobResult>,
  todo: QueuedVideo[],
  force: boolean,
): Promise<{ toAdd: QueuedVideo[]; inFlight: number }> {
  const toAdd: QueuedVideo[] = [];
  let inFlight = 0;
  const states = await statesOf(
    queue,
    todo.map((v) => v.id),
  );
  for (const v of todo) {
    const state = states.get(v.id) ?? 'unknown';
    if (LIVE.has(state) && !force) inFlight++;
    else {
      if (state !== 'unknown') await queue.remove(v.id).catch(() => 0);
      toAdd.push(v);
    }
  }
  return { toAdd, inFlight };
}

/** The run's record beside BullMQ's keys, read by `dfan queue status`. */
export async function recordRun(
  url: string,
  spec: RunSpec,
  todo: QueuedVideo[],
  total: number,
  skipped: number,
) {
  const rk = runKeys(QUEUE_PREFIX, spec.run);
  const client = await redisClient(url);
  const info = {
    store: spec.storeDir,
    packId: spec.packId,
    configHash: spec.configHash,
    T: String(spec.T),
    K: String(spec.K),
    total: String(total),
    skipped: String(skipped),
    updatedAt: new Date().toISOString(),
  };
  try {
    await client.hset(rk.info, info);
    await client.del(rk.jobs); // the run's jobs are those of its latest enqueue
    for (let i = 0; i < todo.length; i += 1000)
      await client.sadd(rk.jobs, ...todo.slice(i, i + 1000).map((v) => v.id));
    await client.zadd(rk.all, Date.now(), spec.run);
  } finally {
    client.disconnect();
  }
}
