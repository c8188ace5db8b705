import type { StreamTensor } from '../backbones/streams.js';
import type { FeaturePack } from '../backbones/types.js';
import { DfanError, describeError } from '../errors.js';
import { jsonTag, sha256File } from '../util/hash.js';
import { DFAN_VERSION } from '../version.js';
import { withRegions } from './region.js';
import type { VideoFeatures } from './types.js';

export interface ExtractOptions {
  /** snippets per video (default 16) */
  T?: number;
  /** clip frames per snippet (default 8) */
  K?: number;
  /** keep only these streams (default: all the pack makes) */
  streams?: string[];
  /** dataset key (default: the path) */
  key?: string;
  /** source path as the user gave it (default: the path) */
  source?: string;
  /** filled with timings (ms) when given */
  timing?: ExtractTiming;
}

export interface ExtractTiming {
  probeMs: number;
  /**
   * time spent inside pack.decode calls (ffmpeg), part of packMs. A pack that takes frames as
   * they arrive (DecodeOptions.onFrame, e.g. the default pack) runs inference meanwhile: then this
   * is the span until the last frame was handed over, overlapping inference, not ffmpeg's own time
   */
  decodeMs: number;
  /** pack.extract wall time (decode + inference) */
  packMs: number;
  hashMs: number;
  totalMs: number;
}

export const DEFAULT_T = 16;
export const DEFAULT_K = 8;

/** Hash of everything that changes the numbers in a feature file. */
export function configHash(packId: string, opts: { T: number; K: number; streams?: string[] }): string {
  const cfg = {
    v: 1, // bump when the sampling or the file layout changes
    pack: packId,
    T: opts.T,
    K: opts.K,
    clip: 'consecutive-frames',
    streams: opts.streams ? [...opts.streams].sort() : null,
  };
  return jsonTag(cfg);
}

/** Check a --streams selection against what the pack makes. */
export function checkPackStreams(pack: FeaturePack, streams?: string[]): void {
  if (!streams) return;
  const have = pack.streams.map((s) => s.name);
  for (const s of streams) {
    if (!have.includes(s)) {
      throw new DfanError('BAD_ARGUMENT', `pack "${pack.id}" makes no "${s}" stream`, {
        hint: `its streams are: ${have.join(', ')}`,
      });
    }
  }
}

/** The streams to store (`keep`), each one the pack returned with T snippets (INTERNAL otherwise). */
function keptStreams(
  pack: FeaturePack,
  got: Record<string, StreamTensor>,
  keep: string[],
  T: number,
  file: string,
): VideoFeatures['streams'] {
  const streams: VideoFeatures['streams'] = {};
  for (const name of keep) {
    const t = got[name];
    if (!t) throw new DfanError('INTERNAL', `pack "${pack.id}" returned no "${name}" stream`, { file });
    if (t.shape[0] !== T)
      throw new DfanError(
        'INTERNAL',
        `pack "${pack.id}" returned ${t.shape[0]} snippets for "${name}", expected ${T}`,
        {
          file,
        },
      );
    streams[name] = t;
  }
  return streams;
}

/** Extract the features of one video with a loaded pack (in this process). */
export async function extractVideo(
  videoPath: string,
  pack: FeaturePack,
  opts: ExtractOptions = {},
): Promise<VideoFeatures> {
  const T = opts.T ?? DEFAULT_T;
  const K = opts.K ?? DEFAULT_K;
  checkPackStreams(pack, opts.streams);
  const t0 = performance.now();
  const video = await import('../video/index.js');
  const hashP = (async () => {
    const h0 = performance.now();
    const h = await sha256File(videoPath);
    return { h, ms: performance.now() - h0 };
  })();
  hashP.catch(() => {}); // awaited below; probe reports unreadable files first
  const info = await video.probe(videoPath);
  const t1 = performance.now();
  const snippets = video.sampleSnippets(info.duration, T, K, info.fps > 0 ? info.fps : undefined);
  let decodeMs = 0;
  const decode: Parameters<FeaturePack['extract']>[0]['decode'] = async (times, dopts) => {
    const d0 = performance.now();
    try {
      return await video.decodeFrames(videoPath, times, dopts, info);
    } finally {
      decodeMs += performance.now() - d0;
    }
  };
  const res = await pack.extract({ info, snippets, decode });
  const t2 = performance.now();
  const { h: sourceHash, ms: hashMs } = await hashP;
  const keep = opts.streams ?? pack.streams.map((s) => s.name);
  const streams = keptStreams(pack, res.streams, keep, T, videoPath);
  const vf: VideoFeatures = {
    meta: {
      source: opts.source ?? videoPath,
      key: opts.key ?? opts.source ?? videoPath,
      sourceSize: info.size,
      sourceHash,
      duration: info.duration,
      packId: pack.id,
      configHash: configHash(pack.id, { T, K, streams: opts.streams }),
      dfanVersion: DFAN_VERSION,
      createdAt: new Date().toISOString(),
      streams: withRegions(
        pack.streams.filter((s) => keep.includes(s.name)),
        info.displayWidth,
        info.displayHeight,
      ),
      warnings: res.warnings,
    },
    snippets: snippets.map((s) => ({ start: s.start, end: s.end, keyTime: s.keyTime })),
    streams,
  };
  if (opts.timing) {
    Object.assign(opts.timing, {
      probeMs: t1 - t0,
      decodeMs,
      packMs: t2 - t1,
      hashMs,
      totalMs: performance.now() - t0,
    } satisfies ExtractTiming);
  }
  return vf;
}

// ---------------------------------------------------------------- packs

/**
 * Load a pack by spec: `default`, `research` or a pack JSON file (src/backbones), or a JS module
 * (`*.js`/`*.mjs`) whose `createPack(opts)` (or default export) returns a FeaturePack — the
 * plug-in hook for packs written in code (the tests use it for a cheap fake pack).
 */
export async function resolvePack(spec: string, opts: { streams?: string[] } = {}): Promise<FeaturePack> {
  if (/\.(c|m)?js$/.test(spec)) {
    const { pathToFileURL } = await import('node:url');
    const { resolve } = await import('node:path');
    type Factory = (o: unknown) => Promise<FeaturePack> | FeaturePack;
    let mod: { createPack?: Factory; default?: unknown };
    try {
      mod = await import(pathToFileURL(resolve(spec)).href);
    } catch (e) {
      throw new DfanError('NOT_FOUND', 'cannot load the pack module', { file: spec, cause: e });
    }
    const factory =
      mod.createPack ?? (typeof mod.default === 'function' ? (mod.default as Factory) : undefined);
    if (!factory) {
      throw new DfanError('BAD_MANIFEST', 'a pack module must export createPack(opts)', { file: spec });
    }
    return await factory(opts);
  }
  const { loadPack } = await import('../backbones/index.js');
  return loadPack(spec, opts);
}

// ---------------------------------------------------------------- batches

export interface ExtractItem {
  key: string;
  /** absolute path, or null when the file was not found (reported as a failure) */
  path: string | null;
  /** the path as the user wrote it (stored in the metadata); default `path` */
  source?: string;
}

export interface ExtractFailure {
  key: string;
  path: string | null;
  error: string;
}

export interface ExtractProgress {
  total: number;
  done: number;
  skipped: number;
  failed: number;
  /** key of the item that just finished (absent on the first call) */
  key?: string;
  status?: 'done' | 'skipped' | 'failed';
}

export interface ExtractAllOptions {
  /** pack spec (see resolvePack) */
  pack: string;
  T?: number;
  K?: number;
  streams?: string[];
  /** worker processes; 0 = in this process (default 0) */
  workers?: number;
  /** videos in flight per worker (or in this process), so decode overlaps inference (default 2) */
  inflight?: number;
  /** recompute even valid files */
  force?: boolean;
  /** also verify the data hash of existing files before skipping them (default true) */
  verifyExisting?: boolean;
  onProgress?: (p: ExtractProgress) => void;
  /** called once the pack is loaded (id and streams known) */
  onReady?: (info: { packId: string; configHash: string; todo: number; skipped: number }) => void;
  /** stop early (e.g. on SIGINT): no new videos start, running ones finish */
  signal?: AbortSignal;
}

export interface ExtractSummary {
  total: number;
  done: number;
  skipped: number;
  failed: ExtractFailure[];
  packId: string;
  configHash: string;
  interrupted: boolean;
  /** per finished video */
  timings: Array<ExtractTiming & { key: string }>;
  /** peak RSS (MB) of this process and of each worker process */
  peakRssMB: { main: number; workers: number[] };
  wallSeconds: number;
}

export { extractAll } from './batch.js';
export { describeError };
