/**
 * The protocol's JSON files (result.json per split, report.json): read leniently, since a missing
 * or damaged file only means the split is redone, and written atomically, so that a killed run
 * never leaves a half-written resume marker.
 */
import { readFileSync } from 'node:fs';
import { writeFileAtomicSync } from '../util/atomic.js';

/** The parsed file, or null when it is absent or not JSON. */
export function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return null;
  }
}

/** Pretty JSON with a final newline, through a temp file and a rename. */
export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomicSync(path, `${JSON.stringify(value, null, 2)}\n`);
}
