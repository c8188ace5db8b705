/** Spawning `dfan worker` / `dfan extract --queue` for the queue tests, with bounded waits. */
import { type ChildProcess, spawn } from 'node:child_process';
import { CLI } from '../helpers/cli.js';

export interface Proc {
  child: ChildProcess;
  /** stderr + stdout so far */
  out(): string;
  /** resolves with the exit code (null when killed by a signal) */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** wait until the output matches (bounded) */
  waitFor(re: RegExp, ms?: number): Promise<void>;
}

export function dfan(args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    // 'close', not 'exit': all of the output has been read by then
    child.once('close', (code, signal) => r({ code, signal })),
  );
  return {
    child,
    out: () => out,
    exited,
    async waitFor(re, ms = 20_000) {
      const t0 = Date.now();
      while (!re.test(out)) {
        if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${re} in:\n${out}`);
        if (child.exitCode !== null) {
          await exited; // the rest of its output
          if (re.test(out)) return;
          throw new Error(`process exited (${child.exitCode}) before ${re}:\n${out}`);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

/** Run to the end (bounded: SIGKILL after `ms`). */
export async function dfanRun(args: string[], env: Record<string, string> = {}, ms = 60_000) {
  const p = dfan(args, env);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), ms);
  const r = await p.exited;
  clearTimeout(timer);
  return { ...r, out: p.out() };
}

export async function until(
  cond: () => Promise<boolean> | boolean,
  ms = 20_000,
  what = 'condition',
): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * A worker on `url` with the fake pack, ready to take jobs. Every test worker checks for stalled
 * jobs every 0.5 s: the check is queue-wide and rate-limited by the interval of the worker that
 * ran it last, so one worker left at the default 30 s would delay the others' recovery.
 */
export async function startWorker(
  url: string,
  pack: string,
  extra: string[] = [],
  env: Record<string, string> = {},
) {
  const args = ['worker', '--queue', url, '--pack', pack, '--only', 'extract', '--stalled-interval', '500'];
  const w = dfan([...args, ...extra], env);
  await w.waitFor(/taking extract jobs/);
  return w;
}

export async function stopWorker(w: Proc, signal: NodeJS.Signals = 'SIGTERM') {
  if (w.child.exitCode !== null || w.child.signalCode !== null) return w.exited;
  w.child.kill(signal);
  const timer = setTimeout(() => w.child.kill('SIGKILL'), 15_000);
  const r = await w.exited;
  clearTimeout(timer);
  return r;
}
