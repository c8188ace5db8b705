#!/usr/bin/env node
// Entry point of the `dfan` binary. Everything else is in program.ts and src/commands/.
import { main } from './program.js';

// `dfan probe *.mp4 | head`: a closed pipe ends the program quietly instead of crashing.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`dfan: ${String(e)}\n`);
    process.exitCode = 70;
  },
);
