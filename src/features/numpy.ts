/**
 * NumPy's own file formats, read without Python: `.npy` (one array: a magic string, a header
 * that is a Python dict literal, then the raw data) and `.npz` (a zip of `.npy` members, stored
 * by `np.savez` or deflated by `np.savez_compressed`, zip64 entries included). Arrays come back
 * as float32 in C order whatever their numeric dtype and memory order. Anything else (object or
 * string arrays, a truncated file, a header that lies about the data size) is a `BAD_FEATURES`
 * error naming the file.
 */
import { inflateRawSync } from 'node:zlib';
import { DfanError } from '../errors.js';

export interface NpyArray {
  /** NumPy's dtype string as written, e.g. '<f4' */
  dtype: string;
  shape: number[];
  /** the values in C (row-major) order */
  data: Float32Array;
}

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

function bad(file: string, msg: string, hint?: string): DfanError {
  return new DfanError('BAD_FEATURES', msg, {
    file,
    hint: hint ?? 'write it again with numpy.save / numpy.savez (float or integer arrays)',
  });
}

/** The header dict of a .npy: {'descr': '<f4', 'fortran_order': False, 'shape': (16, 512), } */
function parseHeader(text: string, file: string): { descr: string; fortran: boolean; shape: number[] } {
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(text)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1];
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shape === undefined)
    throw bad(file, `not a NumPy .npy header: ${JSON.stringify(text.slice(0, 80))}`);
  const dims = shape
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  if (dims.some((d) => !Number.isInteger(d) || d < 0)) throw bad(file, `bad shape (${shape}) in the header`);
  return { descr, fortran: fortran === 'True', shape: dims };
}

type Reader = (view: DataView, offset: number, little: boolean) => number;
const READERS: Record<string, { size: number; read: Reader }> = {
  f2: { size: 2, read: (v, o, le) => halfToFloat(v.getUint16(o, le)) },
  f4: { size: 4, read: (v, o, le) => v.getFloat32(o, le) },
  f8: { size: 8, read: (v, o, le) => v.getFloat64(o, le) },
  i1: { size: 1, read: (v, o) => v.getInt8(o) },
  u1: { size: 1, read: (v, o) => v.getUint8(o) },
  b1: { size: 1, read: (v, o) => v.getUint8(o) },
  i2: { size: 2, read: (v, o, le) => v.getInt16(o, le) },
  u2: { size: 2, read: (v, o, le) => v.getUint16(o, le) },
  i4: { size: 4, read: (v, o, le) => v.getInt32(o, le) },
  u4: { size: 4, read: (v, o, le) => v.getUint32(o, le) },
  i8: { size: 8, read: (v, o, le) => Number(v.getBigInt64(o, le)) },
  u8: { size: 8, read: (v, o, le) => Number(v.getBigUint64(o, le)) },
};

/** IEEE 754 half → number. */
function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** C order strides (in elements) of a shape. */
function stridesOf(shape: number[]): number[] {
  const st = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) st[i] = st[i + 1] * shape[i + 1];
  return st;
}

/** Parse a .npy file's bytes. `file` names it in errors (for an npz member: `a.npz:name`). */
export function parseNpy(buf: Uint8Array, file: string): NpyArray {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < 10 || !b.subarray(0, 6).equals(MAGIC))
    throw bad(file, 'not a NumPy .npy file (no \\x93NUMPY magic)');
  const major = b[6];
  if (major < 1 || major > 3) throw bad(file, `unsupported .npy version ${major}.${b[7]}`);
  const headerLen = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const dataStart = (major === 1 ? 10 : 12) + headerLen;
  if (dataStart > b.length) throw bad(file, 'truncated .npy file (the header is cut)');
  const enc = major === 3 ? 'utf8' : 'latin1';
  const h = parseHeader(b.toString(enc, major === 1 ? 10 : 12, dataStart), file);
  const m = /^([<>|=])([a-zA-Z])(\d+)$/.exec(h.descr);
  const reader = m ? READERS[`${m[2]}${m[3]}`] : undefined;
  if (!m || !reader) {
    throw bad(
      file,
      `dtype ${h.descr} is not a number type dfan can read`,
      'save float16/32/64 or integer arrays (not object, string, complex or structured ones)',
    );
  }
  const little = m[1] !== '>';
  const n = h.shape.reduce((a, d) => a * d, 1);
  const need = n * reader.size;
  if (b.length - dataStart < need) {
    throw bad(
      file,
      `truncated .npy file: shape (${h.shape.join(', ')}) of ${h.descr} needs ${need} data bytes, ${b.length - dataStart} are there`,
      'the file was cut while copying or writing: write it again',
    );
  }
  const view = new DataView(b.buffer, b.byteOffset + dataStart, need);
  const data = new Float32Array(n);
  if (!h.fortran || h.shape.length < 2) {
    for (let i = 0; i < n; i++) data[i] = reader.read(view, i * reader.size, little);
  } else {
    // Fortran order: element (i0, i1, …) sits at Σ i_k · F_k with F the column-major strides
    const c = stridesOf(h.shape);
    const f = stridesOf([...h.shape].reverse()).reverse();
    for (let i = 0; i < n; i++) {
      let rest = i;
      let src = 0;
      for (let k = 0; k < h.shape.length; k++) {
        const ik = Math.floor(rest / c[k]);
        rest -= ik * c[k];
        src += ik * f[k];
      }
      data[i] = reader.read(view, src * reader.size, little);
    }
  }
  return { dtype: h.descr, shape: h.shape, data };
}

// ---------------------------------------------------------------- .npz (zip)

interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  localOffset: number;
}

/** zip64 extra field (id 1): the 64-bit values replace the 32-bit ones that read 0xFFFFFFFF. */
function zip64Extra(
  b: Buffer,
  start: number,
  end: number,
  want: { usize: boolean; csize: boolean; offset: boolean },
): { csize?: number; offset?: number } {
  let p = start;
  while (p + 4 <= end) {
    const id = b.readUInt16LE(p);
    const len = b.readUInt16LE(p + 2);
    if (id === 1) {
      let q = p + 4;
      const out: { csize?: number; offset?: number } = {};
      if (want.usize) q += 8;
      if (want.csize) {
        out.csize = Number(b.readBigUInt64LE(q));
        q += 8;
      }
      if (want.offset) out.offset = Number(b.readBigUInt64LE(q));
      return out;
    }
    p += 4 + len;
  }
  return {};
}

function centralDirectory(b: Buffer, file: string): ZipEntry[] {
  // the end-of-central-directory record sits in the last 22 + 65535 bytes
  let eocd = -1;
  for (let p = b.length - 22; p >= Math.max(0, b.length - 22 - 0xffff); p--) {
    if (b.readUInt32LE(p) === 0x06054b50) {
      eocd = p;
      break;
    }
  }
  if (eocd < 0) throw bad(file, 'not a .npz (zip) file, or a truncated one: no end of central directory');
  let count = b.readUInt16LE(eocd + 10);
  let cdOffset = b.readUInt32LE(eocd + 16);
  const loc64 = eocd - 20;
  if (loc64 >= 0 && b.readUInt32LE(loc64) === 0x07064b50) {
    const rec = Number(b.readBigUInt64LE(loc64 + 8));
    if (rec + 56 <= b.length && b.readUInt32LE(rec) === 0x06064b50) {
      count = Number(b.readBigUInt64LE(rec + 32));
      cdOffset = Number(b.readBigUInt64LE(rec + 48));
    }
  }
  const entries: ZipEntry[] = [];
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + 46 > b.length || b.readUInt32LE(p) !== 0x02014b50)
      throw bad(file, 'damaged .npz central directory');
    const nameLen = b.readUInt16LE(p + 28);
    const extraLen = b.readUInt16LE(p + 30);
    const commentLen = b.readUInt16LE(p + 32);
    let csize = b.readUInt32LE(p + 20);
    const usize = b.readUInt32LE(p + 24);
    let offset = b.readUInt32LE(p + 42);
    const z = zip64Extra(b, p + 46 + nameLen, p + 46 + nameLen + extraLen, {
      usize: usize === 0xffffffff,
      csize: csize === 0xffffffff,
      offset: offset === 0xffffffff,
    });
    csize = z.csize ?? csize;
    offset = z.offset ?? offset;
    const name = b.toString('utf8', p + 46, p + 46 + nameLen);
    entries.push({ name, method: b.readUInt16LE(p + 10), compressedSize: csize, localOffset: offset });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

function memberBytes(b: Buffer, e: ZipEntry, file: string): Buffer {
  const p = e.localOffset;
  if (p + 30 > b.length || b.readUInt32LE(p) !== 0x04034b50) throw bad(file, `damaged .npz member ${e.name}`);
  const start = p + 30 + b.readUInt16LE(p + 26) + b.readUInt16LE(p + 28);
  if (start + e.compressedSize > b.length) throw bad(file, `truncated .npz: member ${e.name} is cut`);
  const raw = b.subarray(start, start + e.compressedSize);
  if (e.method === 0) return raw;
  if (e.method === 8) {
    try {
      return inflateRawSync(raw);
    } catch (err) {
      throw bad(file, `member ${e.name} does not inflate (${(err as Error).message})`);
    }
  }
  throw bad(file, `member ${e.name} uses zip method ${e.method}; only stored and deflated are read`);
}

/** The array names in an .npz (without the `.npy` suffix), in the order they were written. */
export function npzNames(buf: Uint8Array, file: string): string[] {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  return centralDirectory(b, file)
    .filter((e) => e.name.endsWith('.npy'))
    .map((e) => e.name.slice(0, -4));
}

/** One array of an .npz by name (as `np.savez(path, name=array)` wrote it). */
export function readNpzArray(buf: Uint8Array, name: string, file: string): NpyArray {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const entries = centralDirectory(b, file);
  const e = entries.find((x) => x.name === `${name}.npy`);
  if (!e) {
    const have = entries.map((x) => x.name.replace(/\.npy$/, '')).join(', ');
    throw bad(file, `no array "${name}" in this .npz`, `its arrays are: ${have || '(none)'}`);
  }
  return parseNpy(memberBytes(b, e, file), `${file}:${name}`);
}
