/**
 * The server's job queue sends every stage a runner reports (what the web page and the SSE
 * stream show), even when stages follow each other faster than its 100 ms progress throttle.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Job, JobQueue, newJobId } from '../../src/app/jobs.js';
import type { Prediction } from '../../src/app/types.js';

function job(): Job {
  return {
    id: newJobId(),
    status: 'queued',
    stage: 'queued',
    progress: 0,
    name: 'clip.mp4',
    file: '/nonexistent/clip.mp4',
    contentType: 'video/mp4',
    size: 1,
    hash: 'h',
    cached: false,
    createdAt: Date.now(),
  };
}

test('every stage reaches the listeners; progress within a stage is throttled', async () => {
  const queue = new JobQueue({
    concurrency: 1,
    maxQueued: 1,
    ttlMs: 60_000,
    cache: false,
    runner: async (_job, onProgress) => {
      // all within a few microseconds: only stage changes may pass the throttle
      onProgress('waiting for a worker', 0.01);
      onProgress('decoding', 0.1);
      onProgress('decoding', 0.2);
      onProgress('decoding', 0.3);
      onProgress('running the models', 0.6);
      return { labels: [] } as unknown as Prediction;
    },
  });
  const seen: string[] = [];
  queue.on('update', (j: Job) => seen.push(`${j.stage}@${j.progress}`));
  const j = queue.submit(job());
  while (j.status !== 'done' && j.status !== 'error') await new Promise((r) => setTimeout(r, 5));
  assert.equal(j.status, 'done', j.error);
  const stages = seen.map((s) => s.split('@')[0]);
  for (const s of ['queued', 'starting', 'waiting for a worker', 'decoding', 'running the models', 'done'])
    assert.ok(stages.includes(s), `stage "${s}" was not sent: ${seen.join(', ')}`);
  // 'decoding' reported three times within 100 ms: sent once (on arrival), not three times
  assert.equal(stages.filter((s) => s === 'decoding').length, 1, seen.join(', '));
});
