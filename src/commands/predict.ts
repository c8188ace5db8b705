import type { Command } from 'commander';
import { DfanError } from '../errors.js';
import { parseNumber, parseOptionalNumber } from './numbers.js';

interface PredictOpts {
  model: string;
  json?: boolean;
  html?: string;
  top: string;
  pack?: string;
  snippets?: string;
}

export function register(program: Command): void {
  program
    .command('predict')
    .description(
      'which emotion each video expresses, when (key moments) and where (spatial focus) it was found',
    )
    .argument('<video...>', 'one or more video files')
    .option(
      '--model <run|default>',
      'a trained DFAN run folder, or "default" (built-in zero-shot face-expression model)',
      'default',
    )
    .option('--json', 'print the prediction contract as JSON (an array for several videos)')
    .option(
      '--html <out.html>',
      'also write a self-contained HTML report (key frames, heatmaps, temporal focus)',
    )
    .option('--top <n>', 'emotions to show in the terminal', '3')
    .option('--pack <spec>', 'feature pack override (pack JSON or module); default: the one the model needs')
    .option('-T, --snippets <n>', 'snippets per video (default: what the model expects, 16)')
    .addHelpText(
      'after',
      `
The default model is ZERO-SHOT: Ekman-6 (anger, disgust, fear, joy, sadness, surprise) from the
facial expression of the most prominent face, pooled over the snippets with the most expressive
faces. It was never trained on video emotion and sees faces only: every output says so.
A trained run (dfan train … --out RUN) is used with --model RUN.

Examples:
  $ dfan predict clip.mp4
  $ dfan predict clip.mp4 --json > clip.json
  $ dfan predict a.mp4 b.mp4 --html report.html
  $ dfan predict clip.mp4 --model runs/ek6-dual --top 6

Several videos give one result each; a broken one is reported and the rest go on (exit code 1
at the end). JSON contract: docs/predict.md.`,
    )
    .action(async (videos: string[], opts: PredictOpts) => {
      const top = parseNumber('--top', opts.top, { min: 1 });
      const T = parseOptionalNumber('-T', opts.snippets, { min: 1, max: 256 });
      const { runPredict } = await import('../app/cli-predict.js');
      const failed = await runPredict(videos, {
        model: opts.model,
        json: !!opts.json,
        html: opts.html,
        top,
        pack: opts.pack,
        T,
      });
      if (failed > 0) {
        throw new DfanError(
          'SOME_FAILED',
          `${failed} of ${videos.length} video${videos.length > 1 ? 's' : ''} failed (listed above)`,
        );
      }
    });
}
