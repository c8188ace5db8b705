/**
 * `npm run bench -- NAME [args]`: runs bench/NAME.ts, which prints medians and ratios measured
 * in one run. Benchmarks never fail on time. With no NAME, lists the benchmarks.
 */
import { readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const names = readdirSync(here)
  .filter((f) => f.endsWith('.js') && !['run.js', 'util.js'].includes(f))
  .map((f) => f.replace(/\.js$/, ''));
const [name, ...args] = process.argv.slice(2);
if (!name || !names.includes(name)) {
  console.log(`usage: npm run bench -- <${names.join('|')}> [args]`);
  process.exit(name ? 2 : 0);
}
const mod = (await import(`./${name}.js`)) as { run: (args: string[]) => Promise<void> };
await mod.run(args);
