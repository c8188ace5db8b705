/**
 * A private redis-server for the queue tests: a free loopback port, no persistence, a temp dir,
 * killed at the end. Tests skip with a message when `redis-server` is not on PATH (Debian:
 * `apt-get install redis-server`; .ci/run installs it).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export function redisServerBin(): string | null {
  for (const d of (process.env.PATH ?? '').split(delimiter)) {
    const p = join(d, 'redis-server');
    if (d && existsSync(p)) return p;
  }
  return null;
}

/** `{ skip: needRedis() }`: a reason when redis-server cannot be had. */
export function needRedis(): string | false {
  if (!redisServerBin()) return 'skipped: redis-server is not on PATH (apt-get install redis-server)';
  const v = spawnSync(redisServerBin() as string, ['--version'], { encoding: 'utf8', timeout: 5000 });
  return v.status === 0 ? false : `skipped: redis-server does not run (${v.stderr.trim().slice(0, 120)})`;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection({ host: '127.0.0.1', port });
    let out = '';
    const done = (ok: boolean) => {
      c.destroy();
      resolve(ok);
    };
    c.setTimeout(500, () => done(false));
    c.on('error', () => done(false));
    c.on('connect', () => c.write('PING\r\n'));
    c.on('data', (d) => {
      out += d.toString();
      if (out.includes('+PONG')) done(true);
    });
  });
}

export class TestRedis {
  private child: ChildProcess | null = null;
  private readonly dir = mkdtempSync(join(tmpdir(), 'dfan-redis-'));
  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<TestRedis> {
    const r = new TestRedis(await freePort());
    await r.up();
    return r;
  }

  /** (Re)start on the same port, empty (no persistence); waits until it answers (≤ 10 s). */
  async up(): Promise<void> {
    const bin = redisServerBin();
    if (!bin) throw new Error('redis-server is not on PATH');
    this.child = spawn(
      bin,
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        this.dir,
      ],
      { stdio: 'ignore' },
    );
    for (let i = 0; i < 100; i++) {
      if (await ping(this.port)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`redis-server did not answer on port ${this.port}`);
  }

  /** Stop it (SIGKILL: as abrupt as a crash); resolves when it has exited. */
  async down(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const c = this.child;
    this.child = null;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill(signal);
    await exited;
  }

  async stop(): Promise<void> {
    await this.down('SIGTERM');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
