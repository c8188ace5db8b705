/**
 * Access to ../shared (real clips, split lists, models). Tests that need it skip with a clear
 * message when it is absent: the project must work on a fresh machine without it.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { projectRoot } from '../../src/version.js';

export const SHARED_DIR = process.env.DFAN_SHARED ?? resolve(projectRoot(), '..', 'shared');

export function sharedPath(...parts: string[]): string {
  return join(SHARED_DIR, ...parts);
}

/** Returns a skip reason (string) when the file is missing, else false — use as `{ skip: needShared('media/x.mp4') }`. */
export function needShared(...parts: string[]): string | false {
  const p = sharedPath(...parts);
  return existsSync(p) ? false : `skipped: ${p} is absent (real test material lives in ../shared)`;
}

/** Slow suites run only with DFAN_SLOW=1 (`npm run test:slow`). */
export function needSlow(): string | false {
  return process.env.DFAN_SLOW === '1' ? false : 'skipped: slow suite (run `npm run test:slow`)';
}
