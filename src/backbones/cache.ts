/**
 * The dfan cache folder: $DFAN_CACHE, else ~/.cache/dfan. Installed packs live in `packs/`
 * (src/backbones/packs/installed.ts); models converted to ONNX at first use in `converted/`,
 * each named by a key over its source files and its converter's version.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { writeFileAtomicSync } from '../util/atomic.js';

/** Root of the dfan cache (DFAN_CACHE or ~/.cache/dfan). */
export function cacheRoot(): string {
  const env = process.env.DFAN_CACHE;
  return env && env.trim() !== '' ? resolve(env) : join(homedir(), '.cache', 'dfan');
}

/** Where the converted model `name` is cached (under `cacheDir` when given, else the cache root). */
export function convertedPath(name: string, cacheDir?: string): string {
  return join(cacheDir ?? cacheRoot(), 'converted', name);
}

/**
 * Keep a converted model in the cache, whole or not at all (temp file + rename). False when the
 * cache cannot be written: the model is converted again next time.
 */
export function cacheConverted(file: string, bytes: Uint8Array): boolean {
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileAtomicSync(file, bytes);
    return true;
  } catch {
    return false;
  }
}

/**
 * A model converted at first use: the cached `file` when it exists, else `convert()` and cache
 * it. `file` is null when the cache could not be written (the conversion repeats next time).
 */
export async function cachedConversion(
  file: string,
  convert: () => Uint8Array | Promise<Uint8Array>,
): Promise<{ bytes: Uint8Array; file: string | null }> {
  if (existsSync(file)) return { bytes: readFileSync(file), file };
  const bytes = await convert();
  return { bytes, file: cacheConverted(file, bytes) ? file : null };
}
