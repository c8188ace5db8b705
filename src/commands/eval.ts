import type { Command } from 'commander';
import type { Dataset } from '../data/types.js';
import type { EvalResult } from '../model/evaluate.js';
import type { LoadedRun } from '../model/run.js';
import { parseNumber } from './numbers.js';

const EXAMPLES = `
Evaluates a trained run on one split (default: test) and writes
  RUN/eval-<split>.json   metrics: accuracy, n, classes, perClass {recall, precision, n}, confusion
  RUN/eval-<split>.md     the same as Markdown, with the confusion matrix (rows = true class)
The dataset and the features default to those the run was trained on (config.json records
both); runs trained before dfan recorded the dataset need --dataset.
A run trained with --observe-test (and every dfan protocol run) also records the figure the public
VAANet/CTEN code reports: the best epoch chosen on the test split. On those test videos it is
printed after the metrics, labelled "test-selected … not a fair estimate", and in the JSON as the
separate field "testSelected" ("accuracy" stays dfan's own figure).

Examples:
  $ dfan eval --run runs/dual
  $ dfan eval --run runs/dual --split val --json
  $ dfan eval --run runs/dual --dataset moved/manifest.csv
  $ dfan eval --run runs/ek6 --dataset ek6-originals.csv --keyclips Attributes.xlsx   (hit@1, tIoU@k, AUC vs. chance)`;

type EvalOptions = Record<string, string | boolean | undefined>;

/** The dataset to evaluate on: --dataset, else the one the run records (and its split number). */
async function openEvalDataset(run: LoadedRun, o: EvalOptions, given?: number): Promise<Dataset> {
  const { openDataset } = await import('../data/open.js');
  const { recordedDataset } = await import('../model/run.js');
  const ref = o.dataset ? null : recordedDataset(run);
  const splitNumber = given ?? run.config.datasetRef?.split ?? 1;
  const src = await openDataset(ref ? ref.path : String(o.dataset));
  return src.load(splitNumber);
}

/** Key-clip attribution (src/data/keyclip-eval.ts) → RUN/attribution-<split>.json; its summary lines. */
async function keyClipReport(o: EvalOptions, r: EvalResult, dataset: Dataset): Promise<string[]> {
  const { writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { DfanError } = await import('../errors.js');
  const { evaluateKeyClips, keyClipLines } = await import('../data/keyclip-eval.js');
  const match = String(o.keyclipMatch);
  if (match !== 'name' && match !== 'order')
    throw new DfanError('BAD_ARGUMENT', `--keyclip-match must be name or order (got "${match}")`);
  const kc = await evaluateKeyClips(r.videos, [...dataset.items, ...dataset.missing], String(o.keyclips), {
    match,
    mapFile: o.keyclipMap ? String(o.keyclipMap) : undefined,
  });
  const kcPath = o.out
    ? `${String(o.out).replace(/\.json$/i, '')}.attribution.json`
    : join(String(o.run), `attribution-${r.split}.json`);
  writeFileSync(kcPath, `${JSON.stringify(kc, null, 2)}\n`);
  return [...keyClipLines(kc), `  written: ${kcPath}`];
}

/** RUN/eval-<split>.json (the metrics contract) and the Markdown beside it; prints one of them. */
async function writeEvalReport(
  o: EvalOptions,
  run: LoadedRun,
  dataset: Dataset,
  r: EvalResult,
  extraLines: string[],
): Promise<void> {
  const { writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { metricsMarkdown } = await import('../data/metrics.js');
  const jsonPath = o.out ? String(o.out) : join(String(o.run), `eval-${r.split}.json`);
  const mdPath = `${jsonPath.replace(/\.json$/i, '')}.md`;
  const json = `${JSON.stringify(evalJson(r), null, 2)}\n`;
  writeFileSync(jsonPath, json);
  const notes = [
    `Run: ${run.dir} (variant ${run.config.model.variant}, streams ${run.config.model.streams.join(', ')}, feature pack ${run.config.packId})`,
    `Split: ${r.split} of ${dataset.name}; trained model (not zero-shot).`,
  ];
  if (r.skipped.length) {
    const keys = r.skipped.slice(0, 5).map((s) => s.key);
    notes.push(
      `${r.skipped.length} video(s) skipped (no usable features): ${keys.join(', ')}${r.skipped.length > 5 ? ', …' : ''}`,
    );
  }
  notes.push(...extraLines);
  const md = metricsMarkdown(r.metrics, `Evaluation: ${r.split} split`, notes) + testSelectedMarkdown(run, r);
  writeFileSync(mdPath, md);
  if (o.json) process.stdout.write(json);
  else process.stdout.write(`${md}\nwritten: ${jsonPath}, ${mdPath}\n`);
}

/**
 * The Metrics contract, and beside it (never in place of `accuracy`) the run's test-selected
 * figure when it was observed on these test videos.
 */
function evalJson(r: EvalResult): object {
  const t = r.testSelected;
  if (!t) return r.metrics;
  const { accuracy, epoch, n, members, note } = t;
  return { ...r.metrics, testSelected: { accuracy, epoch, n, members, note } };
}

/** After the honest metrics: the labelled test-selected line, or why the recorded one is not shown. */
function testSelectedMarkdown(run: LoadedRun, r: EvalResult): string {
  const t = r.testSelected;
  const recorded = run.config.result?.testSelected;
  if (t) {
    const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
    return `\n**Test-selected** (${t.note}): ${pct(t.accuracy)} at epoch ${t.epoch} on the same ${t.n} videos${t.members > 1 ? ` (${t.members} models averaged per epoch)` : ''}. For setting beside published tables that report this figure; the top-1 accuracy above is dfan's own.\n`;
  }
  if (recorded && r.split === 'test')
    return `\nThe run records a test-selected figure for another set of ${recorded.n} test videos: not shown here.\n`;
  return '';
}

async function evalAction(o: EvalOptions): Promise<void> {
  const { DfanError } = await import('../errors.js');
  const split = String(o.split);
  if (split !== 'train' && split !== 'val' && split !== 'test')
    throw new DfanError('BAD_ARGUMENT', `--split must be train, val or test (got "${split}")`);
  // options are checked before anything is read, so a typo is a usage error whatever the run
  const splitNumber =
    o.splitNumber !== undefined
      ? parseNumber('--split-number', String(o.splitNumber), { min: 1 })
      : undefined;
  const { loadRun } = await import('../model/run.js');
  const { evaluateRun } = await import('../model/evaluate.js');
  const run = await loadRun(String(o.run));
  let r: EvalResult;
  let dataset: Dataset;
  try {
    dataset = await openEvalDataset(run, o, splitNumber);
    r = await evaluateRun(run, {
      dataset,
      split,
      features: o.features ? String(o.features) : undefined,
      log: (l) => process.stderr.write(`${l}\n`),
    });
  } finally {
    run.dispose();
  }
  const keyclipLines = o.keyclips ? await keyClipReport(o, r, dataset) : [];
  await writeEvalReport(o, run, dataset, r, keyclipLines);
}

export function register(program: Command): void {
  program
    .command('eval')
    .description('accuracy, per-class recall/precision and confusion matrix of a trained run on a split')
    .requiredOption('--run <dir>', 'run folder written by `dfan train`')
    .option(
      '--dataset <manifest>',
      'dataset: CSV video,label,split, a folder per class, or a list folder (default: the one the run was trained on)',
    )
    .option('--split <name>', 'train | val | test', 'test')
    .option(
      '--split-number <n>',
      'split number for datasets with several splits (default: the one the run was trained on, else 1)',
    )
    .option('--features <dir>', 'feature folder (default: the one the run was trained on)')
    .option('--out <file>', 'metrics JSON path (default RUN/eval-<split>.json; the .md goes beside it)')
    .option('--json', 'print the metrics JSON instead of the summary')
    .option(
      '--keyclips <file>',
      'Ekman-6 key-clip workbook (Attributes.xlsx): score the temporal focus against it',
    )
    .option(
      '--keyclip-map <csv>',
      'explicit mapping annotation,key for --keyclips (default: match by file name)',
    )
    .option('--keyclip-match <how>', 'name | order (order = inferred CTEN id order, unverified)', 'name')
    .addHelpText('after', EXAMPLES)
    .action(evalAction);
}
