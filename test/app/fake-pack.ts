/**
 * A cheap fake feature pack (written as a JS module into a temp dir, loaded through
 * `--pack file.mjs`): its `face` stream reads the real decoded key frames and puts a "face" where
 * the frame is brightest, "happy" in the second half of the video. It exercises the whole
 * predict path (probe, decode, extraction, model, report) without the face detector.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const SOURCE = `
export function createPack() {
  return {
    id: 'fake-face@test',
    streams: [{ name: 'face', kind: 'vector', backbone: 'fake', description: 'fake face stream (tests only)' }],
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
      return { streams: { face: { shape: [T, 12], data } }, warnings: [] };
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
