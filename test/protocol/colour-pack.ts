/**
 * A cheap FeaturePack for the protocol tests: real decoding through src/video, trivial maths, so a
 * generated dataset whose classes differ by colour is learnable in a few epochs.
 *   object  [T,2,2,3] mean colour of each quadrant of the key frame (0..1)
 *   action  [T,3]     mean absolute change between the first two clip frames, per channel
 */
import type { FeaturePack, PackInput } from '../../src/backbones/types.js';
import { quadrantColours } from '../helpers/quadrants.js';

export function createPack(): FeaturePack {
  return {
    id: 'test-colour@1',
    streams: [
      {
        name: 'object',
        kind: 'map',
        backbone: 'test/quadrant-colour',
        description: 'TEST PACK: mean colour per quadrant of the key frame',
      },
      {
        name: 'action',
        kind: 'vector',
        backbone: 'test/clip-change',
        description: 'TEST PACK: mean colour change between two clip frames',
      },
    ],
    async extract(input: PackInput) {
      const T = input.snippets.length;
      const action = new Float32Array(T * 3);
      // one decode per video (each ffmpeg start costs ~0.4 s here): key frames, then 2 clip frames per snippet
      const times = [
        ...input.snippets.map((s) => s.keyTime),
        ...input.snippets.flatMap((s) => [s.clipTimes[0], s.clipTimes[Math.min(1, s.clipTimes.length - 1)]]),
      ];
      const frames = await input.decode(times, { width: 8, height: 8, mode: 'stretch' });
      const object = quadrantColours(frames.slice(0, T));
      for (let t = 0; t < T; t++) {
        const a = frames[T + 2 * t].data;
        const b = frames[T + 2 * t + 1].data;
        for (let i = 0; i < a.length; i++) action[t * 3 + (i % 3)] += Math.abs(a[i] - b[i]) / 255 / 64;
      }
      return {
        streams: { object: { shape: [T, 2, 2, 3], data: object }, action: { shape: [T, 3], data: action } },
        warnings: [],
      };
    },
    async dispose() {},
  };
}
