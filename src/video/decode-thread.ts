/**
 * The decode thread, main-thread side: `decodeFrames(…, { onFrame })` runs its decode in one
 * worker thread per process (src/video/decode-worker.ts), so that work the main thread does
 * meanwhile (onnxruntime inference blocks the JS thread) never stalls ffmpeg on a full pipe.
 * Frames come back as messages and go to `onFrame` as they arrive.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DfanError, type DfanErrorCode } from '../errors.js';
import type { DecodeReply, DecodeRequest } from './decode-worker.js';
import { knownFrameTimes } from './probe.js';
import type { DecodeOptions, Frame, VideoInfo } from './types.js';

/** Where a decode's warnings go when the caller gives no onWarning. */
export function warnDefault(msg: string): void {
  process.stderr.write(`dfan: warning: ${msg}\n`);
}

interface Job {
  out: Frame[];
  opts: DecodeOptions;
  resolve: (frames: Frame[]) => void;
  reject: (e: unknown) => void;
}

interface DecodeWorker {
  decode(path: string, times: number[], opts: DecodeOptions, info?: VideoInfo): Promise<Frame[]>;
}

let worker: DecodeWorker | null | undefined;

/** The process's decode thread (started on first use), or null when it cannot run here. */
export function decodeWorker(): DecodeWorker | null {
  if (worker !== undefined) return worker;
  const file = fileURLToPath(new URL('./decode-worker.js', import.meta.url));
  if (!existsSync(file) || process.env.DFAN_DECODE_THREAD === '0') {
    worker = null;
    return worker;
  }
  const jobs = new Map<number, Job>();
  let nextId = 1;
  let w: Worker | null = null;
  const fail = (e: unknown) => {
    for (const j of jobs.values()) j.reject(e);
    jobs.clear();
    w = null;
  };
  const start = (): Worker => {
    const t = new Worker(file);
    t.on('message', (m: DecodeReply) => {
      const job = jobs.get(m.id);
      if (!job) return;
      if ('index' in m) {
        const frame: Frame = { time: m.time, width: m.width, height: m.height, data: m.data };
        if (m.pts !== undefined) frame.pts = m.pts;
        job.out[m.index] = frame;
        try {
          job.opts.onFrame?.(m.index, frame);
        } catch (e) {
          // as in-process: a throwing onFrame fails this decode (the rest of its frames are ignored)
          jobs.delete(m.id);
          if (jobs.size === 0) t.unref();
          job.reject(e);
        }
      } else if ('warning' in m) (job.opts.onWarning ?? warnDefault)(m.warning);
      else {
        jobs.delete(m.id);
        if (jobs.size === 0) t.unref();
        if ('done' in m) job.resolve(job.out);
        else {
          const e = m.error;
          job.reject(
            e.code
              ? new DfanError(e.code as DfanErrorCode, e.message, { file: e.file, hint: e.hint })
              : new DfanError('INTERNAL', `decode thread: ${e.message}`, { file: e.file }),
          );
        }
      }
    });
    t.on('error', (e) => fail(new DfanError('INTERNAL', `decode thread failed: ${e.message}`, { cause: e })));
    t.on('exit', () => fail(new DfanError('INTERNAL', 'decode thread exited')));
    t.unref();
    return t;
  };
  worker = {
    decode(path, times, opts, info) {
      w ??= start();
      const t = w;
      const id = nextId++;
      const { onFrame: _f, onWarning: _w, ...plain } = opts;
      return new Promise<Frame[]>((resolve, reject) => {
        jobs.set(id, { out: new Array(times.length), opts, resolve, reject });
        t.ref();
        const known = knownFrameTimes(path);
        t.postMessage({ id, path, times, opts: plain, info, known } satisfies DecodeRequest);
      });
    },
  };
  return worker;
}
