/**
 * The server's job queue: bounded (a full queue refuses instead of piling up), a fixed number
 * of jobs at a time (one per core), results cached by content hash, everything expiring after
 * a TTL. Pure bookkeeping: what a job does is the injected runner's business.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { rm } from 'node:fs/promises';
import { labelsHeading } from './labels.js';
import type { Playback } from './playback.js';
import type { Prediction, ProgressFn } from './types.js';

export type JobStatus = 'queued' | 'running' | 'done' | 'error';

export interface Job {
  id: string;
  status: JobStatus;
  /** what the job is doing now, e.g. "decoding", "face", "model" */
  stage: string;
  /** 0..1 */
  progress: number;
  /** the upload's original file name (display only; never used as a path) */
  name: string;
  /** where the upload lives on disk (a random name in the upload dir) */
  file: string;
  contentType: string;
  size: number;
  /** sha256 of the upload + model name: the cache key */
  hash: string;
  cached: boolean;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  result?: Prediction;
  error?: string;
  /** what the page's player gets (src/app/playback.ts); absent = the upload as it is */
  playback?: Playback;
}

export type JobRunner = (job: Job, onProgress: ProgressFn) => Promise<Prediction>;

export interface QueueOptions {
  runner: JobRunner;
  /** jobs running at once (default: one per core) */
  concurrency: number;
  /** jobs allowed to wait beyond the running ones */
  maxQueued: number;
  ttlMs: number;
  /** reuse results of identical uploads */
  cache: boolean;
}

export const JOB_ID_RE = /^[A-Za-z0-9_-]{22}$/;

export function newJobId(): string {
  return randomBytes(16).toString('base64url'); // 22 chars, 128 bits
}

export function publicJob(job: Job): Record<string, unknown> {
  return {
    id: job.id,
    status: job.status,
    stage: job.stage,
    progress: Math.round(job.progress * 1000) / 1000,
    name: job.name,
    size: job.size,
    cached: job.cached,
    createdAt: new Date(job.createdAt).toISOString(),
    ...(job.startedAt ? { startedAt: new Date(job.startedAt).toISOString() } : {}),
    ...(job.finishedAt ? { finishedAt: new Date(job.finishedAt).toISOString() } : {}),
    ...(job.error ? { error: job.error } : {}),
    ...(job.result ? { result: job.result, labelsAre: labelsHeading(job.result.labels) } : {}),
    videoUrl: `/api/jobs/${job.id}/video`,
    playback: job.playback?.state ?? 'original',
    ...(job.playback?.note ? { playbackNote: job.playback.note } : {}),
  };
}

export class JobQueue extends EventEmitter {
  readonly jobs = new Map<string, Job>();
  private readonly waiting: Job[] = [];
  private running = 0;
  private readonly results = new Map<string, { result: Prediction; at: number }>();
  constructor(readonly opts: QueueOptions) {
    super();
    this.setMaxListeners(0);
  }

  stats(): { running: number; queued: number; concurrency: number; maxQueued: number; jobs: number } {
    return {
      running: this.running,
      queued: this.waiting.length,
      concurrency: this.opts.concurrency,
      maxQueued: this.opts.maxQueued,
      jobs: this.jobs.size,
    };
  }

  /** false when a new job would have to wait and the waiting line is full */
  canAccept(): boolean {
    return this.running < this.opts.concurrency || this.waiting.length < this.opts.maxQueued;
  }

  /** A finished result for this content, or a job already working on it. */
  lookup(hash: string): { result?: Prediction; job?: Job } {
    if (!this.opts.cache) return {};
    const hit = this.results.get(hash);
    if (hit) return { result: hit.result };
    for (const j of this.jobs.values())
      if (j.hash === hash && (j.status === 'queued' || j.status === 'running')) return { job: j };
    return {};
  }

  get(id: string): Job | undefined {
    return JOB_ID_RE.test(id) ? this.jobs.get(id) : undefined;
  }

  /** Register a job; a cached result finishes it at once. Call canAccept() first. */
  submit(job: Job, cached?: Prediction): Job {
    this.jobs.set(job.id, job);
    if (cached) {
      job.status = 'done';
      job.stage = 'done';
      job.progress = 1;
      job.cached = true;
      job.result = { ...cached, video: job.name };
      job.finishedAt = Date.now();
      this.emit('update', job);
      return job;
    }
    this.waiting.push(job);
    this.emit('update', job);
    this.pump();
    return job;
  }

  private pump(): void {
    while (this.running < this.opts.concurrency && this.waiting.length > 0) {
      const job = this.waiting.shift() as Job;
      this.running++;
      void this.run(job).finally(() => {
        this.running--;
        this.pump();
      });
    }
  }

  private async run(job: Job): Promise<void> {
    job.status = 'running';
    job.stage = 'starting';
    job.startedAt = Date.now();
    this.emit('update', job);
    let last = 0;
    try {
      const result = await this.opts.runner(job, (stage, fraction) => {
        // a new stage is always sent; progress within a stage at most every 100 ms
        const moved = stage !== job.stage;
        job.stage = stage;
        job.progress = Math.max(job.progress, Math.min(0.99, fraction));
        const now = Date.now();
        if (moved || now - last > 100) {
          last = now;
          this.emit('update', job);
        }
      });
      job.result = result;
      job.status = 'done';
      job.stage = 'done';
      job.progress = 1;
      if (this.opts.cache) this.results.set(job.hash, { result, at: Date.now() });
    } catch (e) {
      job.status = 'error';
      job.stage = 'failed';
      // the user knows the upload by its name; the server's path stays private
      const message =
        e && typeof (e as { oneLine?: unknown }).oneLine === 'function'
          ? (e as { oneLine(): string }).oneLine()
          : e instanceof Error
            ? e.message
            : String(e);
      job.error = message.split('\n')[0].split(job.file).join(job.name);
    }
    job.finishedAt = Date.now();
    this.emit('update', job);
  }

  /** Remove finished jobs, their uploads and cached results older than the TTL. */
  async sweep(now = Date.now()): Promise<number> {
    let removed = 0;
    for (const [id, job] of this.jobs) {
      if (job.finishedAt !== undefined && now - job.finishedAt > this.opts.ttlMs) {
        this.jobs.delete(id);
        removed++;
        const stillUsed = [...this.jobs.values()].some((j) => j.file === job.file);
        if (!stillUsed) await rm(job.file, { force: true });
        // the converted copy for the player (one per upload; a conversion still running sees the job gone)
        if (job.playback && job.playback.file !== job.file) await rm(job.playback.file, { force: true });
      }
    }
    for (const [hash, r] of this.results) if (now - r.at > this.opts.ttlMs) this.results.delete(hash);
    return removed;
  }

  /** Wait until nothing runs or waits (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running > 0 || this.waiting.length > 0) await new Promise((r) => setTimeout(r, 20));
  }
}
