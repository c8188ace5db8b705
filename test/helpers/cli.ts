/**
 * The built CLI as a user runs it (`node dist/src/cli.js …`, spawned: real exit codes and output),
 * and any other program run beside it (npm, an installed bin).
 */
import { execFile, type SpawnSyncOptionsWithStringEncoding, spawnSync } from 'node:child_process';
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

/** `dfan ...args` from this repository's build; never rejects. */
export function runCli(args: string[], opts: { timeout?: number } = {}): Promise<Ran> {
  return execute(process.execPath, [CLI, ...args], opts);
}

/** `dfan ...args` from this repository's build, waited for; its output as text. */
export function runCliSync(args: string[], opts: Omit<SpawnSyncOptionsWithStringEncoding, 'encoding'> = {}) {
  return spawnSync(process.execPath, [CLI, ...args], { ...opts, encoding: 'utf8' });
}
