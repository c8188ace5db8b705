import type { Command } from 'commander';
import { parseNumber } from './numbers.js';

const HELP = `
Shows the job counts of the extract and predict queues, the connected workers and, for each
extraction run (one store + one config; \`dfan extract … --queue\` prints its id), how many jobs
are done, failed, running or waiting, with the failure list. Without RUN: the 5 latest runs.

Examples:
  $ dfan queue status --queue redis://10.0.0.5:6379
  $ dfan queue status 3f2a9c01b7de --queue redis://10.0.0.5:6379 --json`;

export function register(program: Command): void {
  const queue = program.command('queue').description('look at the Redis job queue (`dfan queue status`)');
  queue
    .command('status')
    .description('job counts, workers and the progress and failures of extraction runs')
    .argument('[run]', 'run id (printed by `dfan extract … --queue`)')
    .option('-q, --queue <url>', 'the Redis the jobs are on', 'redis://127.0.0.1:6379')
    .option('--recent <n>', 'runs to show without RUN', '5')
    .option('--json', 'machine-readable output')
    .addHelpText('after', HELP)
    .action(async (run: string | undefined, o: { queue: string; recent: string; json?: boolean }) => {
      const { parseQueueUrl } = await import('../queue/connection.js');
      const { queueStatus, formatStatus } = await import('../queue/status.js');
      const s = await queueStatus(parseQueueUrl(o.queue), {
        run,
        recent: parseNumber('--recent', o.recent, { min: 1 }),
      });
      process.stdout.write(o.json ? `${JSON.stringify(s, null, 1)}\n` : formatStatus(s));
    });
}
