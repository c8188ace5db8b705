/** Test helpers for the app area: tiny generated videos, multipart bodies, fake predictions. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { toPrediction } from '../../src/app/explain.js';
import type { Prediction } from '../../src/app/types.js';
import { zeroShotPredict, zeroShotPredictor } from '../../src/app/zero-shot.js';
import { FACE_LAYOUT, type VideoFeatures } from '../../src/features/types.js';
import { lavfiClip, X264_FAST } from '../helpers/ffmpeg.js';

/** A small H.264 mp4 of one colour (distinct colours → distinct content hashes). */
export function makeClip(dir: string, name: string, color = 'red', seconds = 1, size = '160x120'): string {
  return lavfiClip(join(dir, name), `color=c=${color}:s=${size}:d=${seconds}:r=10,format=yuv420p`, [
    ...X264_FAST,
    '-movflags',
    '+faststart',
  ]);
}

/** multipart/form-data body with one file field. */
export function multipartBody(
  field: string,
  filename: string,
  content: Buffer,
  contentType = 'video/mp4',
): { body: Buffer; headers: Record<string, string> } {
  const boundary = `----dfantest${Math.random().toString(16).slice(2)}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${filename}"\r\nContent-Type: ${contentType}\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const body = Buffer.concat([head, content, tail]);
  return {
    body,
    headers: {
      'content-type': `multipart/form-data; boundary=${boundary}`,
      'content-length': String(body.length),
    },
  };
}

/** POST a file to the server's /api/jobs as the page does (field "video"). */
export async function uploadFile(
  app: FastifyInstance,
  file: string,
  name = 'clip.mp4',
): Promise<Awaited<ReturnType<FastifyInstance['inject']>>> {
  const { body, headers } = multipartBody('video', name, await readFile(file));
  return app.inject({ method: 'POST', url: '/api/jobs', payload: body, headers });
}

/** Poll GET /api/jobs/:id until the job is done or failed; its public JSON. */
export async function waitDone(
  app: FastifyInstance,
  id: string,
  timeoutMs = 30_000,
): Promise<Record<string, unknown>> {
  for (const end = Date.now() + timeoutMs; Date.now() < end; ) {
    const j = (await app.inject({ method: 'GET', url: `/api/jobs/${id}` })).json() as Record<string, unknown>;
    if (j.status === 'done' || j.status === 'error') return j;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`job ${id} did not finish in ${timeoutMs} ms`);
}

/** A valid zero-shot Prediction built from synthetic features (a face at the centre, happy at t=2). */
export function fakePrediction(video: string, T = 4): Prediction {
  const data = new Float32Array(T * FACE_LAYOUT.size);
  for (let t = 0; t < T; t++) {
    const r = t * FACE_LAYOUT.size;
    data[r] = 1;
    data[r + 1] = 0.4;
    data[r + 2] = 0.3;
    data[r + 3] = 0.2;
    data[r + 4] = 0.3;
    data[r + FACE_LAYOUT.expressions[t === 2 ? 3 : 6]] = 1;
  }
  const features: VideoFeatures = {
    meta: {
      source: video,
      key: video,
      sourceSize: 0,
      sourceHash: '',
      duration: T / 4,
      packId: 'fake',
      configHash: '',
      dfanVersion: '0',
      createdAt: '',
      streams: [],
      warnings: [],
    },
    snippets: Array.from({ length: T }, (_, t) => ({
      start: t / 4,
      end: (t + 1) / 4,
      keyTime: (t + 0.5) / 4,
    })),
    streams: { face: { shape: [T, FACE_LAYOUT.size], data } },
  };
  return toPrediction(video, features, zeroShotPredict(features), zeroShotPredictor(), {
    width: 160,
    height: 120,
  });
}
