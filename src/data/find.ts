/**
 * Finding a dataset's video files on disk by name. Dataset lists name videos without an
 * extension (`Fear/3501259368_6d0375028d_700`) and users keep them in whatever container they
 * downloaded: the index maps names to files once, so a 1,600-video lookup is one directory walk.
 */
import { readdirSync, type Stats, statSync } from 'node:fs';
import { basename, extname, join, relative, resolve, sep } from 'node:path';
import { DfanError } from '../errors.js';

/** Containers we look for, in preference order when one name exists in several. */
export const VIDEO_EXTENSIONS = ['.mp4', '.wmv', '.flv', '.avi', '.mkv', '.webm', '.mov', '.3gp'] as const;

export function isVideoFile(name: string): boolean {
  return (VIDEO_EXTENSIONS as readonly string[]).includes(extname(name).toLowerCase());
}

function stripVideoExt(p: string): string {
  return isVideoFile(p) ? p.slice(0, -extname(p).length) : p;
}

function extRank(p: string): number {
  return (VIDEO_EXTENSIONS as readonly string[]).indexOf(extname(p).toLowerCase());
}

/** Forward-slash path, so keys are the same on every OS. */
export function toPosix(p: string): string {
  return sep === '/' ? p : p.split(sep).join('/');
}

/**
 * Every video file under `root`, sorted: one walk, hidden entries skipped, symlinked folders
 * followed but visited once, unreadable folders skipped (their videos are reported missing).
 */
export function listVideoFiles(root: string): string[] {
  const out: string[] = [];
  const stack = [resolve(root)];
  const seen = new Set<string>();
  while (stack.length > 0) {
    const dir = stack.pop()!;
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const abs = join(dir, e.name);
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      if (e.isSymbolicLink()) {
        try {
          const s = statSync(abs);
          isDir = s.isDirectory();
          isFile = s.isFile();
        } catch {
          continue;
        }
      }
      if (isDir && !seen.has(abs)) {
        seen.add(abs);
        stack.push(abs);
      } else if (isFile && isVideoFile(e.name)) out.push(abs);
    }
  }
  return out.sort();
}

export interface VideoIndex {
  root: string;
  /** number of video files seen under root */
  size: number;
  /**
   * Absolute path of the video for a list name such as `Fear/clip` or `clip` (extension
   * optional), or null. Tries, in order: the exact relative path (with or without extension);
   * a file with that basename inside a folder named like the name's folder (case-insensitive,
   * at any depth); a file with that basename anywhere, when exactly one exists and it is not
   * filed under another of `classes`. The name is tried as a stem (`x.mp4` → `x.mp4.mp4`) before
   * as a file name (`x.mp4`).
   */
  find(name: string, classes?: readonly string[]): string | null;
}

/** `statSync(path)`, or a NOT_FOUND DfanError naming the path, with `message` and `hint`. */
export function statOrNotFound(path: string, message: string, hint: string): Stats {
  try {
    return statSync(path);
  } catch {
    throw new DfanError('NOT_FOUND', message, { file: path, hint });
  }
}

/** Walk `root` once (following no symlinked folders twice) and index every video file. */
export function indexVideos(root: string): VideoIndex {
  const st = statOrNotFound(
    root,
    'video root folder does not exist',
    'pass --root with the folder that holds the videos',
  );
  if (!st.isDirectory()) {
    throw new DfanError('BAD_ARGUMENT', 'video root must be a folder', { file: root });
  }
  const byRel = new Map<string, string>(); // lower-case relative path without extension → abs
  const byBase = new Map<string, string[]>(); // basename without extension (exact case) → abs[]
  const files = listVideoFiles(root);
  const size = files.length;
  for (const abs of files) {
    const rel = stripVideoExt(toPosix(relative(root, abs)));
    const relKey = rel.toLowerCase();
    const prev = byRel.get(relKey);
    if (!prev || extRank(abs) < extRank(prev)) byRel.set(relKey, abs);
    const b = stripVideoExt(basename(abs));
    const list = byBase.get(b) ?? [];
    list.push(abs);
    byBase.set(b, list);
  }
  for (const list of byBase.values()) list.sort((a, b) => extRank(a) - extRank(b) || a.localeCompare(b));

  /**
   * Is the file inside a folder of that class, at any depth under root? A folder matches when
   * it is named like the class or ends with `-<class>`/`_<class>` (the VE-8 distribution keeps
   * its videos in `VideoEmotionDataset4-Fear/flickr/…`).
   */
  function inClassFolder(abs: string, folder: string): boolean {
    const segs = toPosix(relative(root, abs)).toLowerCase().split('/').slice(0, -1);
    return segs.some((s) => s === folder || s.endsWith(`-${folder}`) || s.endsWith(`_${folder}`));
  }

  function findStem(clean: string, classes?: readonly string[]): string | null {
    const exact = byRel.get(clean.toLowerCase());
    if (exact) return exact;
    const parts = clean.split('/');
    const base = parts[parts.length - 1];
    const candidates = byBase.get(base) ?? [];
    if (candidates.length === 0) return null;
    if (parts.length > 1) {
      const folder = parts[parts.length - 2].toLowerCase();
      const inFolder = candidates.filter((c) => inClassFolder(c, folder));
      if (inFolder.length > 0) return inFolder[0];
    }
    // basename anywhere: never a file filed under another class, and only when unambiguous
    // (several containers of one video count as one)
    const others = (classes ?? [])
      .map((c) => c.toLowerCase())
      .filter((c) => c !== parts[parts.length - 2]?.toLowerCase());
    const allowed = candidates.filter((c) => !others.some((o) => inClassFolder(c, o)));
    const stems = new Set(allowed.map((c) => stripVideoExt(c)));
    return stems.size === 1 ? allowed[0] : null;
  }

  function find(name: string, classes?: readonly string[]): string | null {
    const clean = toPosix(name).replace(/^\.\//, '');
    // list names are file names minus their LAST extension (`x.mp4` names `x.mp4.mp4`): try the
    // name as a stem first, then as a file name
    return findStem(clean, classes) ?? (isVideoFile(clean) ? findStem(stripVideoExt(clean), classes) : null);
  }
  return { root, size, find };
}
