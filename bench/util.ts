/** Small helpers shared by the benchmarks: arguments, timing, medians, peak RSS. */
import { readFileSync } from 'node:fs';

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

/** Wall and CPU seconds, one entry a run (or round). */
export interface Timing {
  wall: number[];
  cpu: number[];
}

/** A table cell: the median of per-run figures and their range, "median (min–max)". */
export function medianRange(xs: number[]): string {
  return `${fmt(median(xs))} (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))})`;
}

/** A table cell: "median wall / median CPU" of a Timing. */
export function medianWallCpu(t: Timing): string {
  return `${fmt(median(t.wall))} / ${fmt(median(t.cpu))}`;
}

/** The value after `--name` in the bench's arguments, else `dflt`. */
export function arg(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : dflt;
}

/** CPU seconds of this process plus its waited-for children (ffmpeg, worker processes). */
export function cpuSeconds(): number {
  try {
    const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
    // fields after "(comm) ": state=0 … utime=11 stime=12 cutime=13 cstime=14 (clock ticks, 100 Hz)
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100;
  } catch {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  }
}
