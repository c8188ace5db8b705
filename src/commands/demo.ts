import type { Command } from 'commander';

const EXAMPLES = `
Runs the whole pipeline on a fresh machine with nothing to download:
  1. generates a small focus dataset: the class is carried only by a brief cue (2 of 16 snippets)
     in a small region (1/16 of the frame) over a moving, cluttered background (ffmpeg lavfi +
     shapes drawn by dfan);
  2. extracts features with the default pack (object map, + action in the full demo);
  3. trains the \`mean\` (no attention) and \`dual\` models;
  4. prints accuracy, temporal hit rate (top-β snippet overlaps the cue), spatial pointing
     accuracy (peak α cell lies in the cue box), chance levels, and writes summary.md/.html.
Everything is cached under --out: a second run reuses the videos and features.

Examples:
  $ dfan demo                       full demo, ~100 videos (≤ 10 min on 2 cores)
  $ dfan demo --quick               CI-sized (~50 videos, object stream only)
  $ dfan demo --out /tmp/demo --seed 3`;

export function register(program: Command): void {
  program
    .command('demo')
    .description('build a focus dataset, extract features, train mean and dual, report accuracy and focus')
    .option('--out <dir>', 'working folder (dataset, features, runs, summary)', 'dfan-demo')
    .option('--quick', 'smaller and faster (for CI)')
    .option('--seed <n>', 'seed of the dataset and the training', '0')
    .addHelpText('after', EXAMPLES)
    .action(async (o: { out: string; quick?: boolean; seed: string }) => {
      const { runDemo } = await import('../demo/run.js');
      const { DfanError } = await import('../errors.js');
      const seed = Number(o.seed);
      if (!Number.isInteger(seed))
        throw new DfanError('BAD_ARGUMENT', `--seed must be an integer (got "${o.seed}")`);
      const tty = process.stdout.isTTY;
      let live = false;
      const r = await runDemo({
        out: o.out,
        quick: !!o.quick,
        seed,
        log: (l) => {
          process.stdout.write(`${live ? '\n' : ''}${l}\n`);
          live = false;
        },
        // on a terminal, one live progress line per stage; in logs, a line every ~10 %
        progress: tty
          ? (l) => {
              process.stdout.write(`\r${l}\x1b[K`);
              live = true;
            }
          : undefined,
      });
      if (live) process.stdout.write('\n');
      const pct = (x: number) => `${(100 * x).toFixed(1).padStart(5)} %`;
      const m = r.scores.mean;
      const d = r.scores.dual;
      const chance = 1 / r.metrics.dual.classes.length;
      const lines = [
        '',
        `                      accuracy   temporal hit   spatial pointing`,
        `  mean (no focus)     ${pct(m.accuracy)}      n/a            n/a`,
        `  dual                ${pct(d.accuracy)}    ${pct(d.temporalHit)}        ${pct(d.pointing)}`,
        `  chance              ${pct(chance)}    ${pct(d.temporalChance)}        ${pct(d.pointingChance)}`,
        '',
        `  ${d.n} test videos; total ${r.seconds.total.toFixed(0)} s (dataset ${r.seconds.dataset.toFixed(0)} s, features ${r.seconds.extract.toFixed(0)} s, training ${r.seconds.train.toFixed(0)} s; CPU of dfan ${r.seconds.cpu.toFixed(0)} s)`,
        `  summary: ${r.summaryMd}`,
        `           ${r.summaryHtml}`,
        '',
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
