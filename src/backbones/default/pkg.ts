/** Where an installed npm package lives (some packages' "exports" hide their package.json). */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DfanError } from '../../errors.js';

const require = createRequire(import.meta.url);

export function packageDir(name: string): string {
  let entry: string;
  try {
    entry = require.resolve(name);
  } catch (e) {
    throw new DfanError('MODEL_MISSING', `npm package ${name} is not installed`, {
      hint: 'run `npm install`',
      cause: e,
    });
  }
  let dir = dirname(entry);
  for (let i = 0; i < 8; i++) {
    const p = join(dir, 'package.json');
    if (existsSync(p) && (JSON.parse(readFileSync(p, 'utf8')) as { name?: string }).name === name) return dir;
    dir = dirname(dir);
  }
  throw new DfanError('MODEL_MISSING', `cannot locate the folder of npm package ${name}`, {
    hint: 'run `npm install`',
  });
}

export function packageVersion(name: string): string {
  return (JSON.parse(readFileSync(join(packageDir(name), 'package.json'), 'utf8')) as { version: string })
    .version;
}
