import type { Command } from 'commander';
import { DfanError } from '../errors.js';
import { parseSplitsOption } from './lists.js';

const EXAMPLES = `
Datasets:
  ve8        VideoEmotion-8: classInd.txt + trainlistNN.txt + testlistNN.txt (as distributed with VAANet)
             in --lists DIR, or the 10-split workbook VideoEmotionDataset-TrainTestSplits.xlsx (--xlsx)
  ek6        Ekman-6: the same list layout, as distributed with CTEN (\`anger/1001 1\`)
  FILE.csv   a manifest with the header video,label,split (paths relative to the CSV)
  DIR        a list folder (with classInd.txt) or a folder per class

Videos are looked up by name under --root with the extensions .mp4 .wmv .flv .avi .mkv .webm
.mov .3gp (in class folders such as Fear/ or VideoEmotionDataset4-Fear/, or anywhere when the
name is unique). Missing videos are listed, never fatal.

Examples:
  $ dfan dataset stats ve8 --lists ../shared/datasets/ve8
  $ dfan dataset stats ve8 --lists lists --root /data/VideoEmotion8 --split 1-10
  $ dfan dataset stats ek6 --lists ../shared/datasets/ek6 --json
  $ dfan dataset stats manifest.csv
  $ dfan dataset keyclips ../shared/datasets/ek6-keyclips/Attributes.xlsx`;

interface StatsOpts {
  lists?: string;
  root?: string;
  xlsx?: string;
  split?: string;
  json?: boolean;
}

export function register(program: Command): void {
  const dataset = program
    .command('dataset')
    .description('inspect datasets: split and class counts, videos found and missing, key-clip annotations')
    .addHelpText('after', EXAMPLES);
  dataset
    .command('stats')
    .description('per split and per class counts (and, with --root, how many videos were found)')
    .argument('<dataset>', 've8 | ek6 | MANIFEST.csv | DIR')
    .option('--lists <dir>', 'folder with classInd.txt, trainlistNN.txt, testlistNN.txt')
    .option('--root <dir>', 'folder with the videos (looked up by name)')
    .option('--xlsx <file>', 'VE-8 10-split workbook (VideoEmotionDataset-TrainTestSplits.xlsx)')
    .option('--split <range>', 'which splits, e.g. 1 or 1-10 (default: all)')
    .option('--json', 'print JSON instead of tables')
    .addHelpText('after', EXAMPLES)
    .action(datasetStatsCommand);
  dataset
    .command('keyclips')
    .description('read the Ekman-6 key-clip annotations (Attributes.xlsx) and summarise them')
    .argument('<file>', 'Attributes.xlsx')
    .option('--json', 'print every video with its clips as JSON')
    .action(keyClipsCommand);
}

/** `dfan dataset stats`: per split, the class counts and the videos found. */
async function datasetStatsCommand(target: string, opts: StatsOpts): Promise<void> {
  const { openDataset } = await import('../data/open.js');
  const { datasetStats, formatStats } = await import('../data/stats.js');
  const src = await openDataset(target, { lists: opts.lists, root: opts.root, xlsx: opts.xlsx });
  const which = parseSplitsOption('--split', opts.split, '1 or 1-10') ?? src.splits;
  const absent = which.filter((n) => !src.splits.includes(n));
  if (absent.length > 0) {
    throw new DfanError('BAD_ARGUMENT', `split ${absent.join(', ')} not available`, {
      hint: `available: ${src.splits.join(', ')}`,
    });
  }
  const all = which.map((n) => datasetStats(src.load(n)));
  if (opts.json) {
    const { name: dataset, kind, source, randomSplits } = src;
    process.stdout.write(
      `${JSON.stringify({ dataset, kind, source, randomSplits, splits: all }, null, 2)}\n`,
    );
    return;
  }
  const note = src.randomSplits ? ' (no test split in the data: random stratified 2:1 splits, seed 0)' : '';
  process.stdout.write(`source: ${src.source}${note}\n\n`);
  process.stdout.write(`${all.map((s) => formatStats(s)).join('\n\n')}\n`);
}

/** `dfan dataset keyclips`: the Ekman-6 key-clip annotations, per class. */
async function keyClipsCommand(file: string, opts: { json?: boolean }): Promise<void> {
  const { readKeyClips } = await import('../data/keyclips.js');
  const set = await readKeyClips(file);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(set, null, 2)}\n`);
    return;
  }
  const perClass = new Map<string, { n: number; clips: number; key: number; len: number }>();
  for (const v of set.videos) {
    const p = perClass.get(v.sheet) ?? { n: 0, clips: 0, key: 0, len: 0 };
    p.n++;
    p.clips += v.clips.length;
    p.key += v.keyLength;
    p.len += v.videoLength ?? 0;
    perClass.set(v.sheet, p);
  }
  process.stdout.write(`${file}: ${set.videos.length} videos\n`);
  for (const [k, p] of perClass) {
    const share = ((100 * p.key) / Math.max(1, p.len)).toFixed(1);
    process.stdout.write(
      `  ${k.padEnd(9)} ${String(p.n).padStart(4)} videos, ${(p.clips / p.n).toFixed(2)} clips/video, key ${share} % of the time\n`,
    );
  }
  if (set.warnings.length > 0) {
    process.stdout.write(`repaired or odd rows (${set.warnings.length}):\n`);
    for (const w of set.warnings) process.stdout.write(`  ${w}\n`);
  }
}
