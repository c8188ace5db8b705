/**
 * A peer written in Python, run as a server by the benchmark: it prints one JSON line when ready,
 * then answers each JSON command line with one JSON line. Keeping it alive lets its epochs (or
 * clips) interleave with dfan's in one run, on warm data.
 */
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';

/** The interpreter for the peers: DFAN_PYTHON, else Debian's /usr/bin/python3 (where python3-torch lives). */
export function peerPython(): string {
  return process.env.DFAN_PYTHON ?? '/usr/bin/python3';
}

/** Why the PyTorch peers cannot run here, or null when they can. */
export function torchMissing(python = peerPython()): string | null {
  try {
    execFileSync(python, ['-c', 'import torch'], { stdio: 'ignore', timeout: 120_000 });
    return null;
  } catch {
    return `PyTorch is not importable by ${python} (Debian: apt-get install python3-torch libopenblas0-pthread; or set DFAN_PYTHON)`;
  }
}

export class PythonPeer {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: Interface;
  private readonly queue: Array<(line: string) => void> = [];
  private stderr = '';

  constructor(script: string, args: string[], python = peerPython()) {
    this.child = spawn(python, [script, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.lines = createInterface({ input: this.child.stdout });
    this.lines.on('line', (line) => this.queue.shift()?.(line));
    this.child.stderr.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
  }

  /** The next JSON line (the ready line, or the answer to a command). */
  next<T>(): Promise<T> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) =>
        reject(new Error(`peer exited (code ${code}) before answering: ${this.stderr.trim().slice(-800)}`));
      this.child.once('exit', onExit);
      this.queue.push((line) => {
        this.child.off('exit', onExit);
        try {
          resolve(JSON.parse(line) as T);
        } catch {
          reject(new Error(`peer printed a line that is not JSON: ${line.slice(0, 200)}`));
        }
      });
    });
  }

  async ask<T>(cmd: object): Promise<T> {
    const answer = this.next<T>();
    this.child.stdin.write(`${JSON.stringify(cmd)}\n`);
    return answer;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.stdin.write(`${JSON.stringify({ quit: true })}\n`);
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill(), 10_000);
    await exited;
    clearTimeout(timer);
    this.lines.close();
  }
}
