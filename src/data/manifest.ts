/**
 * The two generic dataset layouts:
 *   - a CSV manifest with the header `video,label,split` (any column order, extra columns
 *     ignored; paths relative to the CSV file; split = train | val | test), RFC 4180 quoting;
 *   - a folder per class (`root/<class>/<video>`), optionally under split folders
 *     (`root/train/<class>/…`, `root/val/…`, `root/test/…`).
 * Missing videos are listed in `Dataset.missing`, never fatal; malformed lists are, with the file
 * and line number.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { DfanError } from '../errors.js';
import { isVideoFile, toPosix, VIDEO_EXTENSIONS } from './find.js';
import type { Dataset, DatasetItem, SplitName } from './types.js';

export const SPLITS: readonly SplitName[] = ['train', 'val', 'test'];

export interface CsvRecord {
  /** 1-based line number where the record starts */
  line: number;
  fields: string[];
}

/**
 * RFC 4180 CSV: fields separated by commas, optionally quoted with `"`; `""` inside quotes is
 * a quote; quoted fields may hold commas and newlines. CRLF or LF; a UTF-8 BOM is dropped;
 * blank lines are skipped.
 */
export function parseCsv(text: string, file = '<csv>'): CsvRecord[] {
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const records: CsvRecord[] = [];
  let line = 1;
  let i = 0;
  const n = src.length;
  while (i < n) {
    const startLine = line;
    const fields: string[] = [];
    let field = '';
    let atFieldStart = true;
    let endOfRecord = false;
    while (i < n && !endOfRecord) {
      const c = src[i];
      if (atFieldStart && c === '"') {
        // quoted field
        i++;
        let closed = false;
        while (i < n) {
          const q = src[i];
          if (q === '"') {
            if (src[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i++;
            closed = true;
            break;
          }
          if (q === '\n') line++;
          field += q;
          i++;
        }
        if (!closed) {
          throw new DfanError('BAD_MANIFEST', `line ${startLine}: a quoted field is never closed`, {
            file,
            hint: 'close the field with " and write quotes inside it as ""',
          });
        }
        // after a closing quote: only a separator, end of line or end of file may follow
        const next = src[i];
        if (next !== undefined && next !== ',' && next !== '\n' && next !== '\r') {
          throw new DfanError('BAD_MANIFEST', `line ${line}: unexpected text after a closing quote`, {
            file,
            hint: 'quote the whole field and double the quotes inside it ("a ""b"" c")',
          });
        }
        atFieldStart = false;
        continue;
      }
      if (c === ',') {
        fields.push(field);
        field = '';
        atFieldStart = true;
        i++;
      } else if (c === '\r' || c === '\n') {
        if (c === '\r' && src[i + 1] === '\n') i++;
        i++;
        line++;
        endOfRecord = true;
      } else {
        field += c;
        atFieldStart = false;
        i++;
      }
    }
    fields.push(field);
    const blank = fields.length === 1 && fields[0].trim() === '';
    if (!blank) records.push({ line: startLine, fields });
  }
  return records;
}

export interface ReadManifestOptions {
  /** base folder for relative paths (default: the CSV's folder) */
  root?: string;
  /** dataset name (default: the CSV's basename without extension) */
  name?: string;
}

/** Resolve a manifest path: as written, or with one of the video extensions added. */
function resolveVideo(base: string, video: string): string | null {
  const p = isAbsolute(video) ? video : resolve(base, video);
  if (existsSync(p) && statSync(p).isFile()) return p;
  if (!isVideoFile(p)) {
    for (const ext of VIDEO_EXTENSIONS) if (existsSync(p + ext)) return p + ext;
  }
  return null;
}

/** Read a `video,label,split` CSV manifest into a Dataset. */
export function readManifest(csvPath: string, opts: ReadManifestOptions = {}): Dataset {
  const text = readTextFile(csvPath, 'the dataset manifest', 'give a CSV with the header video,label,split');
  return parseManifest(text, csvPath, opts);
}

/** A text file's content, or NOT_FOUND naming it (`what` it is, and the `hint` of what to give). */
export function readTextFile(path: string, what: string, hint: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new DfanError('NOT_FOUND', `cannot read ${what}`, { file: path, hint, cause: e });
  }
}

/** Parse manifest text (exported for tests); `csvPath` names the file in errors and is the base for paths. */
export function parseManifest(text: string, csvPath: string, opts: ReadManifestOptions = {}): Dataset {
  const records = parseCsv(text, csvPath);
  if (records.length === 0) {
    throw new DfanError('EMPTY_FILE', 'the manifest is empty', {
      file: csvPath,
      hint: 'the first line must be the header video,label,split',
    });
  }
  const header = records[0].fields.map((h) => h.trim().toLowerCase());
  const col = (name: string): number => {
    const k = header.indexOf(name);
    if (k < 0) {
      throw new DfanError('BAD_MANIFEST', `line ${records[0].line}: the header has no "${name}" column`, {
        file: csvPath,
        hint: `the header must name the columns video,label,split (found: ${records[0].fields.join(',')})`,
      });
    }
    return k;
  };
  const cVideo = col('video');
  const cLabel = col('label');
  const cSplit = col('split');
  const base = opts.root ?? dirname(resolve(csvPath));
  const items: DatasetItem[] = [];
  const missing: DatasetItem[] = [];
  const firstLine = new Map<string, number>();
  const classes: string[] = [];
  for (const rec of records.slice(1)) {
    const where = `line ${rec.line}`;
    if (rec.fields.length !== header.length) {
      throw new DfanError(
        'BAD_MANIFEST',
        `${where}: ${rec.fields.length} fields, the header has ${header.length}`,
        { file: csvPath, hint: 'quote fields that contain commas: "a, b.mp4"' },
      );
    }
    const video = rec.fields[cVideo].trim();
    const label = rec.fields[cLabel].trim();
    const splitRaw = rec.fields[cSplit].trim().toLowerCase();
    if (video === '') throw new DfanError('BAD_MANIFEST', `${where}: empty video path`, { file: csvPath });
    if (label === '') throw new DfanError('BAD_MANIFEST', `${where}: empty label`, { file: csvPath });
    if (!(SPLITS as readonly string[]).includes(splitRaw)) {
      throw new DfanError(
        'BAD_MANIFEST',
        `${where}: split "${rec.fields[cSplit]}" is not train, val or test`,
        {
          file: csvPath,
        },
      );
    }
    const prev = firstLine.get(video);
    if (prev !== undefined) {
      throw new DfanError('BAD_MANIFEST', `${where}: video "${video}" is already listed on line ${prev}`, {
        file: csvPath,
        hint: 'each video may appear once; give the copies different paths if they are different items',
      });
    }
    firstLine.set(video, rec.line);
    if (!classes.includes(label)) classes.push(label);
    const item: DatasetItem = {
      key: video,
      video: resolveVideo(base, video),
      label,
      split: splitRaw as SplitName,
    };
    (item.video === null ? missing : items).push(item);
  }
  if (items.length + missing.length === 0) {
    throw new DfanError('EMPTY_FILE', 'the manifest has a header but no videos', { file: csvPath });
  }
  return {
    name: opts.name ?? basename(csvPath).replace(/\.[^.]*$/, ''),
    classes: sortClasses(classes),
    items,
    missing,
  };
}

/** Class order for lists without a class index: plain code-point order, so it is the same everywhere. */
export function sortClasses(classes: Iterable<string>): string[] {
  return [...new Set(classes)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function subdirs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter(
      (e) =>
        (e.isDirectory() || (e.isSymbolicLink() && statSync(join(dir, e.name)).isDirectory())) &&
        !e.name.startsWith('.'),
    )
    .map((e) => e.name);
}

function videosUnder(dir: string): string[] {
  const out: string[] = [];
  const stack = [dir];
  while (stack.length > 0) {
    const d = stack.pop()!;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      const p = join(d, e.name);
      if (e.isDirectory()) stack.push(p);
      else if (isVideoFile(e.name)) out.push(p);
    }
  }
  return out.sort();
}

export interface ClassFolderOptions {
  /** split given to every item when the root has no train/val/test folders (default "train") */
  split?: SplitName;
  name?: string;
}

/**
 * A folder per class: `root/<class>/**\/<video>`. When `root` holds folders named train, val
 * and/or test (and nothing else), each is read as a split with class folders inside. Keys are
 * paths relative to `root` with forward slashes (`Fear/a.mp4`, or `test/Fear/a.mp4`).
 */
export function readClassFolders(root: string, opts: ClassFolderOptions = {}): Dataset {
  const abs = resolve(root);
  if (!existsSync(abs) || !statSync(abs).isDirectory()) {
    throw new DfanError('NOT_FOUND', 'dataset folder does not exist', {
      file: root,
      hint: 'give a folder that holds one sub-folder per class',
    });
  }
  const top = subdirs(abs);
  const splitLayout =
    top.length > 0 && top.every((d) => (SPLITS as readonly string[]).includes(d.toLowerCase()));
  const parts: Array<{ dir: string; prefix: string; split: SplitName }> = splitLayout
    ? top.map((d) => ({ dir: join(abs, d), prefix: `${d}/`, split: d.toLowerCase() as SplitName }))
    : [{ dir: abs, prefix: '', split: opts.split ?? 'train' }];
  const items: DatasetItem[] = [];
  const classes: string[] = [];
  for (const part of parts) {
    for (const cls of subdirs(part.dir).sort()) {
      for (const file of videosUnder(join(part.dir, cls))) {
        const rel = toPosix(file.slice(abs.length + 1));
        items.push({ key: rel, video: file, label: cls, split: part.split });
        classes.push(cls);
      }
    }
  }
  if (items.length === 0) {
    throw new DfanError('EMPTY_FILE', 'no videos found in class folders', {
      file: root,
      hint: `lay the dataset out as ${basename(abs)}/<class>/<video> with extensions ${VIDEO_EXTENSIONS.join(' ')}`,
    });
  }
  return { name: opts.name ?? basename(abs), classes: sortClasses(classes), items, missing: [] };
}
