import type { Command } from 'commander';
import { DfanError } from '../errors.js';
import type { Variant } from '../model/config.js';
import { DEFAULT_MODEL, DEFAULT_TRAIN } from '../model/config.js';
import type { ProtocolOptions } from '../protocol/run.js';
import { parseList, parseSplitsOption } from './lists.js';
import { parseOptionalNumber } from './numbers.js';

const EXAMPLES = `
What it does:
  1. extracts features ONCE for every listed video found under --root (resumable; shared by all splits)
  2. for each split: trains DFAN on the training videos (early stopping on a validation slice
     carved from them, never from the test split) and evaluates on the test videos
  3. writes OUT/report.md, OUT/report.json, and per split OUT/<variant>/split-NN/{result.json,
     confusion.png, run/}. A split whose result.json is valid is not rerun: run again to resume.
The report names the split protocol that was run (the VE-8 lists distributed with VAANet, CTEN's
Ekman-6 lists, the VE-8 workbook's ten random splits, dfan's random splits …; each split checked
against the published lists) and, beside dfan's figure, a column "test-selected (not a fair
estimate)": the best epoch chosen ON the test split, which is what the public VAANet/CTEN code
reports. The test split is scored after every epoch for it, as an observation that changes no
weight; --no-test-selected skips that pass.

Datasets (see "dfan dataset --help"): ve8 and ek6 read classInd.txt + trainlistNN.txt +
testlistNN.txt from --lists (VE-8 also the 10-split workbook with --xlsx); a manifest CSV or a
folder per class without a test split gets random stratified 2:1 splits (seeded).

Examples:
  $ dfan protocol ve8 --lists lists/ve8 --xlsx VideoEmotionDataset-TrainTestSplits.xlsx --root /data/VE8 --splits 1-10
  $ dfan protocol ek6 --lists lists/ek6 --root /data/Ekman6 --out runs/ek6
  $ dfan protocol ve8 --lists lists/ve8 --features feats/ve8 --ablation      (features made earlier)
  $ dfan protocol my.csv --splits 1-3 --epochs 20 --pack research`;

interface ProtocolCliOpts {
  lists?: string;
  root?: string;
  xlsx?: string;
  features?: string;
  splits?: string;
  variant: string;
  ablation?: boolean;
  out: string;
  epochs?: string;
  seed?: string;
  ensemble?: string;
  pack?: string;
  streams?: string;
  snippets?: string;
  workers?: string;
  force?: boolean;
  testSelected: boolean;
  verbose?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('protocol')
    .description(
      'the published protocols: extract once, train + test every split, mean ± std, ablations, report',
    )
    .argument('<dataset>', 've8 | ek6 | MANIFEST.csv | DIR')
    .option('--root <dir>', 'folder with the videos (looked up by name); omit to use --features only')
    .option('--lists <dir>', 'folder with classInd.txt, trainlistNN.txt, testlistNN.txt')
    .option('--xlsx <file>', 'VE-8 10-split workbook (VideoEmotionDataset-TrainTestSplits.xlsx)')
    .option('--features <dir>', 'feature store to use / fill (default OUT/features)')
    .option('--splits <range>', 'which splits, e.g. 1-10 or 1,3 (default: all the dataset has)')
    .option('--variant <name>', 'mean | temporal | spatial | dual', DEFAULT_MODEL.variant)
    .option('--ablation', 'run mean, temporal, spatial and dual, and print the ablation table')
    .option('--out <dir>', 'output folder', 'protocol-out')
    .option(
      '--epochs <n>',
      `training epochs per split (default: auto, the rule of dfan train: ≥ ${DEFAULT_TRAIN.minSteps} steps)`,
    )
    .option('--seed <n>', 'training seed')
    .option(
      '--ensemble <k>',
      `models per split, averaged (default ${DEFAULT_TRAIN.ensemble}, as dfan train; 1 = a single model)`,
    )
    .option('--pack <spec>', 'feature pack for extraction: default | research | pack.json', 'default')
    .option('--streams <list>', 'streams to extract and use, comma-separated (default: all of the pack)')
    .option('--snippets <T>', 'snippets per video for extraction (default: 16)')
    .option('--workers <n>', 'extraction worker processes (default 0 = in this process)')
    .option('--force', 'redo splits even when a valid result exists')
    .option(
      '--no-test-selected',
      'do not score the test split after every epoch: the report then has no test-selected column (best epoch on the test split, as VAANet/CTEN code does; not a fair estimate)',
    )
    .option('--verbose', 'print every training epoch')
    .option('--json', 'print report.json to stdout at the end')
    .addHelpText('after', EXAMPLES)
    .action(protocolCommand);
}

/** The protocol's options from the command line's (numbers and lists checked). */
async function protocolOptions(target: string, o: ProtocolCliOpts): Promise<ProtocolOptions> {
  const { VARIANTS } = await import('../model/config.js');
  if (!(VARIANTS as readonly string[]).includes(o.variant)) {
    throw new DfanError('BAD_ARGUMENT', `--variant "${o.variant}" is not one of ${VARIANTS.join(', ')}`);
  }
  return {
    target,
    lists: o.lists,
    root: o.root,
    xlsx: o.xlsx,
    features: o.features,
    splits: parseSplitsOption('--splits', o.splits, '1-10 or 1,3'),
    variant: o.variant as Variant,
    ablation: o.ablation,
    out: o.out,
    pack: o.pack,
    streams: o.streams ? parseList(o.streams) : undefined,
    T: parseOptionalNumber('--snippets', o.snippets, { min: 1 }),
    workers: parseOptionalNumber('--workers', o.workers, { min: 0 }),
    train: {
      epochs: parseOptionalNumber('--epochs', o.epochs, { min: 1 }),
      seed: parseOptionalNumber('--seed', o.seed, { min: 0 }),
      ensemble: parseOptionalNumber('--ensemble', o.ensemble, { min: 1 }),
    },
    force: o.force,
    testSelected: o.testSelected,
    verbose: o.verbose,
    log: (l) => process.stderr.write(`${l}\n`),
  };
}

/** `dfan protocol`: extract once, train and test every split, the report. */
async function protocolCommand(target: string, o: ProtocolCliOpts): Promise<void> {
  const { runProtocol } = await import('../protocol/run.js');
  const { ablationTable } = await import('../protocol/report-markdown.js');
  const res = await runProtocol(await protocolOptions(target, o));
  if (o.ablation) process.stderr.write(`\n${ablationTable(res.report).join('\n')}\n\n`);
  if (o.json) process.stdout.write(`${JSON.stringify(res.report, null, 2)}\n`);
  else process.stdout.write(`${res.markdownPath}\n`);
}
