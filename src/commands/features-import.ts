/**
 * `dfan features import INDEX.csv --out DIR`: published per-video NumPy features into a feature
 * store (src/features/import.ts), with the same progress, failure list and resume as extraction.
 */
import type { Command } from 'commander';
import { endOfBatch, writeFailures } from './batch-end.js';
import { parseNumber } from './numbers.js';

const EXAMPLES = `
The index is a CSV, one row per video and stream (paths relative to the index):
  video,stream,file,layout,grid,duration,description
  Anger/0001.mp4,object,feats/0001.npz:res5,CTHW,,12.5,3-D ResNet-101 (Kinetics) res5 map
  Anger/0001.mp4,object,feats/0001_clip.npy,TLC,14x14,12.5,CLIP ViT-B/16 patch tokens
  Anger/0001.mp4,audio,feats/0001_mfcc.npy,TC,,12.5,MFCC means
layout: TC (vector [T,C]), THWC / TCHW (maps), CTHW (a 3-D CNN's map), TLC (tokens [T,L,C]:
the last H·W form the grid given in "grid", leading class/register tokens are dropped).
"video" is the dataset key, as in the manifest you train with.

Examples:
  $ dfan features import published/index.csv --out feats
  $ dfan features import index.csv --out feats --snippets keep     keep each array's time steps
  $ dfan features import index.csv --out feats --pack-id vaanet-r101
  $ dfan train --features feats --dataset manifest.csv --out run   then as after \`dfan extract\`
A second run skips videos already imported from the same bytes; --force redoes them.`;

interface ImportCliOptions {
  out: string;
  snippets: string;
  packId?: string;
  force?: boolean;
  progress?: boolean;
}

async function runImport(index: string, o: ImportCliOptions): Promise<void> {
  const { readImportIndex } = await import('../features/import-index.js');
  const { importFeatures } = await import('../features/import.js');
  const { ProgressReporter } = await import('../features/progress.js');
  const snippets = o.snippets === 'keep' ? 'keep' : parseNumber('--snippets', o.snippets, { min: 1 });
  const videos = readImportIndex(index);
  const reporter = new ProgressReporter(process.stderr, { bar: o.progress, verb: 'import' });
  await reporter.init();
  const ac = new AbortController();
  const onSigint = () => ac.abort();
  process.once('SIGINT', onSigint);
  let summary: Awaited<ReturnType<typeof importFeatures>>;
  try {
    summary = await importFeatures(videos, o.out, {
      snippets,
      packId: o.packId,
      force: o.force,
      signal: ac.signal,
      onReady: (r) => reporter.start(r.total, r.todo, 0, `import ${index} → ${o.out} (snippets ${snippets})`),
      onProgress: (p) => reporter.update(p),
    });
  } finally {
    process.off('SIGINT', onSigint);
    reporter.stop();
  }
  const err = process.stderr;
  err.write(
    `imported ${summary.done}, skipped ${summary.skipped} (already done), failed ${summary.failed.length} ` +
      `of ${summary.total} → ${o.out} (pack ${summary.packId}, config ${summary.configHash})\n`,
  );
  writeFailures(summary);
  endOfBatch(
    summary,
    {
      interrupted: 'run the same command again to resume; imported videos are kept',
      failed: 'fix their arrays or index rows and run the same command again: imported videos are kept',
    },
    'import',
  );
}

export function registerImport(features: Command): void {
  features
    .command('import')
    .description('turn published per-video NumPy features (.npy/.npz + a CSV index) into a feature folder')
    .argument('<index>', 'CSV: video,stream,file,layout[,grid][,duration][,backbone][,description]')
    .requiredOption('--out <dir>', 'feature folder to write (created; resumable)')
    .option('--snippets <n|keep>', "pool each array's time steps into n uniform snippets, or keep them", '16')
    .option('--pack-id <id>', 'name written as the pack of these features (default "imported")')
    .option('--force', 'redo videos that were already imported')
    .option('--no-progress', 'one line per video instead of a progress bar')
    .addHelpText('after', EXAMPLES)
    .action(runImport);
}
