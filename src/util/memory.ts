/** Memory of this process, as the extraction summary and the benchmarks report it. */
import { readFileSync } from 'node:fs';

/** Peak resident set size of this process so far, in MB: Linux's VmHWM, else the current RSS. */
export function peakRssMB(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    /* not Linux */
  }
  return process.memoryUsage().rss / 1024 / 1024;
}
