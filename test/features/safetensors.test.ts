import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isDfanError } from '../../src/errors.js';
import {
  decodeSafetensors,
  encodeSafetensors,
  f16ArrayToF32,
  f16ToF32,
  f32ArrayToF16,
  f32ToF16,
  toFloat32,
} from '../../src/features/safetensors.js';

/** Deterministic pseudo-random numbers (no Math.random in tests). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

test('fp16: exact values, rounding to nearest even, overflow, subnormals, NaN', () => {
  const cases: Array<[number, number]> = [
    [0, 0x0000],
    [1, 0x3c00],
    [-2, 0xc000],
    [0.5, 0x3800],
    [65504, 0x7bff], // largest finite half
    [65520, 0x7c00], // rounds up to +Inf
    [1e6, 0x7c00],
    [-1e6, 0xfc00],
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -26, 0x0000], // below half of it → 0
    [2 ** -14, 0x0400], // smallest normal
    [1 + 2 ** -11, 0x3c00], // tie → even (1.0)
    [1 + 3 * 2 ** -11, 0x3c02], // tie → even (1 + 2^-9)
    [Number.POSITIVE_INFINITY, 0x7c00],
  ];
  for (const [v, bits] of cases) assert.equal(f32ToF16(v), bits, `f32ToF16(${v})`);
  assert.ok(Number.isNaN(f16ToF32(f32ToF16(Number.NaN))));
  assert.equal(f16ToF32(0x7bff), 65504);
  assert.equal(f16ToF32(0x0001), 2 ** -24);
  assert.equal(f16ToF32(0xc000), -2);
});

test('fp16 array round trip stays within half an ulp (relative 2^-11) in the normal range', () => {
  const r = rng(7);
  const src = new Float32Array(20000).map(() => (r() - 0.5) * 2 * 10 ** Math.floor(r() * 8 - 3));
  const back = f16ArrayToF32(f32ArrayToF16(src));
  for (let i = 0; i < src.length; i++) {
    const a = Math.abs(src[i]);
    if (a < 2 ** -14 || a > 65504) continue;
    assert.ok(Math.abs(back[i] - src[i]) <= a * 2 ** -11 * 1.0001, `${src[i]} → ${back[i]}`);
  }
  // every fp16 value survives f16 → f32 → f16 unchanged (NaNs aside)
  const all = new Uint16Array(65536).map((_, i) => i);
  const again = f32ArrayToF16(f16ArrayToF32(all));
  for (let h = 0; h < 65536; h++) {
    if ((h & 0x7c00) === 0x7c00 && h & 0x3ff) continue;
    assert.equal(again[h], h, `half 0x${h.toString(16)}`);
  }
});

test('round trip of several dtypes with metadata; data section and tensors aligned', () => {
  const r = rng(3);
  const f16 = new Float32Array(2 * 3 * 5).map(() => r() * 4 - 2);
  const f32 = new Float32Array(7).map(() => r());
  const f64 = Float64Array.from([Math.PI, -1e300, 0]);
  const i32 = Int32Array.from([1, -2, 2 ** 30]);
  const u8 = Uint8Array.from([0, 255, 7]);
  const buf = encodeSafetensors(
    {
      half: { dtype: 'F16', shape: [2, 3, 5], data: f16 },
      single: { dtype: 'F32', shape: [7], data: f32 },
      double: { dtype: 'F64', shape: [3], data: f64 },
      ints: { dtype: 'I32', shape: [3], data: i32 },
      bytes: { dtype: 'U8', shape: [3], data: u8 },
      empty: { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
    },
    { hello: 'wörld', json: '{"a":1}' },
  );
  const n = Number(buf.readBigUInt64LE(0));
  assert.equal((8 + n) % 8, 0, 'data section starts on an 8-byte boundary');
  const st = decodeSafetensors(buf);
  assert.deepEqual(st.metadata, { hello: 'wörld', json: '{"a":1}' });
  assert.deepEqual(st.tensors.half.shape, [2, 3, 5]);
  assert.equal(st.tensors.half.dtype, 'F16');
  const h = toFloat32(st.tensors.half);
  for (let i = 0; i < f16.length; i++) assert.ok(Math.abs(h[i] - f16[i]) <= 2 ** -10, `half[${i}]`);
  assert.deepEqual(Array.from(toFloat32(st.tensors.single)), Array.from(f32));
  assert.deepEqual(Array.from(toFloat32(st.tensors.ints)), [1, -2, 2 ** 30]);
  assert.deepEqual(Array.from(toFloat32(st.tensors.bytes)), [0, 255, 7]);
  assert.equal(toFloat32(st.tensors.double)[0], Math.fround(Math.PI));
  assert.equal(toFloat32(st.tensors.empty).length, 0);
  for (const t of Object.values(st.tensors)) {
    const size =
      t.bytes.byteLength /
      Math.max(
        1,
        t.shape.reduce((a, b) => a * b, 1),
      );
    if (size > 0) assert.equal(t.bytes.byteOffset % size, 0, 'each tensor aligned to its element size');
  }
});

function expectBad(buf: Uint8Array, what: string): void {
  assert.throws(
    () => decodeSafetensors(buf, 'x.safetensors'),
    (e: unknown) => isDfanError(e) && e.code === 'BAD_FEATURES' && e.file === 'x.safetensors',
    what,
  );
}

function withHeader(header: object, dataBytes: number): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const b = Buffer.alloc(8 + json.length + dataBytes);
  b.writeBigUInt64LE(BigInt(json.length), 0);
  json.copy(b, 8);
  return b;
}

test('header and offset corruption is detected as BAD_FEATURES', () => {
  const good = encodeSafetensors({ a: { dtype: 'F32', shape: [4], data: new Float32Array(4) } }, { k: 'v' });
  decodeSafetensors(good);
  expectBad(good.subarray(0, good.length - 1), 'truncated data');
  expectBad(good.subarray(0, 20), 'truncated header');
  expectBad(good.subarray(0, 5), 'shorter than the length prefix');
  expectBad(Buffer.concat([good, Buffer.from([0])]), 'trailing bytes');
  const huge = Buffer.from(good);
  huge.writeBigUInt64LE(2n ** 40n, 0);
  expectBad(huge, 'absurd header length');
  const past = Buffer.from(good);
  past.writeBigUInt64LE(BigInt(good.length), 0);
  expectBad(past, 'header length past EOF');
  const notJson = Buffer.from(good);
  notJson[9] = 0x7b; // '{{...' is not JSON
  expectBad(notJson, 'broken JSON');
  expectBad(Buffer.from('PK\x03\x04 this is a zip file, not safetensors'), 'foreign file');
  expectBad(
    withHeader({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 32] } }, 16),
    'offsets past the data',
  );
  expectBad(
    withHeader({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 12] } }, 12),
    'size does not match shape',
  );
  expectBad(withHeader({ a: { dtype: 'Q4', shape: [4], data_offsets: [0, 16] } }, 16), 'unknown dtype');
  expectBad(withHeader({ a: { dtype: 'F32', shape: [-4], data_offsets: [0, 16] } }, 16), 'negative dim');
  expectBad(
    withHeader(
      {
        a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
        b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
      },
      12,
    ),
    'overlapping tensors',
  );
  expectBad(withHeader({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8), 'hole at the start');
  expectBad(withHeader({ __metadata__: { n: 1 } }, 0), 'metadata value not a string');
});
