/**
 * The one pack JSON format. Every pack file has an `id` and `backbones`: backbone manifests
 * inline, or paths of manifest files relative to the pack file (docs/backbones.md). A pack that
 * `dfan pack install` can install also says what it is and lists its files with their checksums
 * (`format`, `version`, `description`, `streams`, `files`, `notes`: docs/packs.md); its backbones
 * are inline and their weights name listed files. So an installed pack's pack.json is also a pack
 * file the generic runner loads (`--pack ~/.cache/dfan/packs/<id>/pack.json`).
 */
import { dirname, resolve } from 'node:path';
import { DfanError } from '../../errors.js';
import {
  assertWeights,
  loadManifest,
  type ResolvedManifest,
  readJsonFile,
  validateManifest,
  verifyWeights,
} from '../manifest.js';
import type { StreamInfo } from '../streams.js';
import type { BackboneManifest } from '../types.js';

export const PACK_FORMAT = 'dfan-pack@1';

/** One file of an installable pack (weights, labels, signatures), with its checksum. */
export interface PackFileEntry {
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

/** A pack file as written. The install fields are optional for running, required for installing. */
export interface PackJson {
  id: string;
  /** manifests, or paths of manifest files relative to the pack file */
  backbones: Array<BackboneManifest | string>;
  format?: typeof PACK_FORMAT;
  version?: string;
  description?: string;
  streams?: StreamInfo[];
  files?: PackFileEntry[];
  /** free-form notes (e.g. what is NOT provided: no Places365 scene model) */
  notes?: string[];
}

/** A pack file that can be installed: every install field present, backbones inline. */
export interface InstallablePackJson extends PackJson {
  format: typeof PACK_FORMAT;
  version: string;
  description: string;
  streams: StreamInfo[];
  files: PackFileEntry[];
  /** manifests of the backbones (weights name a file of `files`) */
  backbones: BackboneManifest[];
}

/** A pack file read for running: its backbones validated, weights resolved. */
export interface ResolvedPack {
  id: string;
  /** absolute path of the pack file */
  source: string;
  backbones: ResolvedManifest[];
}

type Json = Record<string, unknown>;

const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;
const ID_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const SHA_RE = /^[0-9a-f]{64}$/;

/** Ids an installed pack may have (its folder name in the cache). */
export function isValidPackId(id: string): boolean {
  return ID_RE.test(id);
}

function invalid(file: string, msg: string, docs: string): never {
  throw new DfanError('BAD_MANIFEST', `invalid pack file: ${msg}`, {
    file,
    hint: `see ${docs} for the format`,
  });
}

/** What every pack file has: a JSON object with a non-empty string `id` and a `backbones` array. */
function packObject(raw: unknown, file: string, docs: string): Json {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    invalid(file, 'not a JSON object { id, backbones }', docs);
  const p = raw as Json;
  if (typeof p.id !== 'string' || p.id === '') invalid(file, '"id" must be a non-empty string', docs);
  if (!Array.isArray(p.backbones)) invalid(file, '"backbones" must be an array', docs);
  return p;
}

/** The `files` list of an installable pack: plain names listed once, sizes, hashes, licences. */
function checkFiles(files: unknown, file: string): Set<string> {
  const bad = (msg: string): never => invalid(file, msg, 'docs/packs.md');
  if (!Array.isArray(files) || files.length === 0) bad('"files" must be a non-empty array');
  const seen = new Set<string>();
  for (const [i, f] of (files as unknown[]).entries()) {
    const x = f as Json;
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
  return seen;
}

/** Validate a parsed pack file for installing, once at the door; every problem names the file. */
export function validateInstallable(raw: unknown, file: string): InstallablePackJson {
  const bad = (msg: string): never => invalid(file, msg, 'docs/packs.md');
  const p = packObject(raw, file, 'docs/packs.md');
  if (p.format !== PACK_FORMAT) bad(`"format" must be "${PACK_FORMAT}"`);
  if (!isValidPackId(p.id as string)) bad('"id" must be lower-case letters, digits, - or _');
  if (typeof p.version !== 'string' || p.version === '') bad('"version" must be a non-empty string');
  if (typeof p.description !== 'string') bad('"description" must be a string');
  const names = checkFiles(p.files, file);
  if (!Array.isArray(p.streams)) bad('"streams" must be an array');
  for (const [i, b] of (p.backbones as unknown[]).entries()) {
    const w = (b as { weights?: unknown }).weights;
    if (typeof w !== 'string' || !names.has(w))
      bad(`backbones[${i}].weights must name a file listed in "files"`);
  }
  return p as unknown as InstallablePackJson;
}

/** Read and validate an installable pack.json (NOT_FOUND, BAD_MANIFEST). */
export async function readInstallable(file: string): Promise<InstallablePackJson> {
  return validateInstallable(await readJsonFile(file, 'pack.json', 'docs/packs.md'), file);
}

/** Stream names must be unique within a pack. */
function checkOneBackbonePerStream(pack: ResolvedPack): void {
  const seen = new Set<string>();
  for (const m of pack.backbones) {
    if (seen.has(m.stream))
      invalid(
        m.source,
        `"${m.stream}" is produced by two backbones of pack "${pack.id}"`,
        'docs/backbones.md',
      );
    seen.add(m.stream);
  }
}

/**
 * Read a pack file for running its backbones. Inline manifests resolve weights relative to the
 * pack file; referenced ones relative to themselves. Weights must exist (`verify`: and match
 * their sha256 when the manifest gives one).
 */
export async function loadPackFile(file: string, opts: { verify?: boolean } = {}): Promise<ResolvedPack> {
  const abs = resolve(file);
  const p = packObject(await readJsonFile(abs, 'pack file'), abs, 'docs/backbones.md');
  const list = p.backbones as unknown[];
  if (list.length === 0)
    invalid(abs, '"backbones" must be a non-empty array of manifests or manifest paths', 'docs/backbones.md');
  const pack: ResolvedPack = { id: p.id as string, source: abs, backbones: [] };
  for (const [k, entry] of list.entries()) {
    if (typeof entry === 'string') {
      pack.backbones.push(await loadManifest(resolve(dirname(abs), entry), { checkWeights: false }));
    } else if (entry && typeof entry === 'object') {
      pack.backbones.push(validateManifest(entry, abs, dirname(abs)));
    } else {
      invalid(
        abs,
        `backbones[${k}] must be a manifest object or a path to a manifest file`,
        'docs/backbones.md',
      );
    }
  }
  checkOneBackbonePerStream(pack);
  for (const m of pack.backbones) {
    if (opts.verify) await verifyWeights(m);
    else assertWeights(m);
  }
  return pack;
}
