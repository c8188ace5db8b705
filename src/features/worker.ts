/**
 * Extraction worker process (forked by src/features/batch.ts): loads the pack once, then
 * extracts the videos it is sent, writing each feature file atomically itself. Runs up to the
 * number of jobs the parent keeps in flight concurrently. Exits when the parent goes away, so a
 * killed `dfan extract` leaves no orphans (at most a temp file, cleaned up on the next run).
 */
import type { FeaturePack } from '../backbones/types.js';
import { describeError, isDfanError } from '../errors.js';
import { peakRssMB } from '../util/memory.js';
import { resolvePack } from './extract.js';
import { type ExtractJob, type ExtractJobConfig, runExtractJob } from './runners.js';

let pack: FeaturePack | null = null;
let cfg: ExtractJobConfig | null = null;
let running = 0;
let closing = false;

function send(msg: unknown): void {
  if (process.connected) process.send?.(msg);
}

async function finish(): Promise<void> {
  await pack?.dispose().catch(() => {});
  process.exit(0);
}

// Ctrl-C reaches the whole process group: the parent decides (it stops dispatching and closes us)
process.on('SIGINT', () => {});

process.on('disconnect', () => {
  process.exit(0);
});

process.on('message', async (m: { type: string; cfg?: ExtractJobConfig; job?: ExtractJob }) => {
  if (m.type === 'init' && m.cfg) {
    cfg = m.cfg;
    try {
      pack = await resolvePack(cfg.pack, { streams: cfg.streams });
      send({ type: 'ready', packId: pack.id, streams: pack.streams.map((s) => s.name) });
    } catch (e) {
      send({ type: 'init-failed', error: describeError(e), code: isDfanError(e) ? e.code : undefined });
      setTimeout(() => process.exit(1), 50);
    }
  } else if (m.type === 'job' && m.job && pack && cfg) {
    running++;
    const result = await runExtractJob(pack, cfg, m.job);
    running--;
    send({ type: 'result', result, rssMB: peakRssMB() });
    if (closing && running === 0) await finish();
  } else if (m.type === 'close') {
    closing = true;
    if (running === 0) await finish();
  }
});
