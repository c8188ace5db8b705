/**
 * The library's option objects are checked once, at the door: a misspelt key or a value of the
 * wrong kind is a DfanError that names the function, the option and what to give instead, before
 * any model loads (JavaScript callers have no compiler to catch `{ modle: … }`).
 */
import { DfanError } from '../errors.js';

type Kind = 'string' | 'number' | 'boolean' | 'function' | 'object' | 'string[]' | 'AbortSignal';

export interface OptionRule {
  /** one kind, or several that are all accepted (e.g. a path or an object) */
  kind: Kind | Kind[];
  required?: boolean;
  /** numbers: whole numbers only, within [min, max] */
  integer?: boolean;
  min?: number;
  max?: number;
}

export type OptionRules = Record<string, OptionRule>;

function bad(where: string, message: string, hint?: string): DfanError {
  return new DfanError('BAD_ARGUMENT', `${where}: ${message}`, { hint });
}

function isKind(v: unknown, kind: Kind): boolean {
  switch (kind) {
    case 'string':
      return typeof v === 'string' && v.trim() !== '';
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'string[]':
      return Array.isArray(v) && v.every((s) => typeof s === 'string' && s.trim() !== '');
    case 'object':
      return typeof v === 'object' && v !== null && !Array.isArray(v);
    case 'AbortSignal':
      return v instanceof AbortSignal;
    default:
      return typeof v === kind;
  }
}

const KIND_TEXT: Record<Kind, string> = {
  string: 'a non-empty string',
  number: 'a number',
  boolean: 'true or false',
  function: 'a function',
  object: 'an object',
  'string[]': 'an array of non-empty strings',
  AbortSignal: 'an AbortSignal',
};

function expected(rule: OptionRule): string {
  const kinds = Array.isArray(rule.kind) ? rule.kind : [rule.kind];
  if (kinds.length === 1 && kinds[0] === 'number') {
    const what = rule.integer ? 'an integer' : 'a number';
    if (rule.min !== undefined && rule.max !== undefined) return `${what} from ${rule.min} to ${rule.max}`;
    if (rule.min !== undefined) return `${what} ≥ ${rule.min}`;
    return what;
  }
  return kinds.map((k) => KIND_TEXT[k]).join(' or ');
}

function shown(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'function') return 'a function';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object' && v !== null) return 'an object';
  return String(v);
}

/** Keys of `value` that `known` does not list: each one is an error naming the ones it could be. */
export function checkKeys(where: string, value: object, known: readonly string[]): void {
  const unknown = Object.keys(value).filter((k) => !known.includes(k));
  if (unknown.length === 0) return;
  throw bad(
    where,
    `unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')}`,
    `the options are ${known.join(', ')}`,
  );
}

/**
 * `value` (undefined = {}) checked against `rules`: no unknown keys, required ones present, each
 * of its kind (undefined counts as absent). Returns it typed; nothing is copied or defaulted here.
 */
export function checkOptions<T extends object>(where: string, value: unknown, rules: OptionRules): T {
  const v = value ?? {};
  if (!isKind(v, 'object')) throw bad(where, `the options must be an object (got ${shown(value)})`);
  const o = v as Record<string, unknown>;
  checkKeys(where, o, Object.keys(rules));
  for (const [key, rule] of Object.entries(rules)) {
    const x = o[key];
    if (x === undefined) {
      if (rule.required) throw bad(where, `"${key}" is required (${expected(rule)})`);
      continue;
    }
    const kinds = Array.isArray(rule.kind) ? rule.kind : [rule.kind];
    const inRange =
      typeof x !== 'number' ||
      ((!rule.integer || Number.isInteger(x)) &&
        (rule.min === undefined || x >= rule.min) &&
        (rule.max === undefined || x <= rule.max));
    if (!kinds.some((k) => isKind(x, k)) || !inRange)
      throw bad(where, `"${key}" must be ${expected(rule)} (got ${shown(x)})`);
  }
  return o as T;
}
