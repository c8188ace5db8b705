import type { Command } from 'commander';
import { DfanError } from '../errors.js';

// PLACEHOLDER — being implemented (see the issue that owns the 'eval' verb).
export function register(program: Command): void {
  program
    .command('eval')
    .description('(not yet available)')
    .allowUnknownOption()
    .action(() => {
      throw new DfanError('INTERNAL', "'dfan eval' is not implemented yet");
    });
}
