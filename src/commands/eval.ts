import type { Command } from 'commander';
import { parseNumber } from './numbers.js';

const EXAMPLES = `
Evaluates a trained run on one split (default: test) and writes
  RUN/eval-<split>.json   metrics: accuracy, n, classes, perClass {recall, precision, n}, confusion
  RUN/eval-<split>.md     the same as Markdown, with the confusion matrix (rows = true class)
The features default to the folder the run was trained on; the dataset must be given (the run
records only its name).

Examples:
  $ dfan eval --run runs/dual --dataset manifest.csv
  $ dfan eval --run runs/dual --dataset manifest.csv --split val --json
  $ dfan eval --run runs/ek6 --dataset ek6-originals.csv --keyclips Attributes.xlsx   (hit@1, tIoU@k, AUC vs. chance)`;

export function register(program: Command): void {
  program
    .command('eval')
    .description('accuracy, per-class recall/precision and confusion matrix of a trained run on a split')
    .requiredOption('--run <dir>', 'run folder written by `dfan train`')
    .requiredOption(
      '--dataset <manifest>',
      'dataset: CSV video,label,split, a folder per class, or a list folder',
    )
    .option('--split <name>', 'train | val | test', 'test')
    .option('--split-number <n>', 'split number for datasets with several splits', '1')
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
    .action(async (o: Record<string, string | boolean | undefined>) => {
      const { writeFileSync } = await import('node:fs');
      const { join } = await import('node:path');
      const { DfanError } = await import('../errors.js');
      const split = String(o.split);
      if (!['train', 'val', 'test'].includes(split))
        throw new DfanError('BAD_ARGUMENT', `--split must be train, val or test (got "${split}")`);
      const splitNumber = parseNumber('--split-number', String(o.splitNumber), { min: 1 });
      const { openDataset } = await import('../data/open.js');
      const { loadRun } = await import('../model/run.js');
      const { evaluateRun } = await import('../model/evaluate.js');
      const { metricsMarkdown } = await import('../data/metrics.js');
      const run = await loadRun(String(o.run));
      const src = await openDataset(String(o.dataset));
      const dataset = src.load(splitNumber);
      const r = await evaluateRun(run, {
        dataset,
        split: split as 'train' | 'val' | 'test',
        features: o.features ? String(o.features) : undefined,
        log: (l) => process.stderr.write(`${l}\n`),
      });
      run.dispose();
      // key-clip attribution (src/data/keyclip-eval.ts): RUN/attribution-<split>.json
      let keyclipLines: string[] = [];
      if (o.keyclips) {
        const { evaluateKeyClips, keyClipLines } = await import('../data/keyclip-eval.js');
        const match = String(o.keyclipMatch);
        if (match !== 'name' && match !== 'order')
          throw new DfanError('BAD_ARGUMENT', `--keyclip-match must be name or order (got "${match}")`);
        const kc = await evaluateKeyClips(
          r.videos,
          [...dataset.items, ...dataset.missing],
          String(o.keyclips),
          {
            match,
            mapFile: o.keyclipMap ? String(o.keyclipMap) : undefined,
          },
        );
        const kcPath = o.out
          ? `${String(o.out).replace(/\.json$/i, '')}.attribution.json`
          : join(String(o.run), `attribution-${split}.json`);
        writeFileSync(kcPath, `${JSON.stringify(kc, null, 2)}\n`);
        keyclipLines = [...keyClipLines(kc), `  written: ${kcPath}`];
      }
      const jsonPath = o.out ? String(o.out) : join(String(o.run), `eval-${split}.json`);
      const mdPath = `${jsonPath.replace(/\.json$/i, '')}.md`;
      writeFileSync(jsonPath, `${JSON.stringify(r.metrics, null, 2)}\n`);
      const notes = [
        `Run: ${run.dir} (variant ${run.config.model.variant}, streams ${run.config.model.streams.join(', ')}, feature pack ${run.config.packId})`,
        `Split: ${split} of ${dataset.name}; trained model (not zero-shot).`,
      ];
      if (r.skipped.length)
        notes.push(
          `${r.skipped.length} video(s) skipped (no usable features): ${r.skipped
            .slice(0, 5)
            .map((s) => s.key)
            .join(', ')}${r.skipped.length > 5 ? ', …' : ''}`,
        );
      notes.push(...keyclipLines);
      const md = metricsMarkdown(r.metrics, `Evaluation: ${split} split`, notes);
      writeFileSync(mdPath, md);
      if (o.json) process.stdout.write(`${JSON.stringify(r.metrics, null, 2)}\n`);
      else process.stdout.write(`${md}\nwritten: ${jsonPath}, ${mdPath}\n`);
    });
}
