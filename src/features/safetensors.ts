/**
 * A small, dependency-free safetensors reader/writer (format of huggingface/safetensors):
 *
 *   [8 bytes: N, u64 little-endian] [N bytes: JSON header, UTF-8, padded with spaces] [data]
 *
 * The header maps tensor name → {dtype, shape, data_offsets: [begin, end]} (offsets relative to
 * the start of the data section) plus an optional `__metadata__` map of string → string.
 * Everything is validated on read: a truncated, foreign or inconsistent file raises
 * DfanError('BAD_FEATURES') and is never half-trusted.
 *
 * Python: `from safetensors.numpy import load_file; t = load_file(path)`; metadata with
 * `from safetensors import safe_open; safe_open(path, 'np').metadata()`.
 */
import { createHash } from 'node:crypto';
import { endianness } from 'node:os';
import { DfanError } from '../errors.js';

/** Byte size of each dtype the format defines (sub-byte types are not supported). */
export const DTYPE_SIZE = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  I64: 8,
  U64: 8,
  F64: 8,
} as const;
export type Dtype = keyof typeof DTYPE_SIZE;

/** A tensor to write: float data is converted to `dtype` (F16 or F32 or F64); raw bytes are written as is. */
export interface TensorInput {
  dtype: Dtype;
  shape: number[];
  data: Float32Array | Float64Array | Uint8Array | Int32Array | Uint16Array;
}

/** A tensor as read: raw little-endian bytes (a view into the file buffer). */
export interface RawTensor {
  dtype: Dtype;
  shape: number[];
  bytes: Uint8Array;
}

export interface Safetensors {
  tensors: Record<string, RawTensor>;
  metadata: Record<string, string>;
  /** byte length of the header JSON (without the 8-byte prefix) */
  headerLength: number;
}

/** Header JSON larger than this is refused (the reference implementation uses 100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;
const LITTLE_ENDIAN = endianness() === 'LE';

// ---------------------------------------------------------------- fp16

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** IEEE-754 binary32 bits → binary16 bits, round to nearest even (overflow → ±Inf, NaN kept). */
function halfFromBits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 112; // rebias 127 → 15
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++; // a carry into the exponent is still correct
  return sign | h;
}

export function f32ToF16(v: number): number {
  f32Scratch[0] = v;
  return halfFromBits(u32Scratch[0]);
}

/** Float32Array → fp16 bit patterns. */
export function f32ArrayToF16(src: Float32Array): Uint16Array {
  const bits =
    src.byteOffset % 4 === 0
      ? new Uint32Array(src.buffer, src.byteOffset, src.length)
      : new Uint32Array(Float32Array.from(src).buffer);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < out.length; i++) out[i] = halfFromBits(bits[i]);
  return out;
}

let halfTable: Float32Array | null = null;
/** All 65,536 fp16 values as float32 (256 KB, built once): decoding is one lookup per value. */
function f16Table(): Float32Array {
  if (halfTable) return halfTable;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) t[h] = sign * mant * 2 ** -24;
    else if (exp === 0x1f) t[h] = mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
    else t[h] = sign * (1 + mant / 1024) * 2 ** (exp - 15);
  }
  halfTable = t;
  return t;
}

export function f16ToF32(h: number): number {
  return f16Table()[h & 0xffff];
}

export function f16ArrayToF32(src: Uint16Array): Float32Array {
  const t = f16Table();
  const out = new Float32Array(src.length);
  for (let i = 0; i < out.length; i++) out[i] = t[src[i]];
  return out;
}

// ---------------------------------------------------------------- write

function product(shape: number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function tensorBytes(name: string, t: TensorInput): Uint8Array {
  const n = product(t.shape);
  if (t.data.length !== n && !(t.data instanceof Uint8Array && t.data.length === n * DTYPE_SIZE[t.dtype])) {
    throw new DfanError(
      'INTERNAL',
      `tensor "${name}": ${t.data.length} values do not fill shape [${t.shape}]`,
    );
  }
  const isFloat = t.data instanceof Float32Array || t.data instanceof Float64Array;
  if (isFloat) {
    const f = t.data as Float32Array | Float64Array;
    if (t.dtype === 'F16') {
      const h = f32ArrayToF16(f instanceof Float32Array ? f : Float32Array.from(f));
      return new Uint8Array(h.buffer, h.byteOffset, h.byteLength);
    }
    if (t.dtype === 'F32') {
      const a = f instanceof Float32Array ? f : Float32Array.from(f);
      return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    }
    if (t.dtype === 'F64') {
      const a = f instanceof Float64Array ? f : Float64Array.from(f);
      return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    }
    throw new DfanError('INTERNAL', `tensor "${name}": cannot encode float data as ${t.dtype}`);
  }
  const raw = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  if (raw.byteLength !== n * DTYPE_SIZE[t.dtype]) {
    throw new DfanError(
      'INTERNAL',
      `tensor "${name}": ${raw.byteLength} bytes do not match ${t.dtype}[${t.shape}]`,
    );
  }
  return raw;
}

/**
 * Serialise tensors (in the given order) and string metadata into one safetensors buffer. The
 * header is padded with spaces so that the data section starts on an 8-byte boundary, and
 * tensors are laid out by decreasing dtype size (as the Python library does) so that each one is
 * aligned to its element size: readers can take zero-copy typed-array views.
 */
export function encodeSafetensors(
  tensors: Record<string, TensorInput>,
  metadata: Record<string, string> = {},
  opts: { dataHashKey?: string } = {},
): Buffer {
  if (!LITTLE_ENDIAN) throw new DfanError('INTERNAL', 'safetensors writing needs a little-endian machine');
  const header: Record<string, unknown> = {};
  const meta = { ...metadata };
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const ordered = Object.entries(tensors).sort(
    (a, b) => (DTYPE_SIZE[b[1].dtype] ?? 0) - (DTYPE_SIZE[a[1].dtype] ?? 0),
  );
  for (const [name, t] of ordered) {
    if (name === '__metadata__') throw new DfanError('INTERNAL', 'tensor name "__metadata__" is reserved');
    if (!(t.dtype in DTYPE_SIZE))
      throw new DfanError('INTERNAL', `tensor "${name}": unknown dtype ${t.dtype}`);
    const bytes = tensorBytes(name, t);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes.byteLength] };
    chunks.push(bytes);
    offset += bytes.byteLength;
  }
  if (opts.dataHashKey) {
    // the header precedes the data, so a hash of the data section can live in the metadata
    const h = createHash('sha256');
    for (const c of chunks) h.update(c);
    meta[opts.dataHashKey] = h.digest('hex');
  }
  if (Object.keys(meta).length) {
    for (const [k, v] of Object.entries(meta)) {
      if (typeof v !== 'string') throw new DfanError('INTERNAL', `metadata "${k}" must be a string`);
    }
    header.__metadata__ = meta;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - ((json.length + 8) % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const out = Buffer.allocUnsafe(8 + json.length + offset);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  json.copy(out, 8);
  let at = 8 + json.length;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

// ---------------------------------------------------------------- read

function bad(file: string | undefined, what: string): DfanError {
  return new DfanError('BAD_FEATURES', `not a valid safetensors file: ${what}`, {
    file,
    hint: 'the file is truncated, corrupt or not a feature file; delete it or re-run `dfan extract` (it re-extracts such files)',
  });
}

/** Parse and validate the header; `fileSize` is the total byte length of the file. */
export function parseHeader(
  prefix: Uint8Array,
  fileSize: number,
  file?: string,
): { header: Record<string, unknown>; headerLength: number } {
  if (fileSize < 8 || prefix.byteLength < 8) throw bad(file, `only ${fileSize} bytes`);
  const view = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  const n64 = view.getBigUint64(0, true);
  if (n64 < 2n || n64 > BigInt(MAX_HEADER_BYTES)) throw bad(file, `header length ${n64} is not plausible`);
  const n = Number(n64);
  if (8 + n > fileSize)
    throw bad(file, `header length ${n} runs past the end of the file (${fileSize} bytes)`);
  if (prefix.byteLength < 8 + n) throw new DfanError('INTERNAL', 'parseHeader needs the whole header');
  const text = Buffer.from(prefix.buffer, prefix.byteOffset + 8, n).toString('utf8');
  if (text[0] !== '{') throw bad(file, 'header does not start with "{"');
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch {
    throw bad(file, 'header is not valid JSON');
  }
  if (!header || typeof header !== 'object' || Array.isArray(header))
    throw bad(file, 'header is not a JSON object');
  return { header: header as Record<string, unknown>, headerLength: n };
}

interface Entry {
  name: string;
  dtype: Dtype;
  shape: number[];
  begin: number;
  end: number;
}

/** Check every entry and that the data section is exactly covered (no holes, no overlap, no tail). */
export function validateEntries(
  header: Record<string, unknown>,
  dataLength: number,
  file?: string,
): { entries: Entry[]; metadata: Record<string, string> } {
  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (!raw || typeof raw !== 'object' || Array.isArray(raw))
        throw bad(file, '__metadata__ is not an object');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') throw bad(file, `metadata "${k}" is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (!e || typeof e !== 'object') throw bad(file, `entry "${name}" is not an object`);
    if (typeof e.dtype !== 'string' || !(e.dtype in DTYPE_SIZE))
      throw bad(file, `tensor "${name}" has unknown dtype ${String(e.dtype)}`);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw bad(file, `tensor "${name}" has an invalid shape`);
    }
    const off = e.data_offsets;
    if (
      !Array.isArray(off) ||
      off.length !== 2 ||
      !off.every((d) => Number.isSafeInteger(d) && d >= 0) ||
      off[0] > off[1]
    ) {
      throw bad(file, `tensor "${name}" has invalid data_offsets`);
    }
    const dtype = e.dtype as Dtype;
    const shape = e.shape as number[];
    const [begin, end] = off as [number, number];
    if (end > dataLength)
      throw bad(
        file,
        `tensor "${name}" ends at ${end}, past the ${dataLength}-byte data section (truncated?)`,
      );
    if (end - begin !== product(shape) * DTYPE_SIZE[dtype]) {
      throw bad(file, `tensor "${name}": ${end - begin} bytes do not match ${dtype}[${shape}]`);
    }
    entries.push({ name, dtype, shape, begin, end });
  }
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const e of sorted) {
    if (e.begin !== at)
      throw bad(file, `tensor "${e.name}" starts at ${e.begin}, expected ${at} (overlap or hole)`);
    at = e.end;
  }
  if (at !== dataLength)
    throw bad(file, `data section is ${dataLength} bytes but tensors cover ${at} (file size mismatch)`);
  return { entries, metadata };
}

/** Decode a whole safetensors buffer (validated). Tensor bytes are views into `buf`. */
export function decodeSafetensors(buf: Uint8Array, file?: string): Safetensors {
  const { header, headerLength } = parseHeader(buf, buf.byteLength, file);
  const dataStart = 8 + headerLength;
  const { entries, metadata } = validateEntries(header, buf.byteLength - dataStart, file);
  const tensors: Record<string, RawTensor> = {};
  for (const e of entries) {
    tensors[e.name] = {
      dtype: e.dtype,
      shape: e.shape,
      bytes: buf.subarray(dataStart + e.begin, dataStart + e.end),
    };
  }
  return { tensors, metadata, headerLength };
}

/** One little-endian element at byte offset `o`, as a number, for the dtypes read element-wise. */
const READ_LITTLE_ENDIAN: Partial<Record<Dtype, (dv: DataView, o: number) => number>> = {
  BOOL: (dv, o) => dv.getUint8(o),
  U8: (dv, o) => dv.getUint8(o),
  I8: (dv, o) => dv.getInt8(o),
  I16: (dv, o) => dv.getInt16(o, true),
  U16: (dv, o) => dv.getUint16(o, true),
  BF16: (dv, o) => {
    // the upper half of a float32
    u32Scratch[0] = dv.getUint16(o, true) << 16;
    return f32Scratch[0];
  },
  I32: (dv, o) => dv.getInt32(o, true),
  U32: (dv, o) => dv.getUint32(o, true),
  I64: (dv, o) => Number(dv.getBigInt64(o, true)),
  U64: (dv, o) => Number(dv.getBigUint64(o, true)),
};

/** A raw tensor as float32 (F16 and BF16 widened, F64 narrowed, integers converted). */
export function toFloat32(t: RawTensor): Float32Array {
  const b = t.bytes;
  const n = product(t.shape);
  // a view of the bytes when they are aligned (and the platform little-endian), else of a copy
  const view = <A>(C: {
    new (buf: ArrayBufferLike, offset: number, length: number): A;
    BYTES_PER_ELEMENT: number;
  }) =>
    LITTLE_ENDIAN && b.byteOffset % C.BYTES_PER_ELEMENT === 0
      ? new C(b.buffer, b.byteOffset, n)
      : new C(b.slice().buffer, 0, n);
  switch (t.dtype) {
    case 'F32':
      return view(Float32Array);
    case 'F16':
      return f16ArrayToF32(view(Uint16Array));
    case 'F64':
      return Float32Array.from(view(Float64Array));
    default: {
      const read = READ_LITTLE_ENDIAN[t.dtype];
      if (!read) throw new DfanError('BAD_FEATURES', `cannot convert ${t.dtype} to float32`);
      const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
      const out = new Float32Array(n);
      const size = DTYPE_SIZE[t.dtype];
      for (let i = 0; i < n; i++) out[i] = read(dv, i * size);
      return out;
    }
  }
}
