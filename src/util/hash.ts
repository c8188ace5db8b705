/**
 * SHA-256 in the forms dfan needs: of a file or a byte range of it (streamed, for videos and
 * weights of any size), of bytes or text, and a short hex tag of a JSON value (cache keys,
 * config hashes).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/**
 * Hex SHA-256 and byte count of a file, or of bytes [start, end) of it, streamed in 1 MiB
 * chunks (constant memory).
 */
export async function hashFile(
  path: string,
  range: { start?: number; end?: number } = {},
): Promise<{ sha256: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  const end = range.end === undefined ? undefined : range.end - 1; // createReadStream's end is inclusive
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20, start: range.start, end })) {
    h.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: h.digest('hex'), size };
}

/** Hex SHA-256 of a file's content, streamed. */
export async function sha256File(path: string): Promise<string> {
  return (await hashFile(path)).sha256;
}

/** Hex SHA-256 of bytes or UTF-8 text. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The first `length` hex digits of the SHA-256 of a value's JSON: a stable short tag. */
export function jsonTag(value: unknown, length = 16): string {
  return sha256Hex(JSON.stringify(value)).slice(0, length);
}
