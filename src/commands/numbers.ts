/**
 * Numeric command-line options: one parser and one message for every command, so a bad value
 * is always a BAD_ARGUMENT (exit 2) that names the option, the range and what was given.
 */
import { DfanError } from '../errors.js';

export interface NumberRange {
  min?: number;
  max?: number;
  /** whole numbers only (default true) */
  integer?: boolean;
}

function rangeText({ min, max }: NumberRange): string {
  if (min !== undefined && max !== undefined) return ` from ${min} to ${max}`;
  if (min !== undefined) return ` ≥ ${min}`;
  if (max !== undefined) return ` ≤ ${max}`;
  return '';
}

/** `v` as a number within `range`; throws BAD_ARGUMENT naming `name` (e.g. `--epochs`). */
export function parseNumber(name: string, v: string, range: NumberRange = {}): number {
  const integer = range.integer ?? true;
  const n = v.trim() === '' ? Number.NaN : Number(v);
  const inRange =
    Number.isFinite(n) &&
    (!integer || Number.isInteger(n)) &&
    (range.min === undefined || n >= range.min) &&
    (range.max === undefined || n <= range.max);
  if (!inRange)
    throw new DfanError(
      'BAD_ARGUMENT',
      `${name} must be ${integer ? 'an integer' : 'a number'}${rangeText(range)} (got "${v}")`,
    );
  return n;
}

/** `parseNumber` for an option that may be absent: undefined stays undefined. */
export function parseOptionalNumber(
  name: string,
  v: string | undefined,
  range: NumberRange = {},
): number | undefined {
  return v === undefined ? undefined : parseNumber(name, v, range);
}

/** The same as a commander argument parser: `.option('--epochs <n>', '…', numberOption('--epochs', { min: 0 }))`. */
export function numberOption(name: string, range: NumberRange = {}): (v: string) => number {
  return (v) => parseNumber(name, v, range);
}
