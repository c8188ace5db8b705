/**
 * A pool of warm predict worker processes (src/app/worker.ts), one per job slot. A crashed
 * worker fails its job and is replaced; the pool is the server's JobRunner.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Job } from './jobs.js';
import type { ModelDescriptor, Prediction, ProgressFn } from './types.js';

interface Pending {
  resolve: (p: Prediction) => void;
  reject: (e: Error) => void;
  onProgress: ProgressFn;
}

interface Worker {
  child: ChildProcess;
  busy: boolean;
  ready: Promise<ModelDescriptor>;
  jobs: Map<string, Pending>;
}

export interface PoolOptions {
  size: number;
  model: string;
  pack?: string;
  warm: boolean;
  log?: (s: string) => void;
}

const WORKER = fileURLToPath(new URL('./worker.js', import.meta.url));

export class PredictPool {
  private readonly workers: Worker[] = [];
  private closed = false;
  private constructor(private readonly opts: PoolOptions) {}

  /** Start the workers and wait until each has loaded (and warmed) its models. */
  static async start(opts: PoolOptions): Promise<{ pool: PredictPool; descriptor: ModelDescriptor }> {
    const pool = new PredictPool(opts);
    for (let i = 0; i < opts.size; i++) pool.workers.push(pool.spawn());
    try {
      const [descriptor] = await Promise.all(pool.workers.map((w) => w.ready));
      return { pool, descriptor };
    } catch (e) {
      await pool.close();
      throw e;
    }
  }

  private spawn(): Worker {
    const child = fork(WORKER, [], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    const jobs = new Map<string, Pending>();
    let readyResolve!: (d: ModelDescriptor) => void;
    let readyReject!: (e: Error) => void;
    const ready = new Promise<ModelDescriptor>((res, rej) => {
      readyResolve = res;
      readyReject = rej;
    });
    ready.catch(() => {});
    const w: Worker = { child, busy: false, ready, jobs };
    child.on('message', (m: { type: string; id?: string; [k: string]: unknown }) => {
      if (m.type === 'ready') readyResolve(m.descriptor as ModelDescriptor);
      else if (m.type === 'init-error') readyReject(new Error(String(m.message)));
      else if (m.id && jobs.has(m.id)) {
        const p = jobs.get(m.id) as Pending;
        if (m.type === 'progress') p.onProgress(String(m.stage), Number(m.fraction));
        else if (m.type === 'done') {
          jobs.delete(m.id);
          p.resolve(m.result as Prediction);
        } else if (m.type === 'error') {
          jobs.delete(m.id);
          p.reject(new Error(String(m.message)));
        }
      }
    });
    child.on('exit', (code, signal) => {
      readyReject(new Error(`predict worker exited (${signal ?? code}) while loading`));
      for (const p of jobs.values())
        p.reject(new Error(`the predict worker died (${signal ?? code}); try again`));
      jobs.clear();
      const i = this.workers.indexOf(w);
      if (i >= 0 && !this.closed) {
        this.opts.log?.(`dfan serve: a predict worker exited (${signal ?? code}); starting a new one`);
        this.workers[i] = this.spawn();
      }
    });
    child.send({ type: 'init', model: this.opts.model, pack: this.opts.pack, warm: this.opts.warm });
    return w;
  }

  /** The JobRunner: one job on an idle worker (the queue never runs more jobs than workers). */
  readonly run = async (job: Job, onProgress: ProgressFn): Promise<Prediction> => {
    const w = this.workers.find((x) => !x.busy);
    if (!w) throw new Error('no idle predict worker (more jobs than workers)');
    w.busy = true;
    try {
      await w.ready;
      return await new Promise<Prediction>((resolve, reject) => {
        w.jobs.set(job.id, { resolve, reject, onProgress });
        w.child.send({ type: 'job', id: job.id, file: job.file, name: job.name });
      });
    } finally {
      w.busy = false;
    }
  };

  /** process ids of the current workers (tests, diagnostics) */
  pids(): number[] {
    return this.workers.map((w) => w.child.pid).filter((p): p is number => typeof p === 'number');
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<void>((res) => {
            if (w.child.exitCode !== null || w.child.signalCode !== null) return res();
            const timer = setTimeout(() => w.child.kill('SIGKILL'), 5000);
            w.child.once('exit', () => {
              clearTimeout(timer);
              res();
            });
            w.child.disconnect();
          }),
      ),
    );
  }
}
