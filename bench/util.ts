/** Small helpers shared by the benchmarks: arguments, timing, medians, peak RSS. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

export { peakRssMB } from '../src/util/memory.js';

export function fmt(x: number, digits = 2): string {
  return x.toFixed(digits);
}

/** The value after `--name` in the bench's arguments, else `dflt`. */
export function arg(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : dflt;
}
