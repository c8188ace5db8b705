/** Tiny generated videos for the extraction tests (ffmpeg lavfi sources), and sample features. */

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { VideoFeatures } from '../../src/features/types.js';
import { projectRoot } from '../../src/version.js';
import { lavfiClip } from '../helpers/ffmpeg.js';

/** Write a `seconds`-long video of a solid colour (plus a moving box so frames differ). */
export function makeVideo(path: string, colour = 'red', seconds = 1, size = '64x48'): string {
  return lavfiClip(
    path,
    `color=c=${colour}:s=${size}:d=${seconds}:r=10,drawbox=x=t*20:y=4:w=8:h=8:c=white:t=fill,format=yuv420p`,
  );
}

export const FAKE_PACK = join(projectRoot(), 'dist', 'test', 'features', 'fake-pack.js');

export function builtFakePack(): string {
  if (!existsSync(FAKE_PACK)) throw new Error(`build first: ${FAKE_PACK} is missing`);
  return FAKE_PACK;
}

/** One video's features: an object map [T,3,3,8], an action vector [T,6], the last snippet padding. */
export function sampleFeatures(key: string, configHash = 'cfg1', T = 4, seed = 1): VideoFeatures {
  const map = new Float32Array(T * 3 * 3 * 8).map((_, i) => Math.sin(i * seed) * 5);
  const vec = new Float32Array(T * 6).map((_, i) => Math.cos(i * seed) / 3);
  return {
    meta: {
      source: `videos/${key}.mp4`,
      key,
      sourceSize: 1234,
      sourceHash: 'ab'.repeat(32),
      duration: 2 * T,
      packId: 'test@1',
      configHash,
      dfanVersion: '0.1.0',
      createdAt: '2026-01-01T00:00:00.000Z',
      streams: [
        { name: 'object', kind: 'map', backbone: 'b1', description: 'a map' },
        { name: 'action', kind: 'vector', backbone: 'b2', description: 'a vector' },
      ],
      warnings: ['no audio stream'],
    },
    snippets: Array.from({ length: T }, (_, i) => ({ start: i * 2, end: i * 2 + 2, keyTime: i * 2 + 1 })),
    streams: { object: { shape: [T, 3, 3, 8], data: map }, action: { shape: [T, 6], data: vec } },
    mask: Float32Array.from({ length: T }, (_, i) => (i < T - 1 ? 1 : 0)),
  };
}
