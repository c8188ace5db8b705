/**
 * The index of `dfan features import`: a CSV that says, for each video and stream, which NumPy
 * array holds it and in which layout. Pure parsing and validation; reading the arrays is in
 * ./import.ts.
 *
 *   video,stream,file,layout[,grid][,duration][,backbone][,description]
 *   Anger/0001.mp4,object,feats/0001.npz:res5,CTHW
 *   Anger/0001.mp4,audio,feats/0001_audio.npy,TC,,12.5
 *
 * `video` is the dataset key (as in the dataset manifest), `file` is relative to the index and
 * may name an array inside an .npz after a colon, `layout` is one of LAYOUTS.
 */
import { dirname, resolve } from 'node:path';
import { parseCsv, readTextFile } from '../data/manifest.js';
import { DfanError } from '../errors.js';

/**
 * How an array's axes map onto dfan's streams (T = time steps, C = channels, H×W = grid,
 * L = tokens):
 *   TC    vector stream [T, C]
 *   THWC  map [T, H, W, C] (channels last)
 *   TCHW  map [T, C, H, W] (a 2-D CNN's maps, one per time step)
 *   CTHW  map [C, T, H, W] (a 3-D CNN's spatio-temporal map: its T axis is the time steps)
 *   TLC   tokens [T, L, C]: the last H·W tokens form the grid (needs `grid`), leading ones
 *         (class, register tokens) are dropped; a grid T′×H×W (a video transformer's tokens
 *         per snippet) takes the last T′·H·W and averages them over T′
 */
export const LAYOUTS = ['TC', 'THWC', 'TCHW', 'CTHW', 'TLC'] as const;
export type Layout = (typeof LAYOUTS)[number];

export interface ImportRow {
  /** 1-based line of the index */
  line: number;
  video: string;
  stream: string;
  /** absolute path of the .npy / .npz */
  path: string;
  /** the path as written in the index */
  file: string;
  /** array name inside an .npz (absent: the only array, or the one named like the stream) */
  array?: string;
  layout: Layout;
  /** TLC: the patch grid [H, W], or [T′, H, W] for a video transformer's tokens */
  grid?: number[];
  /** seconds (absent: snippet times count time steps) */
  duration?: number;
  backbone?: string;
  description?: string;
}

/** A video's rows, or why they cannot be imported (reported per video, never fatal). */
export interface ImportVideo {
  key: string;
  rows: ImportRow[];
  error?: string;
}

const REQUIRED = ['video', 'stream', 'file', 'layout'] as const;
const OPTIONAL = ['grid', 'duration', 'backbone', 'description'] as const;
const STREAM_RE = /^[A-Za-z][A-Za-z0-9_-]*$/;
const RESERVED = ['snippet_times', 'mask', '__metadata__'];

function badIndex(file: string, msg: string, hint: string): DfanError {
  return new DfanError('BAD_MANIFEST', msg, { file, hint });
}

/** One row's fields → an ImportRow, or the reason it is wrong. */
function parseRow(get: (col: string) => string, line: number, base: string): ImportRow | string {
  const video = get('video');
  const stream = get('stream');
  if (!STREAM_RE.test(stream) || RESERVED.includes(stream))
    return `line ${line}: stream "${stream}" must be a plain name (letters, digits, _ -) and not ${RESERVED.join('/')}`;
  const layout = get('layout').toUpperCase() as Layout;
  if (!LAYOUTS.includes(layout))
    return `line ${line}: layout "${get('layout')}" is not one of ${LAYOUTS.join(', ')}`;
  const spec = get('file');
  const m = /^(.*\.npz):([^:/\\]+)$/i.exec(spec);
  const file = m ? m[1] : spec;
  if (!/\.(npy|npz)$/i.test(file))
    return `line ${line}: file "${spec}" must be a .npy or .npz (optionally .npz:array)`;
  const row: ImportRow = { line, video, stream, file: spec, path: resolve(base, file), layout };
  if (m) row.array = m[2];
  const grid = get('grid');
  if (grid) {
    const g = grid.split(/\s*[x×]\s*/i).map(Number);
    if (!(g.length === 2 || g.length === 3) || g.some((d) => !Number.isInteger(d) || d < 1))
      return `line ${line}: grid "${grid}" must be HxW or T'xHxW, e.g. 14x14 or 8x14x14`;
    row.grid = g;
  }
  if (layout === 'TLC' && !row.grid) return `line ${line}: layout TLC needs a grid (e.g. 14x14)`;
  const duration = get('duration');
  if (duration) {
    const d = Number(duration);
    if (!(d > 0)) return `line ${line}: duration "${duration}" must be seconds > 0`;
    row.duration = d;
  }
  if (get('backbone')) row.backbone = get('backbone');
  if (get('description')) row.description = get('description');
  return row;
}

/** Parse an import index; a wrong header is fatal, a wrong row fails its video only. */
export function parseImportIndex(text: string, csvPath: string): ImportVideo[] {
  const records = parseCsv(text, csvPath);
  if (records.length === 0)
    throw badIndex(csvPath, 'the import index is empty', `its header is ${REQUIRED.join(',')}`);
  const header = records[0].fields.map((f) => f.trim().toLowerCase());
  const missing = REQUIRED.filter((c) => !header.includes(c));
  if (missing.length) {
    throw badIndex(
      csvPath,
      `the import index lacks the column(s) ${missing.join(', ')}`,
      `header: ${REQUIRED.join(',')}[,${OPTIONAL.join('][,')}] (docs/features.md, "Importing features")`,
    );
  }
  const base = dirname(resolve(csvPath));
  const videos = new Map<string, ImportVideo>();
  for (const rec of records.slice(1)) {
    const get = (col: string) => {
      const i = header.indexOf(col);
      return i < 0 ? '' : (rec.fields[i] ?? '').trim();
    };
    const key = get('video');
    if (!key)
      throw badIndex(csvPath, `line ${rec.line}: empty video`, 'every row names the dataset key of a video');
    const v = videos.get(key) ?? { key, rows: [] };
    videos.set(key, v);
    const row = parseRow(get, rec.line, base);
    if (typeof row === 'string') v.error ??= row;
    else if (v.rows.some((r) => r.stream === row.stream))
      v.error ??= `line ${rec.line}: stream "${row.stream}" is given twice for this video`;
    else v.rows.push(row);
  }
  return [...videos.values()];
}

export function readImportIndex(csvPath: string): ImportVideo[] {
  const text = readTextFile(csvPath, 'the import index', `a CSV with the header ${REQUIRED.join(',')}`);
  return parseImportIndex(text, csvPath);
}
