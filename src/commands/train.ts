import type { Command } from 'commander';
import { DfanError } from '../errors.js';

// PLACEHOLDER — being implemented (see the issue that owns the 'train' verb).
export function register(program: Command): void {
  program
    .command('train')
    .description('(not yet available)')
    .allowUnknownOption()
    .action(() => {
      throw new DfanError('INTERNAL', "'dfan train' is not implemented yet");
    });
}
