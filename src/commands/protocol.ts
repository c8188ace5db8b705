import type { Command } from 'commander';
import { DfanError } from '../errors.js';

// PLACEHOLDER — being implemented (see the issue that owns the 'protocol' verb).
export function register(program: Command): void {
  program
    .command('protocol')
    .description('(not yet available)')
    .allowUnknownOption()
    .action(() => {
      throw new DfanError('INTERNAL', "'dfan protocol' is not implemented yet");
    });
}
