/**
 * Progress of `dfan extract` on stderr: a cli-progress bar on a terminal (videos done/total,
 * rate, ETA, failures), one plain line per finished video otherwise (logs, CI, pipes).
 */
import type { ExtractProgress } from './extract.js';

type Bar = {
  start(total: number, value: number, payload?: object): void;
  update(value: number, payload?: object): void;
  stop(): void;
};

function fmtEta(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '--';
  if (s < 60) return `${Math.round(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.round((s % 3600) / 60)).padStart(2, '0')}m`;
}

export class ProgressReporter {
  private bar: Bar | null = null;
  private t0 = 0;
  private todo = 0;
  private total = 0;
  private started = false;

  constructor(
    private out: NodeJS.WriteStream,
    private opts: { bar?: boolean; verb?: string } = {},
  ) {}

  private get tty(): boolean {
    return this.opts.bar !== false && Boolean(this.out.isTTY);
  }

  /** Load cli-progress (lazily, only on a terminal); call before `start`. */
  async init(): Promise<void> {
    if (!this.tty || this.bar) return;
    const cp = (await import('cli-progress')).default;
    this.bar = new cp.SingleBar(
      {
        stream: this.out,
        format: `${this.opts.verb ?? 'extract'} |{bar}| {value}/{total} videos | {rate} | ETA {eta2} | failed {failed}`,
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 20,
      },
      cp.Presets.shades_classic,
    ) as unknown as Bar;
  }

  start(total: number, todo: number, skipped: number, title: string): void {
    this.total = total;
    this.todo = todo;
    this.t0 = performance.now();
    this.started = true;
    this.out.write(`${title}\n${todo} to ${this.opts.verb ?? 'extract'}, ${skipped} already done\n`);
    this.bar?.start(total, total - todo, { rate: '-', eta2: '--', failed: 0 });
  }

  update(p: ExtractProgress): void {
    if (!this.started || !p.status) return;
    const processed = p.done + p.failed;
    const el = (performance.now() - this.t0) / 1000;
    const rate = processed / Math.max(el, 1e-3); // videos/s
    const eta = (this.todo - processed) / Math.max(rate, 1e-9);
    const rateStr =
      rate >= 1 ? `${rate.toFixed(1)} videos/s` : `${(1 / Math.max(rate, 1e-9)).toFixed(1)} s/video`;
    if (this.bar) {
      this.bar.update(p.done + p.skipped + p.failed, { rate: rateStr, eta2: fmtEta(eta), failed: p.failed });
    } else {
      const n = p.done + p.skipped + p.failed;
      this.out.write(
        `[${n}/${this.total}] ${p.status === 'failed' ? 'FAILED' : p.status} ${p.key} ` +
          `(${rateStr}, ETA ${fmtEta(eta)}, failed ${p.failed})\n`,
      );
    }
  }

  note(msg: string): void {
    if (this.bar) this.out.write('\n');
    this.out.write(`${msg}\n`);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}
