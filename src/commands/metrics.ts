import type { Command } from 'commander';
import { parseList } from './lists.js';

const EXAMPLES = `
Computes dfan's metrics (accuracy, per-class recall/precision, confusion matrix) from another
tool's scores, so that results are comparable. Scores are logits; several rows for one video are
averaged after a softmax over each row.

  CSV    header video,label,<class1>,<class2>,…   one row per prediction
  JSONL  {"video": "a.mp4", "label": "joy", "scores": [0.1, 2.3, …]}   (needs --classes)

Examples:
  $ dfan metrics --scores vaanet_scores.csv
  $ dfan metrics --scores clips.jsonl --classes anger,disgust,fear,joy,sadness,surprise --out m.json`;

export function register(program: Command): void {
  program
    .command('metrics')
    .description("metrics from other tools' score files (CSV or JSONL of logits), same schema as dfan eval")
    .requiredOption('--scores <file>', 'CSV video,label,<class>… or JSONL {"video","label","scores"}')
    .option('--classes <list>', 'comma-separated class order of the scores (required for JSONL)')
    .option('--out <file>', 'write the metrics JSON here (and the Markdown summary beside it)')
    .option('--json', 'print the metrics JSON instead of the summary')
    .addHelpText('after', EXAMPLES)
    .action(async (o: { scores: string; classes?: string; out?: string; json?: boolean }) => {
      const { writeFileSync } = await import('node:fs');
      const { metricsFromScoreFile, metricsMarkdown } = await import('../data/metrics.js');
      const classes = o.classes ? parseList(o.classes) : undefined;
      const r = metricsFromScoreFile(o.scores, { classes });
      const md = metricsMarkdown(r.metrics, `Metrics of ${o.scores}`, [
        `${r.rows} score rows over ${r.videos} videos (rows of one video averaged after a softmax).`,
      ]);
      if (o.out) {
        writeFileSync(o.out, `${JSON.stringify(r.metrics, null, 2)}\n`);
        writeFileSync(`${o.out.replace(/\.json$/i, '')}.md`, md);
      }
      if (o.json) process.stdout.write(`${JSON.stringify(r.metrics, null, 2)}\n`);
      else process.stdout.write(md);
    });
}
