/** Tiny generated videos for the extraction tests (ffmpeg lavfi sources). */

import { existsSync } from 'node:fs';
import { join } from 'node:path';
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
export const CLI = join(projectRoot(), 'dist', 'src', 'cli.js');

export function builtFakePack(): string {
  if (!existsSync(FAKE_PACK)) throw new Error(`build first: ${FAKE_PACK} is missing`);
  return FAKE_PACK;
}
