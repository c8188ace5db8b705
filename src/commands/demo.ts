import type { Command } from 'commander';
import type { DemoResult } from '../demo/run.js';
import { parseNumber } from './numbers.js';

const EXAMPLES = `
Runs the whole pipeline on real imagery that is on the machine, nothing to download:
  1. builds a focus dataset: real photos (animal, food, plant, vehicle; Debian's
     tuxpaint-stamps-default) shown small (1/4 × 1/4 of the frame sides) at a random position
     for 2 of 16 snippets over real footage (clips in ../shared/media or --footage DIR, else a
     slow pan over the photographs of plasma-workspace-wallpapers); test videos use photos
     (unless --shared-photos) and footage (when there are ≥ 2 clips and no --shared-footage)
     never seen in training;
  2. extracts features with the default pack or --pack (the object map: the stream check would leave the
     pack's vector streams out on this set anyway);
  3. trains the \`mean\` (no attention) and \`dual\` models;
  4. prints accuracy, temporal hit rate (top-β snippet overlaps the photo's interval), spatial
     pointing (peak α cell at the top-β snippet inside the photo's box, ± one cell), chance
     levels and the cue ceiling (a ridge classifier given the cells under each photo at the
     snippets that show it: what perfect focus would give), and writes summary.html (what dual
     saw on a few test videos, the figures, how they are made) and its text twin summary.md.
     This is dfan's own focus dataset, not an emotion one.
Everything is cached under --out: a second run reuses the videos and features.

Examples:
  $ dfan demo                         full demo, 144 videos of 16 s (≤ 10 min on 2 cores)
  $ dfan demo --quick                 CI-sized (45 videos, 3 classes, object stream only)
  $ dfan demo --footage ~/clips       your own clips as the footage
  $ dfan demo --shared-footage        test videos over the training clips (new photos only)
  $ dfan demo --shared-photos 4       test videos show the training photos (4 per class)
  $ dfan demo --out /tmp/demo --seed 3
  $ dfan demo --pack research         the research pack's object map (features-research/, runs-research/)`;

interface DemoCliOptions {
  out: string;
  quick?: boolean;
  seed: string;
  footage?: string;
  sharedFootage?: boolean;
  sharedPhotos?: string;
  pack: string;
}

export function register(program: Command): void {
  program
    .command('demo')
    .description(
      'build a real-imagery focus dataset, extract features, train mean and dual, report accuracy and focus',
    )
    .option('--out <dir>', 'working folder (dataset, features, runs, summary)', 'dfan-demo')
    .option('--quick', 'smaller and faster (for CI)')
    .option('--seed <n>', 'seed of the dataset and the training', '0')
    .option('--footage <dir>', 'folder of real video clips for the backgrounds (default ../shared/media)')
    .option(
      '--shared-footage',
      'test videos over the same footage clips as the training videos (photos stay held out), as benchmarks cut from a few clips are; default: test clips held out too',
    )
    .option(
      '--shared-photos <k>',
      'test videos show the same k photos per class as the training videos (known photos: a closed-set test, as benchmarks built from a few photos per class are); default: test photos never seen in training',
    )
    .option(
      '--pack <spec>',
      'feature pack: default, research (after `dfan pack install`), or a pack JSON with an `object` map stream',
      'default',
    )
    .addHelpText('after', EXAMPLES)
    .action(async (o: DemoCliOptions) => {
      const { runDemo } = await import('../demo/run.js');
      const seed = parseNumber('--seed', o.seed);
      const sharedPhotos =
        o.sharedPhotos === undefined ? undefined : parseNumber('--shared-photos', o.sharedPhotos, { min: 1 });
      const tty = process.stdout.isTTY;
      let live = false;
      const r = await runDemo({
        out: o.out,
        quick: !!o.quick,
        seed,
        footage: o.footage,
        sharedFootage: !!o.sharedFootage,
        sharedPhotos,
        pack: o.pack,
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
      process.stdout.write(`${demoTable(r).join('\n')}\n`);
    });
}

/** The terminal's summary: the figures, and where the report with the pictures is. */
function demoTable(r: DemoResult): string[] {
  const pct = (x: number) => `${(100 * x).toFixed(1).padStart(5)} %`;
  const m = r.scores.mean;
  const d = r.scores.dual;
  return [
    '',
    `  on dfan's own real-imagery focus dataset (not an emotion dataset), ${r.pack} pack, ${d.n} test videos:`,
    '',
    `                      accuracy   temporal hit   spatial pointing`,
    `  mean (no focus)     ${pct(m.accuracy)}      n/a            n/a`,
    `  dual                ${pct(d.accuracy)}    ${pct(d.temporalHit)}        ${pct(d.pointing)}`,
    ...(r.cueCeiling
      ? [
          `  cue ceiling         ${pct(r.cueCeiling.accuracy)}    (told where and when the photo is: perfect focus)`,
        ]
      : []),
    `  chance              ${pct(1 / r.metrics.dual.classes.length)}    ${pct(d.temporalChance)}        ${pct(d.pointingChance)}`,
    '',
    `  report: ${r.summaryHtml}`,
    `          (what dual saw on a few test videos, the figures, how they are made; text: summary.md)`,
    `  total ${r.seconds.total.toFixed(0)} s`,
    '',
  ];
}
