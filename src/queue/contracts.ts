/**
 * What travels through the queue: typed job data and results for the two job kinds, and the ids
 * that make enqueueing idempotent. Everything is plain JSON (BullMQ stores it in Redis).
 *
 *   extract  one video → one feature file in the store the job names (a shared path)
 *   predict  one uploaded video → a Prediction (docs/predict.md), for `dfan serve --queue`
 */
import { hostname } from 'node:os';
import type { Prediction } from '../app/types.js';
import type { ExtractTiming } from '../features/extract.js';
import { sha256Hex } from '../util/hash.js';

export interface ExtractJobData {
  /** the run this job belongs to (see runIdFor) */
  run: string;
  /** absolute path of the feature store (must be the same path on every worker) */
  store: string;
  key: string;
  /** absolute path of the video (same rule) */
  path: string;
  /** the path as the user wrote it (stored in the file's metadata) */
  source: string;
  /** pack spec (default | research | absolute path of a pack file / module) */
  pack: string;
  T: number;
  K: number;
  streams?: string[];
  /** config hash the enqueuer expects; a worker whose pack makes another one refuses the job */
  configHash: string;
  /** verify the data hash of an existing file before skipping it */
  verify: boolean;
}

export interface ExtractJobResult {
  key: string;
  /** skipped: a valid file was already there (e.g. a retry after the file was written) */
  status: 'done' | 'skipped';
  timing?: ExtractTiming;
  /** host:pid of the worker */
  worker: string;
}

export interface PredictJobData {
  /** the upload on storage every worker can reach */
  file: string;
  /** display name */
  name: string;
  /** 'default' or a trained run folder (same path on every worker) */
  model: string;
  pack?: string;
}

export type PredictJobResult = Prediction;

/** progress a job reports (Job.updateProgress): stage and fraction 0..1 */
export interface JobProgress {
  stage: string;
  fraction: number;
}

/** Job settings shared by both sides (milliseconds). */
export interface QueueTuning {
  /** a job's lock; a worker that stops renewing it (killed) loses the job after this long */
  lockDuration: number;
  /** how often workers look for stalled jobs (whose lock expired) */
  stalledInterval: number;
  /** stalls a job may go through before it fails */
  maxStalledCount: number;
}

export const DEFAULT_TUNING: QueueTuning = {
  lockDuration: 30_000,
  stalledInterval: 30_000,
  maxStalledCount: 2,
};

/** attempts of an extraction job; input errors (not a video, corrupt …) fail at once */
export const EXTRACT_ATTEMPTS = 3;
export const PREDICT_ATTEMPTS = 2;

const h = (...parts: string[]) => sha256Hex(parts.join('\0'));

/**
 * The job id of one video: the same store, key and config always give the same id, so a second
 * enqueue of a video in flight is a no-op (BullMQ keeps one job per id).
 */
export function extractJobId(store: string, key: string, configHash: string): string {
  return `x${h(store, key, configHash).slice(0, 32)}`;
}

/** A run = one store with one config: `dfan extract … --queue` run twice is the same run. */
export function runIdFor(store: string, configHash: string): string {
  return h(store, configHash).slice(0, 12);
}

/** Redis keys of a run's record (beside BullMQ's own keys, same prefix). */
export const runKeys = (prefix: string, run: string) => ({
  info: `${prefix}:run:${run}`,
  jobs: `${prefix}:run:${run}:jobs`,
  all: `${prefix}:runs`,
});

/** host:pid: names a worker on any machine, in messages, job results and `dfan queue status`. */
export function workerName(): string {
  return `${hostname()}:${process.pid}`;
}
