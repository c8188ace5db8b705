/**
 * One door to every dataset layout dfan reads, for `dfan dataset stats` and `dfan protocol`:
 *   ve8 | ek6        split lists (classInd.txt, trainlistNN.txt, testlistNN.txt) in --lists DIR,
 *                    or, for VE-8, the 10-split workbook (--xlsx FILE, or a *TrainTestSplits*.xlsx
 *                    in DIR when DIR holds no lists)
 *   FILE.csv         a `video,label,split` manifest (one split; random 2:1 splits when it has no test items)
 *   DIR              a list folder (holds classInd.txt) or a folder per class (random 2:1 splits)
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { DfanError } from '../errors.js';
import { indexVideos, type VideoIndex } from './find.js';
import { listSplitNumbers, readClassInd, readListSplit } from './lists.js';
import { readClassFolders, readManifest } from './manifest.js';
import { randomSplit } from './splits.js';
import type { Dataset } from './types.js';
import { readSplitWorkbook, VE8_CLASSES, workbookSplit } from './ve8-splits.js';

export type DatasetKind = 've8' | 'ek6' | 'lists' | 'manifest' | 'folders';

export interface OpenOptions {
  /** folder with classInd.txt / trainlistNN.txt / testlistNN.txt (or the VE-8 workbook) */
  lists?: string;
  /** folder with the videos */
  root?: string;
  /** VE-8 10-split workbook */
  xlsx?: string;
  /** seed of the random splits made for datasets that have none */
  seed?: number;
}

export interface SplitSource {
  name: string;
  kind: DatasetKind;
  classes: string[];
  /** split numbers available (1-based) */
  splits: number[];
  /** true when the splits are random 2:1 splits made by dfan (the dataset has none) */
  randomSplits: boolean;
  /** where the split definition came from */
  source: string;
  /** the video index (built once, when a root was given) */
  index?: VideoIndex;
  load(n: number): Dataset;
}

const RANDOM_SPLITS = 10;

function findWorkbook(dir: string): string | null {
  if (!existsSync(dir)) return null;
  const hit = readdirSync(dir).find((n) => /traintestsplits.*\.xlsx$/i.test(n) || /splits?\.xlsx$/i.test(n));
  return hit ? join(dir, hit) : null;
}

function fromDataset(ds: Dataset, kind: DatasetKind, source: string, seed: number): SplitSource {
  const hasTest = [...ds.items, ...ds.missing].some((i) => i.split === 'test');
  return {
    name: ds.name,
    kind,
    classes: ds.classes,
    splits: hasTest ? [1] : Array.from({ length: RANDOM_SPLITS }, (_, k) => k + 1),
    randomSplits: !hasTest,
    source,
    load(n: number): Dataset {
      if (hasTest) {
        if (n !== 1)
          throw new DfanError('BAD_ARGUMENT', `${source} defines one split; split ${n} does not exist`);
        return { ...ds, splitNumber: 1 };
      }
      return randomSplit(ds, n, seed);
    },
  };
}

export async function openDataset(target: string, opts: OpenOptions = {}): Promise<SplitSource> {
  const seed = opts.seed ?? 0;
  const index = opts.root ? indexVideos(resolve(opts.root)) : undefined;
  const preset = target === 've8' || target === 'ek6' ? target : null;

  if (
    preset ||
    (existsSync(target) && statSync(target).isDirectory() && existsSync(join(target, 'classInd.txt')))
  ) {
    const dir = preset ? opts.lists : target;
    const name = preset ?? basename(resolve(target));
    if (!dir && !(preset === 've8' && opts.xlsx)) {
      throw new DfanError(
        'BAD_ARGUMENT',
        `${target} needs --lists DIR (the folder with classInd.txt and the split lists)`,
        {
          hint:
            preset === 've8'
              ? 'VAANet distributes them as tools/annotations/ve8/; or give the 10-split workbook with --xlsx'
              : 'CTEN distributes them with its annotations for Ekman-6',
        },
      );
    }
    const listSplits = dir ? listSplitNumbers(dir) : [];
    const workbook = opts.xlsx ?? (listSplits.length === 0 && dir ? findWorkbook(dir) : null);
    if (workbook) {
      const classes =
        dir && existsSync(join(dir, 'classInd.txt')) ? readClassInd(join(dir, 'classInd.txt')) : VE8_CLASSES;
      const wb = await readSplitWorkbook(workbook, classes);
      return {
        name,
        kind: preset ?? 'lists',
        classes,
        splits: [...wb.splits.keys()].sort((a, b) => a - b),
        randomSplits: false,
        source: workbook,
        index,
        load: (n) => workbookSplit(wb, n, { index, name }),
      };
    }
    if (!dir || !existsSync(dir)) {
      throw new DfanError('NOT_FOUND', 'list folder does not exist', { file: dir ?? '(none)' });
    }
    if (listSplits.length === 0) {
      throw new DfanError('NOT_FOUND', 'no trainlistNN.txt + testlistNN.txt pair in the list folder', {
        file: dir,
        hint: 'expected classInd.txt, trainlist01.txt, testlist01.txt …',
      });
    }
    const classes = readClassInd(join(dir, 'classInd.txt'));
    return {
      name,
      kind: preset ?? 'lists',
      classes,
      splits: listSplits,
      randomSplits: false,
      source: dir,
      index,
      load: (n) => readListSplit(dir, n, { index, name }),
    };
  }

  if (!existsSync(target)) {
    throw new DfanError('NOT_FOUND', 'no such dataset: give ve8, ek6, a manifest CSV or a folder', {
      file: target,
    });
  }
  if (statSync(target).isDirectory()) {
    const ds = readClassFolders(target);
    return { ...fromDataset({ ...ds, root: resolve(target) }, 'folders', target, seed) };
  }
  const ds = readManifest(target, opts.root ? { root: resolve(opts.root) } : {});
  return fromDataset({ ...ds, root: opts.root ? resolve(opts.root) : undefined }, 'manifest', target, seed);
}
