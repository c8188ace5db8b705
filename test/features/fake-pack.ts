/**
 * A cheap FeaturePack for the extraction tests: real decoding through src/video, trivial maths.
 *   object  [T,2,2,3] mean colour of each quadrant of the key frame (0..1)
 *   action  [T,4]     mean colour of the clip frames + mean absolute change between clip frames
 * DFAN_FAKE_PACK_LOG=file appends "<pid> <video path>" per extracted video (a recompute counter);
 * DFAN_FAKE_PACK_DELAY_MS=n sleeps n ms per video (to kill a run in the middle).
 */
import { appendFileSync } from 'node:fs';
import type { FeaturePack, PackInput } from '../../src/backbones/types.js';
import { quadrantColours } from '../helpers/quadrants.js';

export function createPack(): FeaturePack {
  return {
    id: 'fake@1',
    streams: [
      {
        name: 'object',
        kind: 'map',
        backbone: 'fake/quadrant-colour',
        description: 'mean colour per quadrant (test pack)',
      },
      {
        name: 'action',
        kind: 'vector',
        backbone: 'fake/clip-colour',
        description: 'clip colour and change (test pack)',
      },
    ],
    async extract(input: PackInput) {
      const T = input.snippets.length;
      const action = new Float32Array(T * 4);
      const keys = await input.decode(
        input.snippets.map((s) => s.keyTime),
        { width: 8, height: 8, mode: 'stretch' },
      );
      const object = quadrantColours(keys);
      const clipTimes = input.snippets.flatMap((s) => s.clipTimes.slice(0, 2));
      const clips = await input.decode(clipTimes, { width: 4, height: 4, mode: 'stretch' });
      for (let t = 0; t < T; t++) {
        const a = clips[t * 2].data;
        const b = clips[t * 2 + 1].data;
        let diff = 0;
        for (let i = 0; i < a.length; i++) {
          action[t * 4 + (i % 3)] += a[i] / 255 / 16;
          diff += Math.abs(a[i] - b[i]) / 255 / a.length;
        }
        action[t * 4 + 3] = diff;
      }
      const delay = Number(process.env.DFAN_FAKE_PACK_DELAY_MS ?? 0);
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      if (process.env.DFAN_FAKE_PACK_LOG)
        appendFileSync(process.env.DFAN_FAKE_PACK_LOG, `${process.pid} ${input.info.path}\n`);
      return {
        streams: { object: { shape: [T, 2, 2, 3], data: object }, action: { shape: [T, 4], data: action } },
        warnings: input.info.hasAudio ? [] : ['no audio stream'],
      };
    },
    async dispose() {},
  };
}
