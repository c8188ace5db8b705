/** PNG files and data: URIs of RGB images (pngjs), and the reader tests and tools use. */
import { writeFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import type { RgbImage } from './image.js';

/** Encode an RGB image as PNG (8-bit RGB, no alpha). */
export function encodePng(img: RgbImage): Buffer {
  const { width, height, data } = img;
  if (data.length !== width * height * 3) {
    throw new Error(
      `encodePng: a ${width}×${height} RGB image has ${width * height * 3} bytes, got ${data.length}`,
    );
  }
  // pngjs takes RGBA in and drops the alpha channel for colour type 2
  const png = new PNG({ width, height });
  for (let p = 0, q = 0; p < width * height; p++, q += 3) {
    png.data[p * 4] = data[q];
    png.data[p * 4 + 1] = data[q + 1];
    png.data[p * 4 + 2] = data[q + 2];
    png.data[p * 4 + 3] = 255;
  }
  return PNG.sync.write(png, { colorType: 2 });
}

/** Write an RGB image as a PNG file. */
export function writePng(path: string, img: RgbImage): void {
  writeFileSync(path, encodePng(img));
}

/** An RGB image as a data: URI, for self-contained HTML (no file beside it, no network). */
export function pngDataUri(img: RgbImage): string {
  return `data:image/png;base64,${encodePng(img).toString('base64')}`;
}

/** Decode a PNG (any colour type) to RGB. */
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
