/**
 * `dfan features import`: published features (per-video NumPy arrays) into the feature store,
 * so that a researcher who has features but not the videos can train and evaluate. Same store,
 * same guarantees as extraction: one safetensors file per video written atomically, a run that
 * is interrupted resumes (a video whose file is valid for the same import settings and the same
 * array bytes is skipped), and a bad array fails its video only — the rest goes on and the
 * failures are listed.
 *
 * Each stream's array becomes [T0, …] (layout per ./import-index.ts); T0 time steps are then
 * pooled into `snippets` uniform segments (the mean of the steps in each segment, as TSN
 * segments a video), or kept as they are. A video with fewer steps than snippets keeps its
 * steps and pads the rest (mask 0), as extraction does for short videos.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { DfanError, describeError } from '../errors.js';
import { sha256Hex } from '../util/hash.js';
import { DFAN_VERSION } from '../version.js';
import type { ExtractProgress, ExtractSummary } from './extract.js';
import type { ImportRow, ImportVideo } from './import-index.js';
import { type NpyArray, npzNames, parseNpy, readNpzArray } from './numpy.js';
import { FeatureStore, readFeatureHeader } from './store.js';
import type { StreamInfo, StreamTensor, VideoFeatures } from './types.js';

export const IMPORT_FORMAT_VERSION = 1;
/** float16 (how maps are stored) holds magnitudes up to this */
const F16_MAX = 65504;

export interface ImportOptions {
  /** pool the time steps into this many snippets (default 16), or 'keep' them */
  snippets?: number | 'keep';
  /** the pack id written into the files (default "imported") */
  packId?: string;
  /** redo videos whose files are already valid */
  force?: boolean;
  onReady?: (r: { todo: number; total: number; configHash: string }) => void;
  onProgress?: (p: ExtractProgress) => void;
  signal?: AbortSignal;
}

/** What an import did: extraction's summary without its timings. */
export type ImportSummary = Omit<ExtractSummary, 'timings' | 'peakRssMB' | 'wallSeconds'>;

function badArray(row: ImportRow, msg: string, hint?: string): DfanError {
  return new DfanError('BAD_FEATURES', `${row.stream}: ${msg}`, {
    file: row.array ? `${row.path}:${row.array}` : row.path,
    hint:
      hint ??
      `line ${row.line} of the index says layout ${row.layout}${row.grid ? ` grid ${row.grid.join('x')}` : ''}`,
  });
}

/** The row's array: the .npy, or the named (or only, or stream-named) array of an .npz. */
function arrayOf(bytes: Uint8Array, row: ImportRow): NpyArray {
  if (!/\.npz$/i.test(row.path)) return parseNpy(bytes, row.path);
  if (row.array) return readNpzArray(bytes, row.array, row.path);
  const names = npzNames(bytes, row.path);
  const name = names.length === 1 ? names[0] : names.includes(row.stream) ? row.stream : undefined;
  if (!name) {
    throw badArray(
      row,
      `the .npz holds ${names.length} arrays (${names.join(', ')})`,
      'name one as file.npz:array',
    );
  }
  return readNpzArray(bytes, name, row.path);
}

/** Permute an array of `shape` so that axis order `perm` comes first-to-last (C order in, C order out). */
function permute(data: Float32Array, shape: number[], perm: number[]): Float32Array {
  const out = new Float32Array(data.length);
  const stride = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) stride[i] = stride[i + 1] * shape[i + 1];
  const oshape = perm.map((p) => shape[p]);
  const idx = new Array<number>(oshape.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let k = 0; k < idx.length; k++) src += idx[k] * stride[perm[k]];
    out[o] = data[src];
    for (let k = idx.length - 1; k >= 0; k--) {
      if (++idx[k] < oshape[k]) break;
      idx[k] = 0;
    }
  }
  return out;
}

/**
 * Tokens [T, L, C] → map [T, H, W, C]: the last (T′·)H·W tokens are the patches in row-major
 * order (t′,) h, w; the leading ones (class, registers) are dropped; T′ is averaged.
 */
function tokenGrid(a: NpyArray, row: ImportRow): StreamTensor {
  const [T, L, C] = a.shape;
  const grid = row.grid as number[];
  const [Tp, H, W] = grid.length === 3 ? grid : [1, ...grid];
  const drop = L - Tp * H * W;
  if (drop < 0) throw badArray(row, `${L} tokens cannot hold a ${grid.join('x')} grid`);
  const HWC = H * W * C;
  const out = new Float32Array(T * HWC);
  for (let t = 0; t < T; t++) {
    const dst = out.subarray(t * HWC, (t + 1) * HWC);
    for (let tp = 0; tp < Tp; tp++) {
      const src = a.data.subarray((t * L + drop + tp * H * W) * C, (t * L + drop + (tp + 1) * H * W) * C);
      for (let i = 0; i < HWC; i++) dst[i] += src[i] / Tp;
    }
  }
  return { shape: [T, H, W, C], data: out };
}

/** The array as a stream over its own time steps: vectors [T0, C], maps [T0, H, W, C]. */
export function toStream(a: NpyArray, row: ImportRow): StreamTensor {
  const rank = { TC: 2, THWC: 4, TCHW: 4, CTHW: 4, TLC: 3 }[row.layout];
  if (a.shape.length !== rank) {
    throw badArray(
      row,
      `array of shape (${a.shape.join(', ')}) has ${a.shape.length} axes; layout ${row.layout} has ${rank}`,
    );
  }
  if (a.shape.some((d) => d === 0)) throw badArray(row, `array of shape (${a.shape.join(', ')}) is empty`);
  const [d0, d1, d2, d3] = a.shape;
  switch (row.layout) {
    case 'TC':
    case 'THWC':
      return { shape: a.shape, data: a.data };
    case 'TCHW':
      return { shape: [d0, d2, d3, d1], data: permute(a.data, a.shape, [0, 2, 3, 1]) };
    case 'CTHW':
      return { shape: [d1, d2, d3, d0], data: permute(a.data, a.shape, [1, 2, 3, 0]) };
    case 'TLC':
      return tokenGrid(a, row);
  }
}

/** Segment s of N over T0 steps: steps [from, to) (at least one step). */
function segment(s: number, N: number, T0: number): [number, number] {
  const from = Math.floor((s * T0) / N);
  return [from, Math.max(from + 1, Math.floor(((s + 1) * T0) / N))];
}

/** Pool [T0, …] into N snippets (segment means); fewer steps than N: kept, then zero padding. */
export function poolSteps(t: StreamTensor, N: number): StreamTensor {
  const T0 = t.shape[0];
  const F = t.data.length / T0;
  const out = new Float32Array(N * F);
  if (T0 <= N) {
    out.set(t.data);
    return { shape: [N, ...t.shape.slice(1)], data: out };
  }
  for (let s = 0; s < N; s++) {
    const [from, to] = segment(s, N, T0);
    const dst = out.subarray(s * F, (s + 1) * F);
    for (let k = from; k < to; k++) {
      const src = t.data.subarray(k * F, (k + 1) * F);
      for (let f = 0; f < F; f++) dst[f] += src[f];
    }
    for (let f = 0; f < F; f++) dst[f] /= to - from;
  }
  return { shape: [N, ...t.shape.slice(1)], data: out };
}

/** Snippet times and mask for T0 steps pooled into N snippets over `duration` seconds. */
function snippetTimes(T0: number, N: number, duration: number) {
  const step = duration / T0;
  const snippets = [];
  for (let s = 0; s < N; s++) {
    const [from, to] = T0 <= N ? (s < T0 ? [s, s + 1] : [T0, T0]) : segment(s, N, T0);
    const start = from * step;
    const end = to * step;
    snippets.push({ start, end, keyTime: (start + end) / 2 });
  }
  const mask = T0 < N ? Float32Array.from({ length: N }, (_, s) => (s < T0 ? 1 : 0)) : undefined;
  return { snippets, mask };
}

/** What makes an import's numbers: written as the files' configHash. */
export function importConfigHash(packId: string, snippets: number | 'keep', videos: ImportVideo[]): string {
  const streams = new Map<string, string>();
  for (const v of videos)
    for (const r of v.rows) streams.set(r.stream, `${r.layout}${r.grid ? `:${r.grid.join('x')}` : ''}`);
  const spec = {
    kind: 'npy-import',
    version: IMPORT_FORMAT_VERSION,
    packId,
    snippets,
    streams: [...streams].sort(),
  };
  return sha256Hex(JSON.stringify(spec)).slice(0, 16);
}

function streamInfo(row: ImportRow, kind: 'map' | 'vector'): StreamInfo {
  const info: StreamInfo = {
    name: row.stream,
    kind,
    backbone: row.backbone ?? `imported:${basename(row.path)}`,
    description:
      row.description ??
      `imported from NumPy (${row.layout}); the network that made it is not recorded (add a description column)`,
  };
  if (kind === 'map') return { ...info, region: [0, 0, 1, 1] };
  return info;
}

interface LoadedVideo {
  rows: ImportRow[];
  bytes: Uint8Array[];
  sourceHash: string;
}

async function loadBytes(v: ImportVideo): Promise<LoadedVideo> {
  const rows = [...v.rows].sort((a, b) => a.stream.localeCompare(b.stream));
  const bytes: Uint8Array[] = [];
  for (const r of rows) {
    try {
      bytes.push(await readFile(r.path));
    } catch (e) {
      throw new DfanError('NOT_FOUND', `${r.stream}: cannot read the array file`, {
        file: r.path,
        hint: `line ${r.line} of the index; paths are relative to the index`,
        cause: e,
      });
    }
  }
  const sourceHash = sha256Hex(
    rows.map((r, i) => `${r.stream}:${r.array ?? ''}:${sha256Hex(bytes[i])}`).join('\n'),
  );
  return { rows, bytes, sourceHash };
}

/** One video's arrays → VideoFeatures (throws a DfanError naming the file on any problem). */
export function buildFeatures(
  key: string,
  loaded: LoadedVideo,
  opts: { snippets: number | 'keep'; packId: string; configHash: string },
): VideoFeatures {
  const streams: Record<string, StreamTensor> = {};
  const infos: StreamInfo[] = [];
  let T0 = -1;
  loaded.rows.forEach((row, i) => {
    const t = toStream(arrayOf(loaded.bytes[i], row), row);
    if (T0 >= 0 && t.shape[0] !== T0)
      throw badArray(row, `has ${t.shape[0]} time steps, the video's other streams ${T0}`);
    T0 = t.shape[0];
    const kind = t.shape.length === 4 ? 'map' : 'vector';
    if (kind === 'map' && t.data.some((x) => !(Math.abs(x) <= F16_MAX)))
      throw badArray(
        row,
        `holds values beyond ±${F16_MAX} or NaN; map streams are stored as float16`,
        'scale the array',
      );
    streams[row.stream] = t;
    infos.push(streamInfo(row, kind));
  });
  const N = opts.snippets === 'keep' ? T0 : opts.snippets;
  for (const [name, t] of Object.entries(streams)) streams[name] = poolSteps(t, N);
  const duration = loaded.rows.find((r) => r.duration)?.duration;
  const { snippets, mask } = snippetTimes(T0, N, duration ?? T0);
  const first = loaded.rows[0];
  return {
    meta: {
      source: first.file,
      key,
      sourceSize: loaded.bytes.reduce((a, b) => a + b.byteLength, 0),
      sourceHash: loaded.sourceHash,
      duration: duration ?? T0,
      packId: opts.packId,
      configHash: opts.configHash,
      dfanVersion: DFAN_VERSION,
      createdAt: new Date().toISOString(),
      streams: infos,
      warnings: duration
        ? []
        : [`no duration in the import index: snippet times count time steps (1 step = 1 s)`],
    },
    snippets,
    streams,
    ...(mask ? { mask } : {}),
  };
}

/**
 * Stream shapes (without T) must agree across the videos of one store, as training needs: the
 * first video seen (imported now or before) sets each stream's shape.
 */
function checkAgainst(seen: Map<string, string>, shapes: Record<string, number[]>, rows: ImportRow[]): void {
  for (const [name, shape] of Object.entries(shapes)) {
    const dims = shape.slice(1).join('×');
    const prev = seen.get(name);
    if (prev && prev !== dims) {
      const msg = `is [T,${dims}] but the videos before it are [T,${prev}]`;
      const row = rows.find((r) => r.stream === name);
      throw row
        ? badArray(row, msg)
        : new DfanError('BAD_FEATURES', `${name}: ${msg}`, { hint: 'use --force' });
    }
  }
  for (const [name, shape] of Object.entries(shapes))
    if (!seen.has(name)) seen.set(name, shape.slice(1).join('×'));
}

interface ImportRun {
  store: FeatureStore;
  snippets: number | 'keep';
  packId: string;
  configHash: string;
  force: boolean;
  /** each stream's shape (without T), set by the first video */
  seen: Map<string, string>;
}

/** One video: skipped (a valid file from the same bytes), imported, or a thrown DfanError. */
async function importOne(v: ImportVideo, run: ImportRun): Promise<'done' | 'skipped'> {
  if (v.error) throw new DfanError('BAD_MANIFEST', v.error, { hint: 'fix the row in the import index' });
  const loaded = await loadBytes(v);
  const prior = run.force ? null : await run.store.check(v.key, run.configHash);
  if (prior?.ok && prior.meta.sourceHash === loaded.sourceHash) {
    const head = await readFeatureHeader(run.store.pathFor(v.key));
    const shapes = Object.fromEntries(v.rows.map((r) => [r.stream, head.tensors[r.stream]?.shape ?? []]));
    checkAgainst(run.seen, shapes, []);
    return 'skipped';
  }
  const vf = buildFeatures(v.key, loaded, run);
  checkAgainst(
    run.seen,
    Object.fromEntries(Object.entries(vf.streams).map(([n, t]) => [n, t.shape])),
    loaded.rows,
  );
  await run.store.save(vf);
  return 'done';
}

/** Import every video of an index into the store at `out` (see the file comment). */
export async function importFeatures(
  videos: ImportVideo[],
  out: string,
  opts: ImportOptions = {},
): Promise<ImportSummary> {
  const snippets = opts.snippets ?? 16;
  if (snippets !== 'keep' && !(Number.isInteger(snippets) && snippets >= 1))
    throw new DfanError('BAD_ARGUMENT', `snippets must be a positive integer or "keep" (got ${snippets})`);
  const packId = opts.packId ?? 'imported';
  const configHash = importConfigHash(packId, snippets, videos);
  const store = await FeatureStore.open(out, { create: true });
  Object.assign(store.index, {
    packId,
    configHash,
    T: snippets === 'keep' ? undefined : snippets,
    K: undefined,
  });
  const run: ImportRun = { store, snippets, packId, configHash, force: Boolean(opts.force), seen: new Map() };
  const summary: ImportSummary = {
    total: videos.length,
    ...{ done: 0, skipped: 0, failed: [] },
    ...{ packId, configHash, interrupted: false },
  };
  opts.onReady?.({ todo: videos.length, total: videos.length, configHash });
  try {
    for (const v of videos) {
      if (opts.signal?.aborted) {
        summary.interrupted = true;
        break;
      }
      let status: 'done' | 'skipped' | 'failed';
      try {
        status = await importOne(v, run);
        summary[status]++;
      } catch (e) {
        const error = describeError(e);
        store.markFailed(v.key, configHash, error, v.rows[0]?.file);
        summary.failed.push({ key: v.key, path: v.rows[0]?.path ?? null, error });
        status = 'failed';
      }
      const { total, done, skipped } = summary;
      opts.onProgress?.({ total, done, skipped, failed: summary.failed.length, key: v.key, status });
      if ((done + summary.failed.length) % 20 === 0) await store.flush();
    }
  } finally {
    await store.flush();
  }
  return summary;
}
