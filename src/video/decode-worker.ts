/**
 * Worker-thread side of `decodeFrames(…, { onFrame })` (src/video/decode.ts): runs the decode in
 * this thread and posts each frame to the main thread as ffmpeg delivers it, so that work the
 * main thread does meanwhile (e.g. onnxruntime inference, which blocks the JS thread) never
 * stalls ffmpeg on a full pipe. One worker serves every decode of the process, by request id.
 */
import { parentPort } from 'node:worker_threads';
import { DfanError } from '../errors.js';
import { decodeFrameStream } from './decode.js';
import { seedFrameTimes } from './probe.js';
import type { DecodeOptions, VideoInfo } from './types.js';

export interface DecodeRequest {
  id: number;
  path: string;
  times: number[];
  opts: Omit<DecodeOptions, 'onFrame' | 'onWarning'>;
  info?: VideoInfo;
  /** the video's frame timestamps as the requesting thread knows them (its probe read them) */
  known?: number[] | null;
}

export type DecodeReply =
  | { id: number; index: number; time: number; pts?: number; width: number; height: number; data: Uint8Array }
  | { id: number; warning: string }
  | { id: number; done: true }
  | { id: number; error: { code?: string; message: string; file?: string; hint?: string } };

const port = parentPort;
if (port) {
  port.on('message', async (req: DecodeRequest) => {
    const post = (m: DecodeReply) => port.postMessage(m);
    try {
      if (req.known !== undefined) seedFrameTimes(req.path, req.known);
      const opts: DecodeOptions = { ...req.opts, onWarning: (warning) => post({ id: req.id, warning }) };
      for await (const { index, frame } of decodeFrameStream(req.path, req.times, opts, req.info)) {
        post({ id: req.id, index, ...frame });
      }
      post({ id: req.id, done: true });
    } catch (e) {
      const err = e as Error;
      post({
        id: req.id,
        error:
          e instanceof DfanError
            ? { code: e.code, message: e.message, file: e.file, hint: e.hint }
            : { message: err?.message ?? String(e) },
      });
    }
  });
}
