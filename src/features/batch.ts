/**
 * `extractAll`: a batch of videos into a FeatureStore, resumable. The store's files are the
 * truth: a video is skipped only when its file passes the integrity check with the same config
 * hash; everything else (missing, truncated, foreign, other config, --force) is extracted.
 * Runners are this process or worker processes; each keeps `inflight` videos going at once.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { FeaturePack } from '../backbones/types.js';
import { DfanError, describeError, isDfanError } from '../errors.js';
import { removeStaleTemps } from './atomic.js';
import {
  checkPackStreams,
  DEFAULT_K,
  DEFAULT_T,
  type ExtractAllOptions,
  type ExtractFailure,
  type ExtractItem,
  type ExtractSummary,
  type ExtractTiming,
  extractVideo,
  configHash as makeConfigHash,
  resolvePack,
} from './extract.js';
import { FeatureStore, writeFeatures } from './store.js';

// ---------------------------------------------------------------- jobs (shared with worker.ts)

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

export function peakRssOfThisProcess(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    /* not Linux */
  }
  return process.memoryUsage().rss / 1024 / 1024;
}

// ---------------------------------------------------------------- runners

interface Runner {
  /** resolves with the pack id once the pack is loaded */
  ready: Promise<{ packId: string; streams: string[] }>;
  run(job: ExtractJob): Promise<ExtractOutcome>;
  close(): Promise<void>;
  peakRssMB(): number;
  /** false once the runner died (its pending jobs were failed) */
  alive(): boolean;
}

class InProcessRunner implements Runner {
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

class ProcessRunner implements Runner {
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
      let alive = false;
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid) {
        try {
          process.kill(pid, 0);
          alive = true;
        } catch (err) {
          alive = (err as NodeJS.ErrnoException).code === 'EPERM';
        }
      }
      if (alive) {
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

/** Extract a batch of videos into `outDir` (see ExtractAllOptions). Never throws for a bad video. */
export async function extractAll(
  items: ExtractItem[],
  outDir: string,
  opts: ExtractAllOptions,
): Promise<ExtractSummary> {
  const t0 = performance.now();
  const cfg: ExtractJobConfig = {
    pack: opts.pack,
    T: opts.T ?? DEFAULT_T,
    K: opts.K ?? DEFAULT_K,
    streams: opts.streams,
  };
  const seen = new Set<string>();
  for (const it of items) {
    if (seen.has(it.key)) throw new DfanError('BAD_ARGUMENT', `the key "${it.key}" is listed twice`);
    seen.add(it.key);
  }
  const store = await FeatureStore.open(outDir, { create: true });
  const unlock = acquireLock(outDir);
  removeStaleTemps(outDir);
  const nWorkers = Math.max(0, Math.floor(opts.workers ?? 0));
  const inflight = Math.max(1, Math.floor(opts.inflight ?? 2));
  const makeRunner = (): Runner => (nWorkers > 0 ? new ProcessRunner(cfg) : new InProcessRunner(cfg));
  const runners: Runner[] = [];
  const failed: ExtractFailure[] = [];
  const timings: ExtractSummary['timings'] = [];
  let done = 0;
  let skipped = 0;
  let interrupted = false;
  let flushing: Promise<void> = Promise.resolve();
  const flush = () => {
    flushing = flushing.then(() => store.flush()).catch(() => {});
    return flushing;
  };
  try {
    for (let i = 0; i < Math.max(1, nWorkers); i++) runners.push(makeRunner());
    const first = await runners[0].ready;
    const packId = first.packId;
    const hash = makeConfigHash(packId, cfg);
    store.index.packId = packId;
    store.index.configHash = hash;
    store.index.T = cfg.T;
    store.index.K = cfg.K;

    const progress = (key?: string, status?: 'done' | 'skipped' | 'failed') =>
      opts.onProgress?.({ total: items.length, done, skipped, failed: failed.length, key, status });

    const queue: ExtractJob[] = [];
    let nextId = 0;
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
      queue.push({ id: nextId++, key: it.key, path: it.path, source, outPath: store.pathFor(it.key) });
    }
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

    let respawns = 0;
    const drive = async (slot: number): Promise<void> => {
      const lane = async (): Promise<void> => {
        while (queue.length > 0 && !opts.signal?.aborted) {
          let runner = runners[slot];
          if (!runner.alive()) {
            if (respawns >= 3 * Math.max(1, nWorkers)) return;
            respawns++;
            runner = makeRunner();
            runners[slot] = runner;
            try {
              await runner.ready;
            } catch {
              continue;
            }
          }
          const job = queue.shift();
          if (!job) return;
          onResult(await runner.run(job));
        }
      };
      await Promise.all(Array.from({ length: inflight }, lane));
    };
    // the other runners may still be loading: a slot whose runner fails to load gives up
    await Promise.all(
      runners.map(async (r, slot) => {
        try {
          const info = await r.ready;
          if (info.packId !== packId) throw new DfanError('INTERNAL', 'workers loaded different packs');
        } catch {
          return;
        }
        await drive(slot);
      }),
    );
    if (queue.length > 0) {
      if (opts.signal?.aborted) interrupted = true;
      else {
        for (const job of queue.splice(0)) {
          onResult({
            id: job.id,
            ok: false,
            error: 'no extraction worker could run (all worker processes died)',
          });
        }
      }
    }
    await flush();
    return {
      total: items.length,
      done,
      skipped,
      failed,
      packId,
      configHash: hash,
      interrupted,
      timings,
      peakRssMB: {
        main: peakRssOfThisProcess(),
        workers: runners.map((r) => r.peakRssMB()).filter((x) => x > 0),
      },
      wallSeconds: (performance.now() - t0) / 1000,
    };
  } finally {
    await Promise.all(runners.map((r) => r.close().catch(() => {})));
    await flushing;
    try {
      store.flushSync();
    } catch {
      /* the files are the truth; the index is rebuilt when needed */
    }
    unlock();
  }
}
