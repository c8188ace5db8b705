/**
 * List-valued command-line options: comma-separated names (`--streams object,face`) and split
 * ranges (`--splits 1-10`), parsed one way for every command.
 */
import { parseSplitRange } from '../data/splits.js';
import { DfanError } from '../errors.js';

/** `a, b,,c` → ['a', 'b', 'c']: trimmed, empty entries dropped. */
export function parseList(v: string): string[] {
  return v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * A split range option (`1-10`, `1,3`, `2-4,7`) as sorted numbers; undefined stays undefined.
 * Throws BAD_ARGUMENT naming the option, the value and `example` (a range it would accept).
 */
export function parseSplitsOption(
  name: string,
  v: string | undefined,
  example: string,
): number[] | undefined {
  if (v === undefined || v === '') return undefined;
  const r = parseSplitRange(v);
  if (!r) throw new DfanError('BAD_ARGUMENT', `${name} "${v}" is not a range like ${example}`);
  return r;
}
