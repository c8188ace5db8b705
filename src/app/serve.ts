/** Wire the predict engine (warm pack) into the HTTP server and listen. */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { JobRunner } from './jobs.js';
import { convertForBrowser, oneAtATime, type PlaybackPlan, playbackPlan } from './playback.js';
import { frameImage, PredictEngine } from './predict.js';
import { buildServer, type DfanServer, type ServerOptions } from './server.js';
import type { ModelDescriptor } from './types.js';

/** Image-only or pipe formats that ffprobe reads as "video" but are not videos to analyse. */
const NOT_VIDEO_FORMATS = /(^|,)(image2|image2pipe|\w+_pipe|gif|apng|webp|png|mjpeg|tty|lavfi)(,|$)/;

/** Throws when an upload is not a video to analyse; else says whether a browser plays it as it is. */
export async function checkVideoFile(file: string): Promise<PlaybackPlan> {
  const { probe } = await import('../video/probe.js');
  const info = await probe(file);
  if (NOT_VIDEO_FORMATS.test(info.format ?? '')) {
    throw new Error(
      `not a video container (ffprobe says "${info.format}"): upload an mp4, mov, mkv, webm or avi file`,
    );
  }
  return playbackPlan(info);
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

/**
 * Jobs run elsewhere: e.g. `dfan worker`s behind a Redis queue (src/queue/predict.ts). The command
 * builds it; this process then loads only the model's description.
 */
export interface RemoteRunner {
  runner: JobRunner;
  close(): Promise<void>;
  /** where the jobs go, for the start-up line (e.g. the queue's URL and how to start workers) */
  describe: string;
}

export interface StartOptions
  extends Pick<
    ServerOptions,
    'maxUploadMB' | 'ttlMinutes' | 'concurrency' | 'maxQueued' | 'cache' | 'workDir'
  > {
  host: string;
  port: number;
  model: string;
  pack?: string;
  /** load (and warm up) the models before listening (default true) */
  warm?: boolean;
  /**
   * run jobs in this many warm worker processes (default: one per job slot), or 0 to run them
   * in the server process (the JS thread is then shared between HTTP and the face model)
   */
  workers?: number;
  /**
   * hand the jobs to this runner instead of running them here (the uploads' work dir must then
   * be on storage every worker can reach)
   */
  remote?: RemoteRunner;
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

/** The runner of jobs, the model's description and how to stop them. */
interface Runners {
  runner: JobRunner;
  model: ModelDescriptor;
  dispose: () => Promise<void>;
  workerPids: () => number[];
  /** jobs at a time */
  slots: number;
}

/** Jobs run in this machine: warm worker processes, or this process with --workers 0. */
async function localRunners(o: StartOptions): Promise<Runners> {
  const concurrency = o.concurrency ?? Math.max(1, cpus().length);
  const workers = o.workers ?? concurrency;
  const t0 = performance.now();
  let r: Runners;
  if (workers > 0) {
    const { PredictPool } = await import('./pool.js');
    const size = Math.min(workers, concurrency);
    const { pool, descriptor } = await PredictPool.start({
      size,
      model: o.model,
      pack: o.pack,
      warm: o.warm !== false,
      log: o.log,
    });
    // a job slot per worker process
    r = {
      runner: pool.run,
      model: descriptor,
      dispose: () => pool.close(),
      workerPids: () => pool.pids(),
      slots: size,
    };
  } else {
    const engine = await PredictEngine.create({ model: o.model, pack: o.pack });
    if (o.warm !== false) {
      await engine.warm();
      await warmUp(engine, o.log);
    }
    r = {
      runner: (job, onProgress) => engine.predictFile(job.file, { name: job.name, onProgress }),
      model: engine.predictor.descriptor,
      dispose: () => engine.dispose(),
      workerPids: () => [],
      slots: concurrency,
    };
  }
  if (o.warm !== false) {
    o.log?.(
      `dfan serve: models loaded and warmed up in ${((performance.now() - t0) / 1000).toFixed(1)} s` +
        (workers > 0 ? ` (${r.slots} worker processes)` : ''),
    );
  }
  return r;
}

/** Jobs run elsewhere (o.remote): this process needs only the model's description. */
async function remoteRunners(o: StartOptions, remote: RemoteRunner): Promise<Runners> {
  const { loadPredictor } = await import('./predict.js');
  const predictor = await loadPredictor(o.model);
  await predictor.dispose?.();
  return {
    runner: remote.runner,
    model: predictor.descriptor,
    dispose: () => remote.close(),
    workerPids: () => [],
    // the slots are jobs handed to the workers
    slots: o.concurrency ?? 16,
  };
}

export async function startServer(o: StartOptions): Promise<RunningServer> {
  const remote = o.remote;
  const r = remote
    ? await remoteRunners(o, remote).catch(async (e) => {
        await remote.close();
        throw e;
      })
    : await localRunners(o);
  const { app, workDir } = await buildServer({
    runner: r.runner,
    model: r.model,
    checkVideo: checkVideoFile,
    convert: oneAtATime(convertForBrowser),
    frame: frameImage,
    maxUploadMB: o.maxUploadMB,
    ttlMinutes: o.ttlMinutes,
    concurrency: r.slots,
    maxQueued: o.maxQueued,
    cache: o.cache,
    workDir: o.workDir ? resolve(o.workDir) : undefined,
  });
  if (o.remote)
    o.log?.(
      `dfan serve: ${o.remote.describe}; uploads in ${workDir}: workers on other machines must see this path`,
    );
  const address = await app.listen({ host: o.host, port: o.port });
  return {
    url: address.replace('[::1]', 'localhost'),
    model: r.model,
    app,
    workerPids: r.workerPids,
    close: async () => {
      await app.close();
      await r.dispose();
    },
  };
}
