/** Running the built CLI (or npm, or an installed bin) beside the library, to hold their answers side by side. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../src/version.js';

export const CLI = join(projectRoot(), 'dist', 'src', 'cli.js');

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `file` with `args`; never rejects (a failure is a non-zero `code`). */
export function execute(
  file: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {},
): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { cwd: opts.cwd, env: opts.env, timeout: opts.timeout ?? 180_000, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** `dfan ...args` from this repository's build. */
export function run(args: string[]): Promise<Ran> {
  return execute(process.execPath, [CLI, ...args]);
}

/** A Prediction as JSON without `elapsed`, the one field that differs between two runs of one clip. */
export function timeless(p: object): object {
  const { elapsed: _elapsed, ...rest } = JSON.parse(JSON.stringify(p)) as { elapsed?: number };
  return rest;
}
