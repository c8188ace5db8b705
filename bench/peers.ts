/**
 * `npm run bench -- peers [--rounds 3] [--videos 1637] [--only train|extract] [--tfjs]`
 *
 * dfan against the project's own PyTorch implementations of the same work (bench/peers/), in one
 * run, interleaved, with ratios (wall and CPU; PyTorch on one thread and on every core):
 * - training: one epoch of the DFAN head, `mean` and `dual` with dfan's defaults, on Ekman-6-sized
 *   features (1,637 videos × T 16, object 7×7×128 after the PCA, context 404, action 111, face 12;
 *   batch 32) against bench/peers/head_torch.py; `--tfjs` adds dfan's tfjs-wasm engine;
 * - extraction: see bench/peers/extract.ts.
 * PyTorch comes from Debian (python3-torch with libopenblas0-pthread; DFAN_PYTHON picks another
 * interpreter); without it the peers are skipped with a message. The peer says which BLAS it
 * loaded: without OpenBLAS its figures mean nothing. Figures only; nothing fails on time.
 */
import { cpus, loadavg } from 'node:os';
import { extractionPeers, extractTable } from './peers/extract.js';
import { torchMissing } from './peers/python.js';
import { trainingPeers, trainTable } from './peers/train.js';
import { arg, fmt } from './util.js';

export async function run(args: string[]): Promise<void> {
  const rounds = Number(arg(args, 'rounds', '3'));
  const videos = Number(arg(args, 'videos', '1637'));
  const only = arg(args, 'only', '');
  const log = (line: string) => console.log(line);
  const threads = cpus().length;
  log(
    `dfan against its PyTorch peers: ${threads} cores (${cpus()[0]?.model ?? 'cpu'}), load average ${loadavg()
      .map((x) => fmt(x, 1))
      .join(' ')} at the start`,
  );
  log('the machine may be shared: the rounds interleave dfan and the peers so that they see the same load');
  const missing = torchMissing();
  if (missing) {
    log(`peers skipped: ${missing}`);
    return;
  }
  if (!only || only === 'train') {
    log(`\n## Training: one epoch of ${videos} videos, dfan's defaults`);
    const rows = await trainingPeers({ videos, rounds, tfjs: args.includes('--tfjs'), log });
    if (rows) {
      log('');
      for (const line of trainTable(rows, threads)) log(line);
    }
  }
  if (!only || only === 'extract') {
    log(
      '\n## Extraction: the real clips of ../shared/media, a one-backbone pack against ffmpeg → frames → PyTorch',
    );
    const rows = await extractionPeers({ rounds, log });
    if (rows) {
      log(
        `feature maps of dfan and the peer agree to ${rows.agreement.toExponential(1)} (largest difference over the largest value)`,
      );
      log('');
      for (const line of extractTable(rows, threads)) log(line);
    }
  }
  log(
    `\nload average ${loadavg()
      .map((x) => fmt(x, 1))
      .join(' ')} at the end`,
  );
}
