import type { Command } from 'commander';
import { DfanError } from '../errors.js';

// PLACEHOLDER — being implemented (see the issue that owns the 'predict' verb).
export function register(program: Command): void {
  program
    .command('predict')
    .description('(not yet available)')
    .allowUnknownOption()
    .action(() => {
      throw new DfanError('INTERNAL', "'dfan predict' is not implemented yet");
    });
}
