/** Running the built CLI beside the library, so a test can hold their answers side by side. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../src/version.js';

export const CLI = join(projectRoot(), 'dist', 'src', 'cli.js');

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** `node <bin> ...args` (the repository's dfan unless `bin` says otherwise); never rejects. */
export function run(
  args: string[],
  opts: { bin?: string; cwd?: string; timeout?: number } = {},
): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [opts.bin ?? CLI, ...args],
      { cwd: opts.cwd, timeout: opts.timeout ?? 180_000, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** A Prediction as JSON without `elapsed`, the one field that differs between two runs of one clip. */
export function timeless(p: object): object {
  const { elapsed: _elapsed, ...rest } = JSON.parse(JSON.stringify(p)) as { elapsed?: number };
  return rest;
}
