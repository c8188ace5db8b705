/**
 * Readers for the fields of a backbone manifest or pack file: each returns the value or throws
 * one BAD_MANIFEST error naming the file and the field (`prefix` is e.g. `"my-id: input."`).
 */
import { DfanError } from '../errors.js';

export type Json = Record<string, unknown>;

export function fail(file: string, field: string, what: string): never {
  throw new DfanError('BAD_MANIFEST', `backbone manifest field "${field}" ${what}`, {
    file,
    hint: 'see docs/backbones.md for the manifest format and a complete example',
  });
}

/** The value when it is a JSON object, else BAD_MANIFEST on `field`. */
export function object(v: unknown, file: string, field: string): Json {
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    fail(file, field, 'is missing or not an object');
  return v as Json;
}

export function str(
  o: Json,
  key: string,
  file: string,
  prefix: string,
  optional = false,
): string | undefined {
  const v = o[key];
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'string' || v.length === 0)
    fail(file, prefix + key, v === undefined ? 'is missing' : 'must be a non-empty string');
  return v;
}

export function oneOf<T extends string>(
  o: Json,
  key: string,
  allowed: readonly T[],
  file: string,
  prefix: string,
  dflt?: T,
): T {
  const v = o[key];
  if (v === undefined && dflt !== undefined) return dflt;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    fail(
      file,
      prefix + key,
      `${v === undefined ? 'is missing' : `is ${JSON.stringify(v)}`}: expected one of ${allowed.join(', ')}`,
    );
  }
  return v as T;
}

export function numbers(
  o: Json,
  key: string,
  len: number | null,
  file: string,
  prefix: string,
  positive: boolean,
): number[] {
  const v = o[key];
  const ok =
    Array.isArray(v) &&
    (len === null ? v.length > 0 : v.length === len) &&
    v.every((x) => typeof x === 'number' && Number.isFinite(x) && (!positive || x > 0));
  if (!ok) {
    const n = len === null ? 'a non-empty array' : `an array of ${len}`;
    fail(
      file,
      prefix + key,
      `${v === undefined ? 'is missing' : 'is invalid'}: expected ${n} ${positive ? 'positive ' : ''}numbers`,
    );
  }
  return v as number[];
}

/** An array of positive integers (`len` of them, or any non-empty count when null); `what` says which. */
export function positiveInts(
  o: Json,
  key: string,
  len: number | null,
  file: string,
  prefix: string,
  what = 'positive integers',
): number[] {
  const v = o[key];
  const ok =
    Array.isArray(v) &&
    (len === null ? v.length > 0 : v.length === len) &&
    v.every((x) => typeof x === 'number' && Number.isInteger(x) && x > 0);
  if (!ok)
    fail(
      file,
      prefix + key,
      `${v === undefined ? 'is missing' : `is ${JSON.stringify(v)}`}: expected ${what}`,
    );
  return v as number[];
}

/** An integer ≥ `min`, or `dflt` when absent. */
export function integer(
  o: Json,
  key: string,
  min: number,
  dflt: number,
  file: string,
  prefix: string,
): number {
  const v = o[key];
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
    fail(file, prefix + key, `is ${JSON.stringify(v)}: expected an integer ≥ ${min}`);
  return v;
}
