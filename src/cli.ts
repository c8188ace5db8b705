#!/usr/bin/env node
// Entry point of the `dfan` binary. Everything else is in program.ts and src/commands/.
import { main } from './program.js';

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`dfan: ${String(e)}\n`);
    process.exitCode = 70;
  },
);
