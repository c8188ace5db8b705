import type { Command } from 'commander';
import { DfanError } from '../errors.js';

// PLACEHOLDER — being implemented (see the issue that owns the 'metrics' verb).
export function register(program: Command): void {
  program
    .command('metrics')
    .description('(not yet available)')
    .allowUnknownOption()
    .action(() => {
      throw new DfanError('INTERNAL', "'dfan metrics' is not implemented yet");
    });
}
