import { readFile } from 'node:fs/promises';
import { DfanError } from '../../errors.js';
import type { StreamInfo } from '../streams.js';
import type { BackboneManifest } from '../types.js';

export const PACK_FORMAT = 'dfan-pack@1';

export interface PackFile {
  /** plain file name inside the pack folder (no directories) */
  name: string;
  size: number;
  /** lower-case hex */
  sha256: string;
  licence: string;
  /** where the file comes from (publisher, upstream project) */
  source?: string;
  description?: string;
}

export interface PackJson {
  format: typeof PACK_FORMAT;
  id: string;
  version: string;
  description: string;
  streams: StreamInfo[];
  files: PackFile[];
  /** manifests of the backbones (weights name a file of `files`) */
  backbones: BackboneManifest[];
  /** free-form notes (e.g. what is NOT provided: no Places365 scene model) */
  notes?: string[];
}

const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;
const ID_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const SHA_RE = /^[0-9a-f]{64}$/;

export function isValidPackId(id: string): boolean {
  return ID_RE.test(id);
}

/** Validate a parsed pack.json once at the door; every problem names the file. */
export function validatePackJson(raw: unknown, file: string): PackJson {
  const bad = (msg: string): never => {
    throw new DfanError('BAD_MANIFEST', `invalid pack.json: ${msg}`, {
      file,
      hint: 'see docs/packs.md for the format',
    });
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) bad('not a JSON object');
  const p = raw as Record<string, unknown>;
  if (p.format !== PACK_FORMAT) bad(`"format" must be "${PACK_FORMAT}"`);
  if (typeof p.id !== 'string' || !isValidPackId(p.id))
    bad('"id" must be lower-case letters, digits, - or _');
  if (typeof p.version !== 'string' || p.version === '') bad('"version" must be a non-empty string');
  if (typeof p.description !== 'string') bad('"description" must be a string');
  if (!Array.isArray(p.files) || p.files.length === 0) bad('"files" must be a non-empty array');
  const seen = new Set<string>();
  for (const [i, f] of (p.files as unknown[]).entries()) {
    const x = f as Record<string, unknown>;
    if (typeof x !== 'object' || x === null) bad(`files[${i}] is not an object`);
    if (typeof x.name !== 'string' || !NAME_RE.test(x.name) || x.name === 'pack.json')
      bad(`files[${i}].name must be a plain file name (no folders, not pack.json)`);
    if (seen.has(x.name as string)) bad(`files[${i}].name "${x.name}" is listed twice`);
    seen.add(x.name as string);
    if (typeof x.size !== 'number' || !Number.isInteger(x.size) || x.size < 0)
      bad(`files[${i}].size must be a byte count`);
    if (typeof x.sha256 !== 'string' || !SHA_RE.test(x.sha256))
      bad(`files[${i}].sha256 must be 64 lower-case hex digits`);
    if (typeof x.licence !== 'string' || x.licence === '') bad(`files[${i}].licence is required`);
  }
  if (!Array.isArray(p.streams)) bad('"streams" must be an array');
  if (!Array.isArray(p.backbones)) bad('"backbones" must be an array');
  for (const [i, b] of (p.backbones as unknown[]).entries()) {
    const w = (b as { weights?: unknown }).weights;
    if (typeof w !== 'string' || !seen.has(w))
      bad(`backbones[${i}].weights must name a file listed in "files"`);
  }
  return p as unknown as PackJson;
}

export async function readPackJson(file: string): Promise<PackJson> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new DfanError('NOT_FOUND', 'pack.json not found', { file, cause: e });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new DfanError('BAD_MANIFEST', `pack.json is not valid JSON: ${(e as Error).message}`, {
      file,
      cause: e,
    });
  }
  return validatePackJson(raw, file);
}
