/**
 * The `dfan` program: a thin shell over the library. Each verb lives in
 * src/commands/<verb>.ts and exports `register(program)`. Heavy modules (tfjs, onnxruntime,
 * ffmpeg adapters) are imported lazily inside the actions so that `--help` stays instant.
 */
import { Command, CommanderError } from 'commander';
import { COMMANDS } from './commands/index.js';
import { DfanError } from './errors.js';
import { DFAN_VERSION } from './version.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('dfan')
    .version(DFAN_VERSION, '-V, --version')
    .description(
      'Recognise the emotion a video expresses, and show when (temporal focus) and where (spatial focus) it was found.\n' +
        'Dual Focus Attention Network (Qiu, He, Wang, ICME 2020), rebuilt in TypeScript.',
    )
    .option('--debug', 'print stack traces and ffmpeg/engine diagnostics')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
Everyday use:
  $ dfan predict clip.mp4                 top emotions, key moments and where the focus sat
  $ dfan predict clip.mp4 --html out.html self-contained report with heatmaps
  $ dfan serve                            web page on http://127.0.0.1:8080

Research workflow:
  $ dfan extract DATA --out feats         frozen backbones → one feature file per video
  $ dfan train --features feats --dataset manifest.csv --out run
  $ dfan eval --run run                   accuracy, per-class recall, confusion matrix
  $ dfan protocol ve8 --root VE8          10 splits, mean ± std, ablations

First steps:
  $ dfan demo                             builds a small focus dataset, trains mean and dual, reports
  $ dfan probe clip.mp4                   what ffprobe sees: duration, fps, size, rotation, audio

Run "dfan <verb> --help" for the details of each verb.`,
    );
  for (const register of COMMANDS) register(program);
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  const debug = argv.includes('--debug');
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version end here with exit code 0; usage errors with 1 → 2
      return e.exitCode === 0 ? 0 : 2;
    }
    if (e instanceof DfanError) {
      process.stderr.write(`dfan: ${e.oneLine()}\n`);
      if (debug && e.stack) process.stderr.write(`${e.stack}\n`);
      if (debug && e.cause)
        process.stderr.write(`caused by: ${String((e.cause as Error).stack ?? e.cause)}\n`);
      return e.exitCode;
    }
    const msg = e instanceof Error ? e.message : String(e);
    process.stderr.write(`dfan: unexpected error: ${msg.split('\n')[0]}\n`);
    if (debug && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
    else process.stderr.write('(run again with --debug for the stack trace, and please report it)\n');
    return 70;
  }
}
