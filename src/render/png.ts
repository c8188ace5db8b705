/** PNG encoding of RGB / RGBA / grey images (node:zlib, no dependencies), and a small reader for tests. */
import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { PNG } from 'pngjs';
import type { RgbImage } from './image.js';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  Buffer.from(data.buffer, data.byteOffset, data.length).copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/**
 * Encode packed pixels as PNG. `channels`: 1 grey, 3 RGB, 4 RGBA. Rows use the "up" filter,
 * which compresses photos and flat graphics well at little cost.
 */
export function encodePng(width: number, height: number, data: Uint8Array, channels: 1 | 3 | 4 = 3): Buffer {
  if (data.length !== width * height * channels) {
    throw new Error(`encodePng: expected ${width * height * channels} bytes, got ${data.length}`);
  }
  const stride = width * channels;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    const o = y * (stride + 1);
    raw[o] = y === 0 ? 0 : 2;
    const row = y * stride;
    if (y === 0) raw.set(data.subarray(row, row + stride), o + 1);
    else for (let x = 0; x < stride; x++) raw[o + 1 + x] = (data[row + x] - data[row - stride + x]) & 0xff;
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = channels === 1 ? 0 : channels === 3 ? 2 : 6;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 6 })),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

/** Write an RGB image as a PNG file. */
export function writePng(path: string, img: RgbImage): void {
  writeFileSync(path, encodePng(img.width, img.height, img.data, 3));
}

/** Decode a PNG (any colour type) to RGB — used by tests and tools that read sheets back. */
export function decodePng(buf: Buffer): RgbImage {
  const png = PNG.sync.read(buf);
  const { width, height } = png;
  const data = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < width * height; i++, j += 4) {
    data[i * 3] = png.data[j];
    data[i * 3 + 1] = png.data[j + 1];
    data[i * 3 + 2] = png.data[j + 2];
  }
  return { width, height, data };
}
