/**
 * How a batch command (`dfan extract`, `dfan features import`) ends: the failures listed, then
 * an INTERRUPTED (exit 130) or SOME_FAILED (exit 1) error so that scripts see it; finished
 * videos are kept either way, and the same command resumes.
 */
import { DfanError } from '../errors.js';

export interface BatchEnd {
  total: number;
  failed: Array<{ key: string; path: string | null; error: string }>;
  interrupted: boolean;
}

/** Write the failures to stderr: the file (or key) and why, without repeating the path. */
export function writeFailures(summary: BatchEnd): void {
  if (summary.failed.length === 0) return;
  process.stderr.write('failures:\n');
  for (const f of summary.failed) {
    const where = f.path ?? f.key;
    const why = f.path && f.error.startsWith(`${f.path}: `) ? f.error.slice(f.path.length + 2) : f.error;
    process.stderr.write(`  ${where}: ${why}\n`);
  }
}

/** Throw when the batch was interrupted or some videos failed (hints say how to go on). */
export function endOfBatch(
  summary: BatchEnd,
  hints: { interrupted: string; failed: string },
  what: string,
): void {
  if (summary.interrupted)
    throw new DfanError('INTERRUPTED', `${what} interrupted`, { hint: hints.interrupted, exitCode: 130 });
  if (summary.failed.length > 0) {
    throw new DfanError(
      'SOME_FAILED',
      `${summary.failed.length} of ${summary.total} videos failed (listed above)`,
      {
        hint: hints.failed,
      },
    );
  }
}
