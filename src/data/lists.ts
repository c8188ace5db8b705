/**
 * Split lists in the UCF-101 style that VideoEmotion-8 (as distributed with VAANet) and Ekman-6
 * (as distributed with CTEN) use:
 *   classInd.txt      `1 Anger` … one class per line, 1-based index
 *   trainlistNN.txt   `Anger/name 1`   (class folder / video name without extension, class index)
 *   testlistNN.txt    `Anger/name`     (VE-8; the index is optional) or `anger/1001 1` (Ekman-6)
 * Items are keyed `Class/name`: one VE-8 basename (3527012618_7ceb8fb27b_700) is filed under both
 * Disgust and Fear, and those are two items.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { DfanError } from '../errors.js';
import { indexVideos, type VideoIndex } from './find.js';
import type { Dataset, DatasetItem, SplitName } from './types.js';

export interface ListEntry {
  key: string; // `Class/name`
  label: string;
  line: number;
}

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new DfanError('NOT_FOUND', `cannot read the ${what}`, { file, cause: e });
  }
}

function lines(text: string): Array<{ line: number; text: string }> {
  const out: Array<{ line: number; text: string }> = [];
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  src.split(/\r?\n/).forEach((t, i) => {
    const s = t.trim();
    if (s !== '' && !s.startsWith('#')) out.push({ line: i + 1, text: s });
  });
  return out;
}

/** `classInd.txt` → class names in index order (indices must be 1..K, each once). */
export function readClassInd(file: string): string[] {
  const byIndex = new Map<number, string>();
  for (const { line, text } of lines(readText(file, 'class index'))) {
    const m = /^(\d+)\s+(.+)$/.exec(text);
    if (!m) {
      throw new DfanError('BAD_MANIFEST', `line ${line}: expected "<index> <class>", got "${text}"`, {
        file,
      });
    }
    const k = Number(m[1]);
    if (byIndex.has(k))
      throw new DfanError('BAD_MANIFEST', `line ${line}: class index ${k} given twice`, { file });
    byIndex.set(k, m[2].trim());
  }
  const n = byIndex.size;
  if (n === 0) throw new DfanError('EMPTY_FILE', 'the class index lists no class', { file });
  const classes: string[] = [];
  for (let k = 1; k <= n; k++) {
    const c = byIndex.get(k);
    if (c === undefined) {
      throw new DfanError('BAD_MANIFEST', `class indices must run 1..${n}; ${k} is missing`, { file });
    }
    classes.push(c);
  }
  return classes;
}

/** Parse one list file against the class index. Pure apart from reading the file. */
export function parseListText(text: string, file: string, classes: string[]): ListEntry[] {
  const lower = classes.map((c) => c.toLowerCase());
  const out: ListEntry[] = [];
  const first = new Map<string, number>();
  for (const { line, text: t } of lines(text)) {
    // `Class/name 3`: the last token is the class index when it is an integer (names may hold spaces)
    const m = /^(.*\S)\s+(\d+)$/.exec(t);
    const path = (m ? m[1] : t).replace(/\\/g, '/').replace(/^\.\//, '');
    const index = m ? Number(m[2]) : null;
    const slash = path.indexOf('/');
    if (slash <= 0 || slash === path.length - 1) {
      throw new DfanError('BAD_MANIFEST', `line ${line}: expected "<class>/<video> [index]", got "${t}"`, {
        file,
      });
    }
    const folder = path.slice(0, slash);
    // kept verbatim: VAANet's names are frame-folder names, i.e. file names minus the LAST
    // extension, so `Surprise/EmilysBirthdaySurprise.mp4` is a real key (file `….mp4.mp4`)
    const name = path.slice(slash + 1);
    const k = lower.indexOf(folder.toLowerCase());
    if (k < 0) {
      throw new DfanError('BAD_MANIFEST', `line ${line}: class "${folder}" is not in the class index`, {
        file,
        hint: `classes: ${classes.join(', ')}`,
      });
    }
    if (index !== null && (index < 1 || index > classes.length || index - 1 !== k)) {
      throw new DfanError(
        'BAD_MANIFEST',
        `line ${line}: class index ${index} does not match the folder "${folder}" (index ${k + 1})`,
        { file },
      );
    }
    const key = `${classes[k]}/${name}`;
    const prev = first.get(key);
    if (prev !== undefined) {
      throw new DfanError('BAD_MANIFEST', `line ${line}: ${key} is already listed on line ${prev}`, { file });
    }
    first.set(key, line);
    out.push({ key, label: classes[k], line });
  }
  return out;
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** Split numbers NN for which both trainlistNN.txt and testlistNN.txt exist in `dir`. */
export function listSplitNumbers(dir: string): number[] {
  if (!existsSync(dir)) return [];
  const names = new Set(readdirSync(dir));
  const out: number[] = [];
  for (const n of names) {
    const m = /^trainlist(\d+)\.txt$/.exec(n);
    if (m && names.has(`testlist${m[1]}.txt`)) out.push(Number(m[1]));
  }
  return out.sort((a, b) => a - b);
}

function listFile(dir: string, kind: 'train' | 'test', n: number): string {
  for (const nn of [pad2(n), String(n)]) {
    const p = join(dir, `${kind}list${nn}.txt`);
    if (existsSync(p)) return p;
  }
  throw new DfanError('NOT_FOUND', `no ${kind}list${pad2(n)}.txt for split ${n}`, {
    file: dir,
    hint: `splits present: ${listSplitNumbers(dir).join(', ') || 'none'}`,
  });
}

export interface ListDatasetOptions {
  /** folder holding the videos; without it videos are not looked up (`video: null`, root unset) */
  root?: string;
  /** a prebuilt index (shared across the splits of one protocol run) */
  index?: VideoIndex;
  name?: string;
}

/** Build a Dataset from split entries, looking the videos up under the root when one is given. */
export function datasetFromEntries(
  name: string,
  classes: string[],
  parts: Array<{ split: SplitName; entries: ListEntry[]; file: string }>,
  opts: ListDatasetOptions & { source?: string; splitNumber?: number } = {},
): Dataset {
  const index = opts.index ?? (opts.root ? indexVideos(resolve(opts.root)) : undefined);
  const items: DatasetItem[] = [];
  const missing: DatasetItem[] = [];
  const seen = new Map<string, string>();
  for (const part of parts) {
    for (const e of part.entries) {
      const prev = seen.get(e.key);
      if (prev !== undefined) {
        throw new DfanError(
          'BAD_MANIFEST',
          `line ${e.line}: ${e.key} is in both the ${prev} and the ${part.split} list`,
          {
            file: part.file,
            hint: 'a video may be in one split only: the test split must not leak into training',
          },
        );
      }
      seen.set(e.key, part.split);
      const item: DatasetItem = {
        key: e.key,
        video: index ? index.find(e.key, classes) : null,
        label: e.label,
        split: part.split,
      };
      (index && item.video === null ? missing : items).push(item);
    }
  }
  const ds: Dataset = { name, classes, items, missing, source: opts.source, splitNumber: opts.splitNumber };
  if (index) ds.root = index.root;
  return ds;
}

/** One split (1-based) of a list folder: classInd.txt + trainlistNN.txt + testlistNN.txt. */
export function readListSplit(dir: string, split: number, opts: ListDatasetOptions = {}): Dataset {
  const classes = readClassInd(join(dir, 'classInd.txt'));
  const trainFile = listFile(dir, 'train', split);
  const testFile = listFile(dir, 'test', split);
  const train = parseListText(readText(trainFile, 'train list'), trainFile, classes);
  const test = parseListText(readText(testFile, 'test list'), testFile, classes);
  return datasetFromEntries(
    opts.name ?? basename(resolve(dir)),
    classes,
    [
      { split: 'train', entries: train, file: trainFile },
      { split: 'test', entries: test, file: testFile },
    ],
    { ...opts, source: dir, splitNumber: split },
  );
}
