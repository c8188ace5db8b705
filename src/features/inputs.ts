/**
 * What `dfan extract INPUT` extracts: one video, every video under a folder (recursive; keys are
 * the paths relative to the folder), or the videos of a `video,label,split` CSV manifest (keys
 * are the `video` column as written; missing files become failures, never a crash).
 */
import { basename, extname, join, relative, resolve } from 'node:path';
import { listVideoFiles, statOrNotFound, toPosix, VIDEO_EXTENSIONS } from '../data/find.js';
import { readManifest } from '../data/manifest.js';
import { DfanError } from '../errors.js';
import type { ExtractItem } from './extract.js';

export interface ResolvedInput {
  kind: 'video' | 'folder' | 'manifest';
  items: ExtractItem[];
}

/** Every video file under `root` (hidden entries skipped, symlinked folders visited once), sorted. */
export const listVideos = listVideoFiles;

export function resolveInput(input: string): ResolvedInput {
  const st = statOrNotFound(
    input,
    'input does not exist',
    'give a video, a folder of videos or a video,label,split CSV manifest',
  );
  if (st.isDirectory()) {
    const root = resolve(input);
    const items = listVideos(root).map((abs) => {
      const rel = toPosix(relative(root, abs));
      return { key: rel, path: abs, source: toPosix(join(input, rel)) };
    });
    if (items.length === 0) {
      throw new DfanError('NOT_FOUND', 'no video files in this folder', {
        file: input,
        hint: `looked recursively for ${VIDEO_EXTENSIONS.join(' ')}`,
      });
    }
    return { kind: 'folder', items };
  }
  if (extname(input).toLowerCase() === '.csv') {
    const ds = readManifest(input);
    return {
      kind: 'manifest',
      // missing files (Dataset.missing, video = null) become failures, never silently dropped
      items: [...ds.items, ...ds.missing.filter((m) => !ds.items.includes(m))].map((it) => ({
        key: it.key,
        path: it.video,
        source: it.key,
      })),
    };
  }
  return { kind: 'video', items: [{ key: basename(input), path: resolve(input), source: input }] };
}
