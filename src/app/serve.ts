/** Wire the predict engine (warm pack) into the HTTP server and listen. */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { JobRunner } from './jobs.js';
import { frameImage, PredictEngine } from './predict.js';
import { buildServer, type DfanServer } from './server.js';
import type { ModelDescriptor } from './types.js';

/** Image-only or pipe formats that ffprobe reads as "video" but are not videos to analyse. */
const NOT_VIDEO_FORMATS = /(^|,)(image2|image2pipe|\w+_pipe|gif|apng|webp|png|mjpeg|tty|lavfi)(,|$)/;

export async function checkVideoFile(file: string): Promise<void> {
  const { probe } = await import('../video/probe.js');
  const info = await probe(file);
  if (NOT_VIDEO_FORMATS.test(info.format ?? '')) {
    throw new Error(
      `not a video container (ffprobe says "${info.format}"): upload an mp4, mov, mkv, webm or avi file`,
    );
  }
}

/**
 * Run one prediction on a tiny generated clip so that the first real job does not pay for
 * loading weights and compiling kernels. A failure here is only logged: jobs report their own.
 */
export async function warmUp(engine: PredictEngine, log?: (s: string) => void): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'dfan-warmup-'));
  try {
    const clip = join(dir, 'warmup.mp4');
    const { findFfmpeg, runCollect } = await import('../video/ffmpeg.js');
    const res = await runCollect(
      findFfmpeg().ffmpeg,
      ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=s=320x180:d=1:r=10', '-pix_fmt', 'yuv420p', clip],
      30_000,
    );
    if (res.code !== 0) throw new Error(res.stderr.trim().split('\n').pop() ?? 'ffmpeg failed');
    await engine.predictFile(clip);
  } catch (e) {
    log?.(`dfan serve: warm-up skipped (${e instanceof Error ? e.message : String(e)})`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface StartOptions {
  host: string;
  port: number;
  model: string;
  pack?: string;
  maxUploadMB?: number;
  ttlMinutes?: number;
  concurrency?: number;
  maxQueued?: number;
  cache?: boolean;
  workDir?: string;
  /** load (and warm up) the models before listening (default true) */
  warm?: boolean;
  /**
   * run jobs in this many warm worker processes (default: one per job slot), or 0 to run them
   * in the server process (the JS thread is then shared between HTTP and the face model)
   */
  workers?: number;
  /**
   * redis://HOST:PORT: hand jobs to `dfan worker`s through this queue instead of running them
   * here (the uploads' work dir must then be on storage every worker can reach)
   */
  queue?: string;
  log?: (s: string) => void;
}

export interface RunningServer {
  url: string;
  model: ModelDescriptor;
  app: DfanServer;
  /** process ids of the worker processes (empty with --workers 0) */
  workerPids(): number[];
  close(): Promise<void>;
}

export async function startServer(o: StartOptions): Promise<RunningServer> {
  const concurrency = o.concurrency ?? Math.max(1, cpus().length);
  const workers = o.workers ?? concurrency;
  const t0 = performance.now();
  let runner: JobRunner;
  let model: ModelDescriptor;
  let dispose: () => Promise<void>;
  let workerPids: () => number[] = () => [];
  if (o.queue) {
    // the models run in the workers; this process only needs the model's description
    const { loadPredictor } = await import('./predict.js');
    const predictor = await loadPredictor(o.model);
    model = predictor.descriptor;
    await predictor.dispose?.();
    const { queuePredictRunner } = await import('../queue/predict.js');
    const q = await queuePredictRunner({ url: o.queue, model: o.model, pack: o.pack, log: o.log });
    runner = q.runner;
    dispose = () => q.close();
  } else if (workers > 0) {
    const { PredictPool } = await import('./pool.js');
    const { pool, descriptor } = await PredictPool.start({
      size: Math.min(workers, concurrency),
      model: o.model,
      pack: o.pack,
      warm: o.warm !== false,
      log: o.log,
    });
    runner = pool.run;
    model = descriptor;
    dispose = () => pool.close();
    workerPids = () => pool.pids();
  } else {
    const engine = await PredictEngine.create({ model: o.model, pack: o.pack });
    if (o.warm !== false) {
      await engine.warm();
      await warmUp(engine, o.log);
    }
    runner = (job, onProgress) => engine.predictFile(job.file, { name: job.name, onProgress });
    model = engine.predictor.descriptor;
    dispose = () => engine.dispose();
  }
  if (o.warm !== false && !o.queue) {
    o.log?.(
      `dfan serve: models loaded and warmed up in ${((performance.now() - t0) / 1000).toFixed(1)} s` +
        (workers > 0 ? ` (${Math.min(workers, concurrency)} worker processes)` : ''),
    );
  }
  const { app, workDir } = await buildServer({
    runner,
    model,
    checkVideo: checkVideoFile,
    frame: frameImage,
    maxUploadMB: o.maxUploadMB,
    ttlMinutes: o.ttlMinutes,
    // a job slot per worker process; through a queue, the slots are jobs handed to the workers
    concurrency: o.queue ? (o.concurrency ?? 16) : workers > 0 ? Math.min(workers, concurrency) : concurrency,
    maxQueued: o.maxQueued,
    cache: o.cache,
    workDir: o.workDir ? resolve(o.workDir) : undefined,
  });
  if (o.queue) {
    o.log?.(
      `dfan serve: jobs go to the queue at ${o.queue} (run \`dfan worker --queue ${o.queue}\`); ` +
        `uploads in ${workDir}: workers on other machines must see this path`,
    );
  }
  const address = await app.listen({ host: o.host, port: o.port });
  return {
    url: address.replace('[::1]', 'localhost'),
    model,
    app,
    workerPids,
    close: async () => {
      await app.close();
      await dispose();
    },
  };
}
