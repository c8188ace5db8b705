import type { Command } from 'commander';
import { DfanError } from '../errors.js';

// PLACEHOLDER — being implemented (see the issue that owns the 'snippets' verb).
export function register(program: Command): void {
  program
    .command('snippets')
    .description('(not yet available)')
    .allowUnknownOption()
    .action(() => {
      throw new DfanError('INTERNAL', "'dfan snippets' is not implemented yet");
    });
}
