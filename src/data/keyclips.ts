/**
 * Ekman-6 emotion-attribution annotations (`Attributes.xlsx`, published with the
 * Frame-Transformer-Network code by the Ekman-6 authors' group).
 *
 * Layout of the real file (inspected, not documented by its authors):
 *   - one sheet per class (Anger, Surprise, Fear, Joy, Sadness, Disgust);
 *   - row 1 is a header: A = class name, F = "Key clip length"/"key length", G = "Video Length";
 *   - from row 2: A = `class/<original file name>.mp4`, B–D = up to three key clips `m's-m's`,
 *     E = total key length `m's`, F = video length `m's`.
 * Oddities handled (all present in the real file): a missing minute (`0'0-'029` = 0:00–0:29),
 * `;` typed for `'` (`0;25`), garbage after the extension (`x.mp4s`, `y.wmv.mp44`), an empty key
 * length (recomputed from the clips), key lengths with ≥ 60 seconds (`0'79`), video lengths shorter
 * than the last clip (raised to it), and one video with no clip at all (kept, `clips: []`).
 */
import { DfanError } from '../errors.js';

export interface KeyClip {
  start: number; // seconds
  end: number; // seconds
}

export interface KeyClipVideo {
  /** class folder as written in the file name (`anger`) */
  label: string;
  /** sheet it came from (`Anger`) */
  sheet: string;
  /** 1-based row in the sheet */
  row: number;
  /** the file name as written in the workbook (`anger/02.mp4`) */
  rawName: string;
  /** cleaned `class/name` without extension (`anger/02`) */
  name: string;
  clips: KeyClip[];
  /** total key length in seconds (as annotated, or the sum of the clips when absent) */
  keyLength: number;
  /** video length in seconds as annotated, null when absent */
  videoLength: number | null;
  /** what was repaired while reading this row */
  notes: string[];
}

export interface KeyClipSet {
  file: string;
  videos: KeyClipVideo[];
  warnings: string[];
}

/** `m's` (minutes ' seconds) → seconds. Accepts `;` or ’ for `'`, and an empty minute (`'29`). */
export function parseMinSec(text: string): number | null {
  const t = text.trim().replace(/[;’`´]/g, "'");
  // `'029` → 0'29: an empty minute field, seconds possibly zero-padded to three digits
  const m = /^(\d*)'(\d{1,3})$/.exec(t);
  if (!m) return null;
  const min = m[1] === '' ? 0 : Number(m[1]);
  // seconds ≥ 60 occur (`0'79` as a summed key length): read them as plain seconds
  return min * 60 + Number(m[2]);
}

/** `m's-m's` → {start, end} in seconds, or null when it does not parse. */
export function parseKeyRange(text: string): KeyClip | null {
  const parts = text.trim().split(/\s*[-–—~]\s*/);
  if (parts.length !== 2) return null;
  const start = parseMinSec(parts[0]);
  const end = parseMinSec(parts[1]);
  if (start === null || end === null) return null;
  return { start, end };
}

/** `anger/x.mp4s` → `anger/x`; `disgust/y.wmv.mp44` → `disgust/y`. */
export function cleanVideoName(raw: string): string {
  let s = raw.trim().replace(/\\/g, '/');
  for (;;) {
    const next = s.replace(/\.(mp4|wmv|flv|avi|mkv|webm|mov|3gp)[a-z0-9]{0,2}$/i, '');
    if (next === s) break;
    s = next;
  }
  return s;
}

function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  if (typeof v === 'object') {
    const o = v as { richText?: Array<{ text: string }>; text?: string; result?: unknown };
    if (Array.isArray(o.richText)) return o.richText.map((r) => r.text).join('');
    if (typeof o.text === 'string') return o.text;
    if (o.result !== undefined) return cellText(o.result);
  }
  return String(v);
}

/** One row of cells (strings) → a KeyClipVideo, or null for a blank row. Pure, for tests. */
export function parseKeyClipRow(
  sheet: string,
  row: number,
  cells: string[],
  file = '<xlsx>',
): KeyClipVideo | null {
  const rawName = (cells[0] ?? '').trim();
  if (rawName === '' && cells.every((c) => (c ?? '').trim() === '')) return null;
  const where = `sheet "${sheet}" row ${row}`;
  if (rawName === '')
    throw new DfanError('BAD_MANIFEST', `${where}: key clips without a video name`, { file });
  const notes: string[] = [];
  const name = cleanVideoName(rawName);
  if (!/\.mp4$/i.test(rawName)) notes.push(`file name repaired: "${rawName}" → "${name}"`);
  const label = name.includes('/') ? name.split('/')[0] : sheet.toLowerCase();
  const clips: KeyClip[] = [];
  for (const c of cells.slice(1, 4)) {
    const t = (c ?? '').trim();
    if (t === '') continue;
    const r = parseKeyRange(t);
    if (!r) throw new DfanError('BAD_MANIFEST', `${where}: key clip "${t}" is not m's-m's`, { file });
    if (/(^|-)\s*'/.test(t)) notes.push(`missing minute read as 0: "${t}"`);
    clips.push(r);
  }
  const keyText = (cells[4] ?? '').trim();
  const lenText = (cells[5] ?? '').trim();
  let keyLength = keyText === '' ? null : parseMinSec(keyText);
  if (keyText !== '' && keyLength === null) {
    throw new DfanError('BAD_MANIFEST', `${where}: key length "${keyText}" is not m's`, { file });
  }
  if (/;/.test(keyText) || /;/.test(lenText)) notes.push('";" read as "\'"');
  if (/'\d*[6-9]\d$/.test(keyText)) notes.push(`key length "${keyText}" has ≥ 60 seconds: read as seconds`);
  if (keyLength === null) {
    keyLength = clips.reduce((s, c) => s + Math.max(0, c.end - c.start), 0);
    if (clips.length > 0) notes.push('key length missing: sum of the clips used');
  }
  let videoLength = lenText === '' ? null : parseMinSec(lenText);
  if (lenText !== '' && videoLength === null) {
    throw new DfanError('BAD_MANIFEST', `${where}: video length "${lenText}" is not m's`, { file });
  }
  // three rows of the real file end a clip after the annotated video length, and in each the
  // clips agree with the key length: the video length is the typo, so it is raised to the clip end
  const lastEnd = clips.reduce((m, c) => Math.max(m, c.end), 0);
  if (videoLength !== null && lastEnd > videoLength) {
    notes.push(`video length ${lenText} ends before the key clip end ${lastEnd} s: ${lastEnd} s used`);
    videoLength = lastEnd;
  }
  for (const c of clips) {
    if (c.end < c.start)
      throw new DfanError('BAD_MANIFEST', `${where}: key clip ends before it starts`, { file });
  }
  if (clips.length === 0) notes.push('no key clip annotated');
  return { label, sheet, row, rawName, name, clips, keyLength, videoLength, notes };
}

/** Read `Attributes.xlsx` (every sheet, header row skipped). */
export async function readKeyClips(file: string): Promise<KeyClipSet> {
  const { default: ExcelJS } = await import('exceljs');
  const wb = new ExcelJS.Workbook();
  try {
    await wb.xlsx.readFile(file);
  } catch (e) {
    throw new DfanError('BAD_MANIFEST', 'cannot read the key-clip workbook', {
      file,
      hint: 'give the Ekman-6 Attributes.xlsx (one sheet per class)',
      cause: e,
    });
  }
  const videos: KeyClipVideo[] = [];
  const warnings: string[] = [];
  const seen = new Map<string, string>();
  for (const ws of wb.worksheets) {
    ws.eachRow({ includeEmpty: false }, (row, n) => {
      if (n === 1) return; // header
      const cells: string[] = [];
      for (let c = 1; c <= 6; c++) cells.push(cellText(row.getCell(c).value));
      const v = parseKeyClipRow(ws.name, n, cells, file);
      if (!v) return;
      const key = v.name.toLowerCase();
      const prev = seen.get(key);
      if (prev)
        warnings.push(
          `${v.name} is annotated twice (${prev} and sheet "${ws.name}" row ${n}); the first is used`,
        );
      else {
        seen.set(key, `sheet "${ws.name}" row ${n}`);
        videos.push(v);
      }
      for (const note of v.notes) warnings.push(`sheet "${ws.name}" row ${n} (${v.name}): ${note}`);
    });
  }
  if (videos.length === 0) {
    throw new DfanError('EMPTY_FILE', 'no annotated video in the key-clip workbook', { file });
  }
  return { file, videos, warnings };
}
