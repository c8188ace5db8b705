import type { Command } from 'commander';
import { DfanError } from '../errors.js';

// PLACEHOLDER — being implemented (see the issue that owns the 'dataset' verb).
export function register(program: Command): void {
  program
    .command('dataset')
    .description('(not yet available)')
    .allowUnknownOption()
    .action(() => {
      throw new DfanError('INTERNAL', "'dfan dataset' is not implemented yet");
    });
}
