/**
 * The feature store: VideoFeatures ↔ one safetensors file per video, and a folder of them with
 * an `index.json`. See docs/features.md for the file format.
 *
 * Tensors in a feature file:
 *   <stream>        maps [T,H,W,C] as F16, vectors [T,C] as F32 (any stream name)
 *   snippet_times   [T,3] F32: start, end, keyTime (seconds)
 *   mask            [T] F32 (1 = real snippet), only when some snippets are padding
 * Metadata (`__metadata__`, all strings): format = "dfan-features", format_version, dfan_meta
 * (FeatureMeta as JSON), data_sha256 (of the data section), and flat copies of key, source,
 * source_sha256, pack_id, config_hash, dfan_version for readers that don't parse JSON.
 *
 * The files are the truth; index.json is a summary for speed and for humans. A file is trusted
 * only when its header, sizes, format marker, key and config hash check out.
 */

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { StreamTensor } from '../backbones/streams.js';
import { DfanError } from '../errors.js';
import { writeFileAtomic, writeFileAtomicSync } from '../util/atomic.js';
import { hashFile, sha256Hex } from '../util/hash.js';
import {
  decodeSafetensors,
  encodeSafetensors,
  parseHeader,
  type Safetensors,
  type TensorInput,
  toFloat32,
  validateEntries,
} from './safetensors.js';
import type { FeatureMeta, SnippetTimes, VideoFeatures } from './types.js';

export const FEATURE_FORMAT = 'dfan-features';
export const FEATURE_FORMAT_VERSION = '1';
export const FEATURE_EXT = '.safetensors';
export const INDEX_FILE = 'index.json';
/** Tensor names that are not streams. */
export const RESERVED_TENSORS = ['snippet_times', 'mask'] as const;

function badFeatures(file: string | undefined, msg: string): DfanError {
  return new DfanError('BAD_FEATURES', msg, {
    file,
    hint: 'this is not a dfan feature file or it is damaged; re-run `dfan extract` (it re-extracts such files)',
  });
}

// ---------------------------------------------------------------- one file

/** Serialise features to safetensors bytes (maps F16, vectors and times F32). */
export function encodeFeatures(vf: VideoFeatures): Buffer {
  const T = vf.snippets.length;
  const tensors: Record<string, TensorInput> = {};
  const kinds = new Map(vf.meta.streams.map((s) => [s.name, s.kind]));
  for (const [name, t] of Object.entries(vf.streams)) {
    if ((RESERVED_TENSORS as readonly string[]).includes(name) || name === '__metadata__') {
      throw new DfanError('INTERNAL', `stream name "${name}" is reserved in feature files`);
    }
    if (t.shape[0] !== T) {
      throw new DfanError('INTERNAL', `stream "${name}" has ${t.shape[0]} snippets, expected ${T}`);
    }
    const isMap = kinds.get(name) === 'map' || t.shape.length >= 3;
    tensors[name] = { dtype: isMap ? 'F16' : 'F32', shape: t.shape, data: t.data };
  }
  const times = new Float32Array(T * 3);
  vf.snippets.forEach((s, i) => {
    times[i * 3] = s.start;
    times[i * 3 + 1] = s.end;
    times[i * 3 + 2] = s.keyTime;
  });
  tensors.snippet_times = { dtype: 'F32', shape: [T, 3], data: times };
  if (vf.mask) {
    if (vf.mask.length !== T)
      throw new DfanError('INTERNAL', `mask has ${vf.mask.length} entries, expected ${T}`);
    tensors.mask = { dtype: 'F32', shape: [T], data: vf.mask };
  }
  const m = vf.meta;
  const metadata: Record<string, string> = {
    format: FEATURE_FORMAT,
    format_version: FEATURE_FORMAT_VERSION,
    key: m.key,
    source: m.source,
    source_sha256: m.sourceHash,
    pack_id: m.packId,
    config_hash: m.configHash,
    dfan_version: m.dfanVersion,
    dfan_meta: JSON.stringify(m),
  };
  return encodeSafetensors(tensors, metadata, { dataHashKey: 'data_sha256' });
}

function parseMeta(metadata: Record<string, string>, file?: string): FeatureMeta {
  if (metadata.format !== FEATURE_FORMAT) {
    throw badFeatures(file, `safetensors file without the "${FEATURE_FORMAT}" marker (a foreign file?)`);
  }
  if (metadata.format_version !== FEATURE_FORMAT_VERSION) {
    throw new DfanError(
      'BAD_FEATURES',
      `feature format version ${metadata.format_version} is not supported`,
      {
        file,
        hint: `this dfan reads version ${FEATURE_FORMAT_VERSION}; re-extract with --force`,
      },
    );
  }
  let meta: FeatureMeta;
  try {
    meta = JSON.parse(metadata.dfan_meta) as FeatureMeta;
  } catch {
    throw badFeatures(file, 'metadata "dfan_meta" is not valid JSON');
  }
  if (
    !meta ||
    typeof meta !== 'object' ||
    typeof meta.configHash !== 'string' ||
    !Array.isArray(meta.streams)
  ) {
    throw badFeatures(file, 'metadata "dfan_meta" lacks configHash or streams');
  }
  meta.warnings ??= [];
  return meta;
}

/** Check the tensors against each other: snippet_times [T,3], every stream [T,...], mask [T]. */
function checkShapes(st: Safetensors, meta: FeatureMeta, file?: string): number {
  const times = st.tensors.snippet_times;
  if (times?.shape.length !== 2 || times.shape[1] !== 3)
    throw badFeatures(file, 'no snippet_times [T,3] tensor');
  const T = times.shape[0];
  for (const [name, t] of Object.entries(st.tensors)) {
    if (name === 'snippet_times') continue;
    if (name === 'mask') {
      if (t.shape.length !== 1 || t.shape[0] !== T)
        throw badFeatures(file, `mask has shape [${t.shape}], expected [${T}]`);
      continue;
    }
    if (t.shape[0] !== T)
      throw badFeatures(file, `stream "${name}" has shape [${t.shape}], expected ${T} snippets`);
  }
  for (const s of meta.streams) {
    if (!st.tensors[s.name])
      throw badFeatures(file, `stream "${s.name}" is declared in the metadata but has no tensor`);
  }
  return T;
}

export interface ReadOptions {
  /** only convert these streams (others are skipped; saves time and memory) */
  streams?: string[];
  /** also check the data section against its sha256 (reads no more, costs ~1 ms per MB) */
  verify?: boolean;
}

/** Decode feature-file bytes (validated). */
export function decodeFeatures(buf: Uint8Array, file?: string, opts: ReadOptions = {}): VideoFeatures {
  const st = decodeSafetensors(buf, file);
  const meta = parseMeta(st.metadata, file);
  const T = checkShapes(st, meta, file);
  if (opts.verify) {
    const dataStart = 8 + st.headerLength;
    const h = createHash('sha256').update(buf.subarray(dataStart)).digest('hex');
    if (h !== st.metadata.data_sha256)
      throw badFeatures(file, 'data does not match its sha256 (corrupt file)');
  }
  const times = toFloat32(st.tensors.snippet_times);
  const snippets: SnippetTimes[] = [];
  for (let i = 0; i < T; i++)
    snippets.push({ start: times[i * 3], end: times[i * 3 + 1], keyTime: times[i * 3 + 2] });
  const streams: Record<string, StreamTensor> = {};
  for (const [name, t] of Object.entries(st.tensors)) {
    if ((RESERVED_TENSORS as readonly string[]).includes(name)) continue;
    if (opts.streams && !opts.streams.includes(name)) continue;
    streams[name] = { shape: t.shape, data: toFloat32(t) };
  }
  const vf: VideoFeatures = { meta, snippets, streams };
  if (st.tensors.mask) vf.mask = Float32Array.from(toFloat32(st.tensors.mask));
  return vf;
}

/** Read one feature file (validated; throws DfanError BAD_FEATURES when damaged or foreign). */
export async function readFeatures(path: string, opts: ReadOptions = {}): Promise<VideoFeatures> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (e) {
    throw new DfanError('NOT_FOUND', 'cannot read the feature file', { file: path, cause: e });
  }
  return decodeFeatures(buf, path, opts);
}

/** Write one feature file atomically (temp file in the same folder + fsync + rename). */
export async function writeFeatures(path: string, vf: VideoFeatures): Promise<void> {
  await writeFileAtomic(path, encodeFeatures(vf));
}

export interface HeaderInfo {
  meta: FeatureMeta;
  metadata: Record<string, string>;
  tensors: Record<string, { dtype: string; shape: number[] }>;
  size: number;
}

/**
 * Read and validate only the header of a feature file (a few KB): format marker, metadata,
 * offsets against the real file size (catches truncation). With `verify`, the data section is
 * read and checked against its sha256 too.
 */
export async function readFeatureHeader(path: string, opts: { verify?: boolean } = {}): Promise<HeaderInfo> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw new DfanError('NOT_FOUND', 'cannot open the feature file', { file: path, cause: e });
  }
  try {
    const { size } = await fh.stat();
    const first = Buffer.alloc(Math.min(size, 65536));
    await fh.read(first, 0, first.length, 0);
    if (size < 8) throw badFeatures(path, `only ${size} bytes`);
    const n = Number(first.readBigUInt64LE(0));
    let head: Buffer = first;
    if (n > 0 && 8 + n <= size && 8 + n > first.length) {
      head = Buffer.alloc(8 + n);
      await fh.read(head, 0, head.length, 0);
    }
    const { header, headerLength } = parseHeader(head, size, path);
    const dataLength = size - 8 - headerLength;
    const { entries, metadata } = validateEntries(header, dataLength, path);
    const meta = parseMeta(metadata, path);
    const tensors: HeaderInfo['tensors'] = {};
    for (const e of entries) tensors[e.name] = { dtype: e.dtype, shape: e.shape };
    checkShapes(
      {
        tensors: Object.fromEntries(entries.map((e) => [e.name, { ...e, bytes: new Uint8Array(0) }])),
        metadata,
        headerLength,
      },
      meta,
      path,
    );
    if (opts.verify) {
      const data = await hashFile(path, { start: 8 + headerLength, end: size });
      if (data.size !== size - 8 - headerLength) throw badFeatures(path, 'file shrank while reading');
      if (data.sha256 !== metadata.data_sha256)
        throw badFeatures(path, 'data does not match its sha256 (corrupt file)');
    }
    return { meta, metadata, tensors, size };
  } finally {
    await fh.close();
  }
}

// ---------------------------------------------------------------- file names

/**
 * File name for a dataset key: a readable, safe part plus a short hash of the exact key, so
 * that `Fear/[HD]Scary(2)^x=1`, `../../etc/passwd` or `悲しい/clip` all map to distinct plain
 * names inside the store folder (no separators, no leading dot, ≤ 100 chars).
 */
export function fileNameForKey(key: string): string {
  const hash = sha256Hex(key).slice(0, 12);
  let safe = key
    .normalize('NFKD')
    .replace(/[/\\]+/g, '__')
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/\.{2,}/g, '.')
    .replace(/^[._-]+/, '')
    .slice(0, 80)
    .replace(/[._-]+$/, '');
  if (!safe) safe = 'video';
  return `${safe}-${hash}${FEATURE_EXT}`;
}

// ---------------------------------------------------------------- the store

export type EntryStatus = 'done' | 'failed';

export interface IndexEntry {
  file: string;
  configHash: string;
  status: EntryStatus;
  source?: string;
  error?: string;
  updatedAt: string;
}

export interface StoreIndex {
  format: 'dfan-feature-index';
  version: 1;
  /** pack id and config hash of the last run (informative) */
  packId?: string;
  configHash?: string;
  T?: number;
  K?: number;
  entries: Record<string, IndexEntry>;
}

export type CheckResult = { ok: true; meta: FeatureMeta } | { ok: false; reason: string };

function emptyIndex(): StoreIndex {
  return { format: 'dfan-feature-index', version: 1, entries: {} };
}

/** A folder of feature files with an index. Cheap to open (reads index.json only). */
export class FeatureStore {
  readonly dir: string;
  index: StoreIndex;
  private dirty = false;

  private constructor(dir: string, index: StoreIndex) {
    this.dir = dir;
    this.index = index;
  }

  /**
   * Open (or with `create`, create) a store. A missing or unreadable index.json is rebuilt from
   * the feature files' headers, so losing it loses nothing.
   */
  static async open(dir: string, opts: { create?: boolean } = {}): Promise<FeatureStore> {
    if (!existsSync(dir)) {
      if (!opts.create) {
        throw new DfanError('NOT_FOUND', 'feature folder does not exist', {
          file: dir,
          hint: 'run `dfan extract INPUT --out DIR` first',
        });
      }
      mkdirSync(dir, { recursive: true });
    }
    const st = await stat(dir);
    if (!st.isDirectory())
      throw new DfanError('BAD_ARGUMENT', 'the feature store must be a folder', { file: dir });
    let index: StoreIndex | null = null;
    try {
      const parsed = JSON.parse(await readFile(join(dir, INDEX_FILE), 'utf8')) as StoreIndex;
      if (parsed?.format === 'dfan-feature-index' && parsed.entries && typeof parsed.entries === 'object')
        index = parsed;
    } catch {
      /* missing or damaged: rebuild below */
    }
    const store = new FeatureStore(dir, index ?? emptyIndex());
    if (!index) await store.rebuildIndex();
    return store;
  }

  /** Re-create the index from the headers of the feature files in the folder. */
  async rebuildIndex(): Promise<void> {
    const entries: Record<string, IndexEntry> = {};
    for (const name of readdirSync(this.dir)) {
      if (!name.endsWith(FEATURE_EXT) || name.startsWith('.')) continue;
      try {
        const h = await readFeatureHeader(join(this.dir, name));
        if (fileNameForKey(h.meta.key) !== name) continue;
        entries[h.meta.key] = {
          file: name,
          configHash: h.meta.configHash,
          status: 'done',
          source: h.meta.source,
          updatedAt: h.meta.createdAt,
        };
      } catch {
        /* damaged files are simply not indexed: they will be re-extracted */
      }
    }
    this.index.entries = entries;
    this.dirty = true;
  }

  pathFor(key: string): string {
    return join(this.dir, fileNameForKey(key));
  }

  /** Keys whose extraction finished (according to the index). */
  keys(): string[] {
    return Object.entries(this.index.entries)
      .filter(([, e]) => e.status === 'done')
      .map(([k]) => k);
  }

  /** Keys that failed in the last run that tried them, with the reason. */
  failures(): Array<{ key: string; source?: string; error: string }> {
    return Object.entries(this.index.entries)
      .filter(([, e]) => e.status === 'failed')
      .map(([key, e]) => ({ key, source: e.source, error: e.error ?? 'unknown error' }));
  }

  /** Integrity check of the file for `key` (header, sizes, marker, key, optional config hash and data hash). */
  async check(key: string, configHash?: string, opts: { verify?: boolean } = {}): Promise<CheckResult> {
    const path = this.pathFor(key);
    if (!existsSync(path)) return { ok: false, reason: 'no feature file' };
    try {
      const h = await readFeatureHeader(path, opts);
      if (h.meta.key !== key) return { ok: false, reason: `file belongs to key "${h.meta.key}"` };
      if (configHash !== undefined && h.meta.configHash !== configHash) {
        return {
          ok: false,
          reason: `extracted with another configuration (${h.meta.configHash.slice(0, 12)})`,
        };
      }
      return { ok: true, meta: h.meta };
    } catch (e) {
      return { ok: false, reason: e instanceof Error ? e.message : String(e) };
    }
  }

  /** True when a valid file for `key` made with `configHash` exists (see `check`). */
  async has(key: string, configHash: string, opts: { verify?: boolean } = {}): Promise<boolean> {
    return (await this.check(key, configHash, opts)).ok;
  }

  /** Load the features of `key` (validated). */
  async load(key: string, opts: ReadOptions = {}): Promise<VideoFeatures> {
    const path = this.pathFor(key);
    if (!existsSync(path)) {
      throw new DfanError('NOT_FOUND', `no features for "${key}"`, {
        file: path,
        hint: 'run `dfan extract` on the dataset first',
      });
    }
    const vf = await readFeatures(path, opts);
    if (vf.meta.key !== key) throw badFeatures(path, `file belongs to key "${vf.meta.key}", not "${key}"`);
    return vf;
  }

  /** Write the features of a video (atomically) and record it in the index (call `flush`). */
  async save(vf: VideoFeatures): Promise<string> {
    const path = this.pathFor(vf.meta.key);
    await writeFeatures(path, vf);
    this.markDone(vf.meta.key, vf.meta.configHash, vf.meta.source);
    return path;
  }

  markDone(key: string, configHash: string, source?: string): void {
    this.index.entries[key] = {
      file: fileNameForKey(key),
      configHash,
      status: 'done',
      source,
      updatedAt: new Date().toISOString(),
    };
    this.dirty = true;
  }

  markFailed(key: string, configHash: string, error: string, source?: string): void {
    this.index.entries[key] = {
      file: fileNameForKey(key),
      configHash,
      status: 'failed',
      source,
      error,
      updatedAt: new Date().toISOString(),
    };
    this.dirty = true;
  }

  /** Write index.json atomically when it changed. */
  async flush(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    await writeFileAtomic(join(this.dir, INDEX_FILE), `${JSON.stringify(this.index, null, 1)}\n`);
  }

  /** Synchronous flush (for exit handlers). */
  flushSync(): void {
    if (!this.dirty) return;
    this.dirty = false;
    writeFileAtomicSync(join(this.dir, INDEX_FILE), `${JSON.stringify(this.index, null, 1)}\n`);
  }
}
