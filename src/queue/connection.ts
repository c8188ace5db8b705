/**
 * The Redis edge of the job queue: one URL (`--queue redis://HOST:PORT[/DB]`), BullMQ connection
 * options that keep reconnecting (a worker or a waiting `dfan extract` outlives a Redis restart),
 * a quick reachability check that fails with the URL and the fix, and a logger for lost / back.
 */
import { DfanError } from '../errors.js';

/** BullMQ key prefix of every dfan queue (keys look like `dfan:extract:<jobId>`). */
export const QUEUE_PREFIX = 'dfan';
export const EXTRACT_QUEUE = 'extract';
export const PREDICT_QUEUE = 'predict';

export const REDIS_HINT = 'start redis-server or pass --queue redis://HOST:PORT';

/** Validate a queue URL (redis:// or rediss://, host, optional port and db). */
export function parseQueueUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new DfanError('BAD_ARGUMENT', `--queue must be a URL like redis://127.0.0.1:6379 (got "${url}")`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new DfanError('BAD_ARGUMENT', `--queue must be a redis:// or rediss:// URL (got "${url}")`, {
      hint: 'e.g. --queue redis://127.0.0.1:6379',
    });
  }
  if (!u.hostname) throw new DfanError('BAD_ARGUMENT', `--queue needs a host (got "${url}")`);
  return url;
}

/** The URL without a password, for messages. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}

/**
 * ioredis options for BullMQ: retry forever with a capped delay (0.5 s, 1 s, … 5 s), so that work
 * resumes by itself when Redis is back. `maxRetriesPerRequest: null` is what BullMQ workers need.
 */
export function connectionOptions(url: string): Record<string, unknown> {
  return {
    url,
    maxRetriesPerRequest: null,
    retryStrategy: (times: number) => Math.min(500 * times, 5000),
    connectionName: `dfan-${process.pid}`,
  };
}

/** Ping Redis once (bounded by `timeoutMs`); throws QUEUE_UNAVAILABLE naming the URL and the fix. */
export async function checkRedis(url: string, timeoutMs = 3000): Promise<void> {
  const { Redis } = await import('ioredis');
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  let first: unknown = null; // the socket's own error (ECONNREFUSED …) says more than "closed"
  client.on('error', (e) => {
    first ??= e;
  });
  try {
    await Promise.race([
      client.connect().then(() => client.ping()),
      new Promise((_, reject) => setTimeout(() => reject(new Error('timed out')), timeoutMs).unref()),
    ]);
  } catch (e) {
    throw unavailable(url, first ?? e);
  } finally {
    client.disconnect();
  }
}

export function unavailable(url: string, cause: unknown): DfanError {
  const why = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
  return new DfanError('QUEUE_UNAVAILABLE', `cannot reach Redis at ${safeUrl(url)} (${why})`, {
    hint: REDIS_HINT,
    cause,
  });
}

/**
 * Say once when the connection is lost and once when it is back (BullMQ emits an error per retry).
 * Returns the handlers to attach to a Queue / Worker / QueueEvents.
 */
export function connectionLogger(url: string, log: (s: string) => void, who: string) {
  let down = false;
  return {
    onError: (e: unknown) => {
      if (down) return;
      down = true;
      const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
      log(`${who}: lost Redis at ${safeUrl(url)} (${why}); retrying every ≤ 5 s — ${REDIS_HINT}`);
    },
    onReady: () => {
      if (!down) return;
      down = false;
      log(`${who}: Redis at ${safeUrl(url)} is back; resuming`);
    },
    get down() {
      return down;
    },
  };
}

/** A plain ioredis client on the queue's Redis (run records beside BullMQ's keys). */
export async function redisClient(url: string) {
  const { Redis } = await import('ioredis');
  const client = new Redis(url, {
    maxRetriesPerRequest: null,
    retryStrategy: (times: number) => Math.min(500 * times, 5000),
  });
  client.on('error', () => {}); // the queue's own logger reports a lost connection
  return client;
}
