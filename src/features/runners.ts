/**
 * Where the videos of a batch are extracted: this process (`InProcessRunner`) or an extraction
 * worker process (`ProcessRunner`, src/features/worker.ts). Both run `runExtractJob`: extract
 * one video and write its file atomically, never throwing.
 */
import { type ChildProcess, fork } from 'node:child_process';
import type { FeaturePack } from '../backbones/types.js';
import { DfanError, describeError, isDfanError } from '../errors.js';
import { checkPackStreams, type ExtractTiming, extractVideo, resolvePack } from './extract.js';
import { writeFeatures } from './store.js';

export interface ExtractJobConfig {
  pack: string;
  T: number;
  K: number;
  streams?: string[];
}

export interface ExtractJob {
  id: number;
  key: string;
  path: string;
  source: string;
  outPath: string;
}

export type ExtractOutcome =
  | { id: number; ok: true; timing: ExtractTiming }
  | { id: number; ok: false; error: string; code?: string };

/** Extract one video and write its file atomically; never throws. */
export async function runExtractJob(
  pack: FeaturePack,
  cfg: ExtractJobConfig,
  job: ExtractJob,
): Promise<ExtractOutcome> {
  try {
    const timing = {} as ExtractTiming;
    const vf = await extractVideo(job.path, pack, {
      T: cfg.T,
      K: cfg.K,
      streams: cfg.streams,
      key: job.key,
      source: job.source,
      timing,
    });
    await writeFeatures(job.outPath, vf);
    return { id: job.id, ok: true, timing };
  } catch (e) {
    return { id: job.id, ok: false, error: describeError(e), code: isDfanError(e) ? e.code : undefined };
  }
}

export interface Runner {
  /** resolves with the pack id once the pack is loaded */
  ready: Promise<{ packId: string; streams: string[] }>;
  run(job: ExtractJob): Promise<ExtractOutcome>;
  close(): Promise<void>;
  peakRssMB(): number;
  /** false once the runner died (its pending jobs were failed) */
  alive(): boolean;
}

export class InProcessRunner implements Runner {
  ready: Promise<{ packId: string; streams: string[] }>;
  private pack: Promise<FeaturePack>;

  constructor(private cfg: ExtractJobConfig) {
    this.pack = resolvePack(cfg.pack, { streams: cfg.streams });
    this.ready = this.pack.then((p) => {
      checkPackStreams(p, cfg.streams);
      return { packId: p.id, streams: p.streams.map((s) => s.name) };
    });
  }

  async run(job: ExtractJob): Promise<ExtractOutcome> {
    return runExtractJob(await this.pack, this.cfg, job);
  }

  async close(): Promise<void> {
    const p = await this.pack.catch(() => null);
    await p?.dispose();
  }

  peakRssMB(): number {
    return 0; // counted as the main process
  }

  alive(): boolean {
    return true;
  }
}

type WorkerMsg =
  | { type: 'ready'; packId: string; streams: string[] }
  | { type: 'init-failed'; error: string; code?: string }
  | { type: 'result'; result: ExtractOutcome; rssMB: number };

export class ProcessRunner implements Runner {
  ready: Promise<{ packId: string; streams: string[] }>;
  private child: ChildProcess;
  private pending = new Map<number, (r: ExtractOutcome) => void>();
  private rss = 0;
  private dead = false;

  constructor(cfg: ExtractJobConfig) {
    this.child = fork(new URL('./worker.js', import.meta.url), [], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'json',
    });
    let stderrTail = '';
    this.child.stderr?.on('data', (d: Buffer) => {
      stderrTail = (stderrTail + d.toString()).slice(-2000);
    });
    this.ready = new Promise((resolveReady, rejectReady) => {
      this.child.on('message', (m: WorkerMsg) => {
        if (m.type === 'ready') resolveReady({ packId: m.packId, streams: m.streams });
        else if (m.type === 'init-failed') {
          rejectReady(new DfanError((m.code as 'INTERNAL') ?? 'INTERNAL', m.error));
        } else if (m.type === 'result') {
          this.rss = Math.max(this.rss, m.rssMB);
          const cb = this.pending.get(m.result.id);
          this.pending.delete(m.result.id);
          cb?.(m.result);
        }
      });
      this.child.on('exit', (code, signal) => {
        this.dead = true;
        const why = signal ? `signal ${signal}` : `exit code ${code}`;
        const last = stderrTail.trim().split('\n').pop() ?? '';
        rejectReady(
          new DfanError(
            'INTERNAL',
            `extraction worker stopped (${why}) while loading the pack${last ? `: ${last}` : ''}`,
          ),
        );
        for (const [id, cb] of this.pending) {
          cb({
            id,
            ok: false,
            error: `the worker process died (${why}) while extracting this video${last ? `: ${last}` : ''}`,
          });
        }
        this.pending.clear();
      });
    });
    this.ready.catch(() => {});
    this.child.send({ type: 'init', cfg });
  }

  run(job: ExtractJob): Promise<ExtractOutcome> {
    if (this.dead) return Promise.resolve({ id: job.id, ok: false, error: 'the worker process is gone' });
    return new Promise((resolveJob) => {
      this.pending.set(job.id, resolveJob);
      this.child.send({ type: 'job', job });
    });
  }

  async close(): Promise<void> {
    if (this.dead) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    try {
      this.child.send({ type: 'close' });
    } catch {
      /* channel closed already */
    }
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }

  peakRssMB(): number {
    return this.rss;
  }

  alive(): boolean {
    return !this.dead;
  }
}
