/** The npm-shipped ffmpeg/ffprobe fallback (what a machine with only `npm ci` uses). */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { before, test } from 'node:test';
import { decodeFrames, findFfmpeg, probe } from '../../src/video/index.js';
import { runCliSync } from '../helpers/cli.js';
import { testDir } from '../helpers/temp.js';
import { colourClip, meanRgb, nearestColour, vfrClip } from './fixtures.js';

function npmPackagesPresent(): string | false {
  try {
    const require = createRequire(import.meta.url);
    require.resolve('@ffmpeg-installer/ffmpeg');
    require.resolve('@ffprobe-installer/ffprobe');
    return false;
  } catch {
    return 'skipped: @ffmpeg-installer/ffmpeg or @ffprobe-installer/ffprobe not installed';
  }
}

const dir = testDir('dfan-video-');
let colours = '';
let vfr = '';
before(() => {
  colours = colourClip(dir); // made with whichever ffmpeg is preferred
  vfr = vfrClip(dir);
});

test('DFAN_FFMPEG_SOURCE=npm: probe and decode work with the npm binaries', {
  skip: npmPackagesPresent(),
}, async () => {
  const old = process.env.DFAN_FFMPEG_SOURCE;
  process.env.DFAN_FFMPEG_SOURCE = 'npm';
  try {
    const f = findFfmpeg();
    assert.equal(f.source, 'npm');
    assert.match(f.ffmpeg, /@ffmpeg-installer/);
    assert.match(f.ffprobe, /@ffprobe-installer/);
    const info = await probe(colours);
    assert.equal(info.frameCount, 100);
    const frames = await decodeFrames(colours, [0.5, 1.5, 2.5, 3.5, 99], { width: 16, height: 12 }, info);
    assert.deepEqual(
      frames.map((fr) => nearestColour(meanRgb(fr.data, 16))),
      ['red', 'lime', 'blue', 'white', 'white'],
    );
    const vi = await probe(vfr);
    const v = await decodeFrames(vfr, [0.5, 1.9, 2.05], { width: 16, height: 12 }, vi);
    assert.deepEqual(
      v.map((fr) => nearestColour(meanRgb(fr.data, 16))),
      ['red', 'lime', 'blue'],
    );
  } finally {
    if (old === undefined) delete process.env.DFAN_FFMPEG_SOURCE;
    else process.env.DFAN_FFMPEG_SOURCE = old;
  }
});

test('CLI with the npm binaries (no system ffmpeg on PATH)', { skip: npmPackagesPresent() }, () => {
  const r = runCliSync(['probe', '--json', colours], {
    env: { ...process.env, PATH: '/nonexistent', DFAN_FFMPEG_SOURCE: '' },
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).frameCount, 100);
});
