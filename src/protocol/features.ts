/**
 * The protocol's features: extracted ONCE for every listed video found under the root (resumable,
 * shared by all splits and variants), or read from a store made earlier, or given by the caller.
 * The returned `config` tags where they came from: it enters each split's config hash, so a split
 * computed on other features is redone.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { DatasetItem } from '../data/types.js';
import { DfanError } from '../errors.js';
import type { ExtractAllOptions, ExtractProgress } from '../features/extract.js';
import type { FeatureSource } from '../model/features.js';
import { readJson } from './files.js';
import { fmtTime } from './report.js';

export interface ProtocolFeatures {
  /** a feature store folder, or the caller's source */
  features: string | FeatureSource;
  /** the extraction's config hash, the store's, or a tag for an external source */
  config: unknown;
}

/** The extraction's settings (pack default "default"), and where the features go or come from. */
export interface FeaturesRequest
  extends Partial<Pick<ExtractAllOptions, 'pack' | 'streams' | 'T' | 'K' | 'workers' | 'inflight'>> {
  out: string;
  /** store folder (default OUT/features) */
  dir?: string;
  source?: FeatureSource;
  /** for the message when no video was found */
  root?: string;
  /** whether the videos were looked up under a root: then they are extracted */
  looked: boolean;
  /** every listed item once, by key */
  items: ReadonlyMap<string, DatasetItem>;
  log: (line: string) => void;
}

/** The features every split trains and tests on. */
export async function protocolFeatures(req: FeaturesRequest): Promise<ProtocolFeatures> {
  if (req.source) return { features: req.source, config: 'external feature source' };
  const dir = resolve(req.dir ?? join(req.out, 'features'));
  if (req.looked) return { features: dir, config: await extractOnce(req, dir) };
  if (!existsSync(dir)) {
    throw new DfanError('NOT_FOUND', 'no feature store and no --root to extract from', {
      file: dir,
      hint: 'give --root DATA (the videos) or --features DIR (a store made by dfan extract)',
    });
  }
  const idx = readJson(join(dir, 'index.json')) as { configHash?: string } | null;
  req.log(`using the feature store ${dir}`);
  return { features: dir, config: idx?.configHash ?? null };
}

/** Extracts every found video into `dir` (finished files are kept); returns the config hash. */
async function extractOnce(req: FeaturesRequest, dir: string): Promise<string> {
  const { log } = req;
  const all = [...req.items.values()];
  const items = all.filter((i) => i.video).map((i) => ({ key: i.key, path: i.video }));
  if (items.length === 0) {
    throw new DfanError('NOT_FOUND', `none of the ${req.items.size} listed videos was found under the root`, {
      file: req.root,
      hint: 'check --root: videos are looked up by name (try `dfan dataset stats … --root`)',
    });
  }
  const missing = all.length - items.length;
  if (missing) log(`${missing} listed video(s) not found under the root: left out (see report)`);
  const pack = req.pack ?? 'default';
  log(`extracting features of ${items.length} videos into ${dir} (pack ${pack}; finished files are kept)`);
  const { extractAll } = await import('../features/extract.js');
  const summary = await extractAll(items, dir, {
    pack,
    streams: req.streams,
    T: req.T,
    K: req.K,
    workers: req.workers,
    inflight: req.inflight,
    onProgress: throttledProgress(log),
  });
  for (const f of summary.failed.slice(0, 10)) log(`  failed: ${f.key}: ${f.error}`);
  log(
    `features: ${summary.done} extracted, ${summary.skipped} kept, ${summary.failed.length} failed in ${fmtTime(summary.wallSeconds)} (pack ${summary.packId})`,
  );
  return summary.configHash;
}

/** A progress line every 3 s at most, and one at the end. */
function throttledProgress(log: (line: string) => void): (p: ExtractProgress) => void {
  let last = 0;
  return (p) => {
    const now = performance.now();
    const finished = p.done + p.skipped + p.failed;
    if (now - last > 3000 || finished === p.total) {
      last = now;
      log(`  features ${finished}/${p.total} (${p.skipped} kept, ${p.failed} failed)`);
    }
  };
}
