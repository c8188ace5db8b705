/**
 * A cheap fake feature pack (written as a JS module into a temp dir, loaded through
 * `--pack file.mjs`): its `face` stream reads the real decoded key frames and puts a "face" where
 * the frame is brightest, "happy" in the second half of the video; its `object` map is the mean
 * colour of each third of the frame. It exercises the whole
 * predict path (probe, decode, extraction, model, report) without the face detector.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const SOURCE = `
export function createPack() {
  return {
    id: 'fake-face@test',
    streams: [
      { name: 'face', kind: 'vector', backbone: 'fake', description: 'fake face stream (tests only)' },
      {
        name: 'object',
        kind: 'map',
        backbone: 'fake',
        description: 'fake 3x3 colour map (tests only)',
        fit: 'stretch',
      },
    ],
    async extract({ info, snippets, decode }) {
      const frames = await decode(snippets.map((s) => s.keyTime), { width: 64, height: 48, mode: 'stretch' });
      const T = snippets.length;
      const data = new Float32Array(T * 12);
      frames.forEach((f, t) => {
        let best = -1, bx = 0, by = 0;
        for (let y = 0; y < f.height; y += 4) for (let x = 0; x < f.width; x += 4) {
          const p = (y * f.width + x) * 3;
          const v = f.data[p] + f.data[p + 1] + f.data[p + 2];
          if (v > best) { best = v; bx = x; by = y; }
        }
        const r = t * 12;
        data[r] = 1;
        data[r + 1] = Math.max(0, bx / f.width - 0.1);
        data[r + 2] = Math.max(0, by / f.height - 0.1);
        data[r + 3] = 0.2;
        data[r + 4] = 0.2;
        const late = snippets[t].keyTime > info.duration / 2;
        data[r + 5 + (late ? 3 : 6)] = 1;
      });
      // object: [T, 3, 3, 4] mean r, g, b, brightness of each third of the frame
      const map = new Float32Array(T * 36);
      frames.forEach((f, t) => {
        for (let y = 0; y < f.height; y++) for (let x = 0; x < f.width; x++) {
          const cell = Math.min(2, Math.floor((y * 3) / f.height)) * 3 + Math.min(2, Math.floor((x * 3) / f.width));
          const p = (y * f.width + x) * 3;
          const o = t * 36 + cell * 4;
          const n = (f.width * f.height) / 9;
          map[o] += f.data[p] / 255 / n;
          map[o + 1] += f.data[p + 1] / 255 / n;
          map[o + 2] += f.data[p + 2] / 255 / n;
          map[o + 3] += (f.data[p] + f.data[p + 1] + f.data[p + 2]) / 765 / n;
        }
      });
      return { streams: { face: { shape: [T, 12], data }, object: { shape: [T, 3, 3, 4], data: map } }, warnings: [] };
    },
    async dispose() {},
  };
}
`;

export async function writeFakePack(dir: string): Promise<string> {
  const p = join(dir, 'fake-face-pack.mjs');
  await writeFile(p, SOURCE);
  return p;
}
