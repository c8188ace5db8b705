import type { Command } from 'commander';
import { DfanError } from '../errors.js';

// PLACEHOLDER — being implemented (see the issue that owns the 'extract' verb).
export function register(program: Command): void {
  program
    .command('extract')
    .description('(not yet available)')
    .allowUnknownOption()
    .action(() => {
      throw new DfanError('INTERNAL', "'dfan extract' is not implemented yet");
    });
}
