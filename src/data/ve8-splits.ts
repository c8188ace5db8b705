/**
 * The 10 random train/test splits of VideoEmotion-8, distributed with the dataset as
 * `VideoEmotionDataset-TrainTestSplits.xlsx`.
 *
 * We do not have that file. Its layout is INFERRED from two public scripts that read it
 * (a pandas one: `read_excel(sheetname=0)` for the column "Video Name and Directory", then
 * `read_excel(sheetname=1, header=[0, 1], parse_cols=[2k, 2k+1])` for "Split k+1"; an xlrd one:
 * sheet 0, rows from 2, columns 0–1 = number, name; sheet 1, rows from 2, columns 2k–2k+1):
 *   - sheet 1, the video index: a header row with "Video Name and Directory" (a number column
 *     beside it), then one row per video: number, `<class folder>/<source>/<file>.mp4`;
 *   - sheet 2, the splits: header row 1 "Split 1" … "Split 10" over column pairs, header row 2
 *     "Train" / "Test", then video numbers (the test column is shorter: blank cells end it).
 * The reader is deliberately tolerant so that a variant layout also reads: one sheet per split
 * (sheet named "Split N" with "Train"/"Test" columns), names instead of numbers in the split
 * columns, the class folder written `Fear` or `VideoEmotionDataset4-Fear`.
 */
import { DfanError } from '../errors.js';
import { datasetFromEntries, type ListDatasetOptions, type ListEntry } from './lists.js';
import type { Dataset } from './types.js';

export const VE8_CLASSES = [
  'Anger',
  'Anticipation',
  'Disgust',
  'Fear',
  'Joy',
  'Sadness',
  'Surprise',
  'Trust',
];

/** A sheet as a dense grid of trimmed strings (row-major, 0-based). */
export type Grid = string[][];

export interface SplitWorkbook {
  file: string;
  classes: string[];
  /** split number → entries */
  splits: Map<number, { train: ListEntry[]; test: ListEntry[] }>;
  warnings: string[];
}

function cellString(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(v);
  if (typeof v === 'string') return v.trim();
  if (typeof v === 'object') {
    const o = v as { richText?: Array<{ text: string }>; text?: string; result?: unknown };
    if (Array.isArray(o.richText))
      return o.richText
        .map((r) => r.text)
        .join('')
        .trim();
    if (typeof o.text === 'string') return o.text.trim();
    if (o.result !== undefined) return cellString(o.result);
  }
  return String(v).trim();
}

/** Class of a video path: the first folder named like a class (`Fear`, `VideoEmotionDataset4-Fear`). */
export function classOfPath(path: string, classes: string[]): string | null {
  const segs = path.replace(/\\/g, '/').split('/').slice(0, -1);
  for (const s of segs) {
    const l = s.toLowerCase();
    for (const c of classes) {
      const cl = c.toLowerCase();
      if (l === cl || l.endsWith(`-${cl}`) || l.endsWith(`_${cl}`)) return c;
    }
  }
  return null;
}

function stem(path: string): string {
  const base = path.replace(/\\/g, '/').split('/').pop() ?? path;
  return base.replace(/\.(mp4|wmv|flv|avi|mkv|webm|mov|3gp)$/i, '');
}

const isNumber = (s: string): boolean => /^\d+(\.0+)?$/.test(s);
const col = (c: number): string => {
  let s = '';
  let n = c + 1;
  while (n > 0) {
    const r = (n - 1) % 26;
    s = String.fromCharCode(65 + r) + s;
    n = Math.floor((n - 1) / 26);
  }
  return s;
};

/** Sheet 1's video index: video number → path (numbers from their column, else the row order). */
interface VideoIndex {
  idToPath: Map<string, string>;
  /** the sheet that held it, or null when no sheet has a "video name" header */
  sheet: string | null;
}

function readVideoIndex(sheets: Array<{ name: string; grid: Grid }>, file: string): VideoIndex {
  const idToPath = new Map<string, string>();
  for (const { name, grid } of sheets) {
    let hr = -1;
    let nameCol = -1;
    for (let r = 0; r < Math.min(3, grid.length) && hr < 0; r++) {
      const c = grid[r].findIndex((v) => /video\s*name/i.test(v));
      if (c >= 0) {
        hr = r;
        nameCol = c;
      }
    }
    if (hr < 0) continue;
    let idCol = grid[hr].findIndex(
      (v, c) => c !== nameCol && /^(no\.?|id|index|#|num(ber)?|video\s*(no|id|number)\.?)$/i.test(v),
    );
    if (idCol < 0 && nameCol > 0) idCol = nameCol - 1;
    let ordinal = 0;
    for (let r = hr + 1; r < grid.length; r++) {
      const path = grid[r][nameCol] ?? '';
      if (path === '' || !/[/\\]|\.\w{2,4}$/.test(path)) continue; // blank or sub-header row
      ordinal++;
      const idText = idCol >= 0 ? (grid[r][idCol] ?? '') : '';
      const id = isNumber(idText) ? String(Number.parseInt(idText, 10)) : String(ordinal);
      if (idToPath.has(id)) {
        throw new DfanError(
          'BAD_MANIFEST',
          `sheet "${name}" cell ${col(idCol)}${r + 1}: video number ${id} used twice`,
          {
            file,
          },
        );
      }
      idToPath.set(id, path);
    }
    return { idToPath, sheet: name };
  }
  return { idToPath, sheet: null };
}

/** A split cell (a video number, or a path) as a list entry `Class/name`. */
function entryReader(index: VideoIndex, file: string, classes: string[]) {
  return (value: string, where: string): ListEntry => {
    const path = isNumber(value) ? index.idToPath.get(String(Number.parseInt(value, 10))) : value;
    if (path === undefined) {
      throw new DfanError('BAD_MANIFEST', `${where}: video number ${value} is not in the video index`, {
        file,
        hint: index.sheet
          ? `index sheet: "${index.sheet}"`
          : 'no sheet has a "Video Name and Directory" column',
      });
    }
    const label = classOfPath(path, classes);
    if (!label) {
      throw new DfanError('BAD_MANIFEST', `${where}: cannot tell the class of "${path}"`, {
        file,
        hint: `the path must contain a folder named after a class (${classes.join(', ')})`,
      });
    }
    return { key: `${label}/${stem(path)}`, label, line: 0 };
  };
}

/** Where one split sits in a sheet: its train and test columns and the first row of numbers. */
interface SplitBlock {
  n: number;
  trainCol: number;
  testCol: number;
  firstRow: number;
}

/** The splits of a sheet: "Split N" header cells over Train/Test columns, or a sheet named "Split N". */
function splitBlocks(name: string, grid: Grid): SplitBlock[] {
  const blocks: SplitBlock[] = [];
  for (let r = 0; r < Math.min(3, grid.length); r++) {
    grid[r].forEach((v, c) => {
      const m = /^split\s*0*(\d+)$/i.exec(v);
      if (!m) return;
      // a merged header cell is read into every cell it covers: keep its first column only
      if (blocks.some((b) => b.n === Number(m[1]))) return;
      // sub-header below: which of the next two columns is train / test
      const sub = grid[r + 1] ?? [];
      let trainCol = c;
      let testCol = c + 1;
      if (/test/i.test(sub[c] ?? '') && /train/i.test(sub[c + 1] ?? '')) [trainCol, testCol] = [c + 1, c];
      const hasSub = /train|test/i.test(sub[c] ?? '') || /train|test/i.test(sub[c + 1] ?? '');
      blocks.push({ n: Number(m[1]), trainCol, testCol, firstRow: r + (hasSub ? 2 : 1) });
    });
  }
  const sheetSplit = /split\s*0*(\d+)/i.exec(name);
  if (blocks.length === 0 && sheetSplit) {
    for (let r = 0; r < Math.min(3, grid.length) && blocks.length === 0; r++) {
      const trainCol = grid[r].findIndex((v) => /^train/i.test(v));
      const testCol = grid[r].findIndex((v) => /^test/i.test(v));
      if (trainCol >= 0 && testCol >= 0)
        blocks.push({ n: Number(sheetSplit[1]), trainCol, testCol, firstRow: r + 1 });
    }
  }
  return blocks;
}

/** The train and test entries of one block (blank cells skipped: the test column is shorter). */
function readBlock(
  name: string,
  grid: Grid,
  b: SplitBlock,
  entryOf: ReturnType<typeof entryReader>,
): { train: ListEntry[]; test: ListEntry[] } {
  const train: ListEntry[] = [];
  const test: ListEntry[] = [];
  for (let r = b.firstRow; r < grid.length; r++) {
    for (const [c, out] of [
      [b.trainCol, train],
      [b.testCol, test],
    ] as const) {
      const v = grid[r][c] ?? '';
      if (v === '') continue;
      const e = entryOf(v, `sheet "${name}" cell ${col(c)}${r + 1}`);
      e.line = r + 1;
      out.push(e);
    }
  }
  return { train, test };
}

/**
 * Parse the workbook from grids (pure; the exceljs adapter is `readSplitWorkbook`).
 * `sheets` in workbook order.
 */
export function parseSplitWorkbook(
  sheets: Array<{ name: string; grid: Grid }>,
  file: string,
  classes: string[] = VE8_CLASSES,
): SplitWorkbook {
  const index = readVideoIndex(sheets, file);
  const entryOf = entryReader(index, file, classes);
  const splits = new Map<number, { train: ListEntry[]; test: ListEntry[] }>();
  for (const { name, grid } of sheets) {
    if (name === index.sheet) continue;
    for (const b of splitBlocks(name, grid)) {
      if (splits.has(b.n)) {
        throw new DfanError('BAD_MANIFEST', `split ${b.n} is given twice (sheet "${name}")`, { file });
      }
      splits.set(b.n, readBlock(name, grid, b, entryOf));
    }
  }
  if (splits.size === 0) {
    throw new DfanError('BAD_MANIFEST', 'no "Split N" columns or sheets found in the workbook', {
      file,
      hint: 'expected the VideoEmotionDataset-TrainTestSplits.xlsx layout (see docs/datasets.md)',
    });
  }
  return { file, classes, splits, warnings: [] };
}

/** Read the splits workbook with exceljs. */
export async function readSplitWorkbook(
  file: string,
  classes: string[] = VE8_CLASSES,
): Promise<SplitWorkbook> {
  const { default: ExcelJS } = await import('exceljs');
  const wb = new ExcelJS.Workbook();
  try {
    await wb.xlsx.readFile(file);
  } catch (e) {
    throw new DfanError('BAD_MANIFEST', 'cannot read the splits workbook', { file, cause: e });
  }
  const sheets = wb.worksheets.map((ws) => {
    const grid: Grid = [];
    ws.eachRow({ includeEmpty: true }, (row, n) => {
      const cells: string[] = [];
      const count = Math.max(row.cellCount, ws.columnCount);
      for (let c = 1; c <= count; c++) cells.push(cellString(row.getCell(c).value));
      grid[n - 1] = cells;
    });
    for (let r = 0; r < grid.length; r++) if (!grid[r]) grid[r] = [];
    return { name: ws.name, grid };
  });
  return parseSplitWorkbook(sheets, file, classes);
}

/** One split of the workbook as a Dataset (keys `Class/name`, like the VAANet lists). */
export function workbookSplit(wb: SplitWorkbook, n: number, opts: ListDatasetOptions = {}): Dataset {
  const s = wb.splits.get(n);
  if (!s) {
    throw new DfanError('BAD_ARGUMENT', `split ${n} is not in the workbook`, {
      file: wb.file,
      hint: `splits present: ${[...wb.splits.keys()].sort((a, b) => a - b).join(', ')}`,
    });
  }
  return datasetFromEntries(
    opts.name ?? 've8',
    wb.classes,
    [
      { split: 'train', entries: s.train, file: wb.file },
      { split: 'test', entries: s.test, file: wb.file },
    ],
    { ...opts, source: wb.file, splitNumber: n },
  );
}
