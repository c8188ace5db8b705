/**
 * Installing and verifying packs. SOURCE is a folder or an HTTP(S) base URL that serves the pack
 * folder (`<base>/pack.json`, `<base>/<file>`). When the source has no pack.json (e.g. a plain
 * folder of weights such as ../shared/models), `--id` names one of the pack.json files the
 * project ships in packs/<id>/ and the files are checked against it.
 *
 * Every file is streamed into a temp folder beside the cache entry while its sha256 is computed;
 * any size or hash mismatch throws DfanError CHECKSUM and removes the temp folder, so nothing is
 * installed. Only a complete, verified folder is renamed into place.
 */

import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, statSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DfanError } from '../../errors.js';
import { hashFile } from '../../util/hash.js';
import { processAlive } from '../../util/process.js';
import {
  type InstallablePackJson,
  type PackFileEntry,
  readInstallable,
  validateInstallable,
} from './format.js';
import {
  INSTALL_RECORD,
  type InstalledPack,
  knownPackJson,
  listInstalled,
  packDir,
  packsRoot,
  requireInstalled,
} from './installed.js';

export interface InstallProgress {
  file: string;
  fileIndex: number;
  fileCount: number;
  /** bytes of all files received so far / to receive */
  bytes: number;
  totalBytes: number;
}

export interface InstallOptions {
  /** which known pack.json to use when the source has none; must match the source's id otherwise */
  id?: string;
  onProgress?: (p: InstallProgress) => void;
  /** HTTP timeout without data, ms (default 60 s) */
  idleTimeoutMs?: number;
}

function isUrl(s: string): boolean {
  return /^https?:\/\//i.test(s);
}

function joinUrl(base: string, name: string): string {
  return `${base.replace(/\/+$/, '')}/${encodeURIComponent(name)}`;
}

interface Fetched {
  res: Response;
  /** call on every chunk received: the idle timer restarts */
  touch: () => void;
  done: () => void;
}

/** GET with an idle timeout (no data for `idleMs` aborts); null on 404. */
async function fetchOrThrow(url: string, idleMs: number): Promise<Fetched | null> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(new Error(`no data for ${Math.round(idleMs / 1000)} s`)), idleMs);
  const done = () => clearTimeout(timer);
  let res: Response;
  try {
    res = await fetch(url, { signal: ctl.signal, redirect: 'follow' });
  } catch (e) {
    done();
    throw new DfanError('NOT_FOUND', `cannot reach ${url}: ${(e as Error).message}`, {
      hint: 'check the URL and your network',
      cause: e,
    });
  }
  if (res.status === 404) {
    done();
    return null;
  }
  if (!res.ok) {
    done();
    throw new DfanError('NOT_FOUND', `${url} answered HTTP ${res.status}`, { hint: 'check the URL' });
  }
  return { res, touch: () => timer.refresh(), done };
}

/** Find the pack.json that describes SOURCE. */
async function resolvePackJson(
  source: string,
  opts: InstallOptions,
): Promise<{ pack: InstallablePackJson; from: string }> {
  let pack: InstallablePackJson | null = null;
  let from = '';
  if (isUrl(source)) {
    const url = joinUrl(source, 'pack.json');
    const got = await fetchOrThrow(url, opts.idleTimeoutMs ?? 60_000);
    if (got) {
      let raw: unknown;
      try {
        raw = await got.res.json();
      } catch (e) {
        throw new DfanError('BAD_MANIFEST', 'pack.json is not valid JSON', { file: url, cause: e });
      } finally {
        got.done();
      }
      pack = validateInstallable(raw, url);
      from = url;
    }
  } else {
    const dir = resolve(source);
    if (!existsSync(dir)) throw new DfanError('NOT_FOUND', 'pack source not found', { file: source });
    if (!statSync(dir).isDirectory())
      throw new DfanError('BAD_ARGUMENT', 'a pack source must be a folder or an http(s) URL', {
        file: source,
      });
    const file = join(dir, 'pack.json');
    if (existsSync(file)) {
      pack = await readInstallable(file);
      from = file;
    }
  }
  if (pack) {
    if (opts.id && opts.id !== pack.id)
      throw new DfanError(
        'BAD_ARGUMENT',
        `--id ${opts.id} does not match the source's pack.json (id "${pack.id}")`,
        {
          file: from,
          hint: 'drop --id, or point to the right source',
        },
      );
    return { pack, from };
  }
  if (!opts.id)
    throw new DfanError('BAD_MANIFEST', 'the source has no pack.json', {
      file: source,
      hint: 'give --id to check its files against a pack dfan knows, e.g. --id research; or add a pack.json',
    });
  const known = knownPackJson(opts.id);
  if (!known)
    throw new DfanError('BAD_ARGUMENT', `dfan knows no pack "${opts.id}" and the source has no pack.json`, {
      file: source,
      hint: 'known packs live in packs/<id>/pack.json of the dfan project',
    });
  return { pack: await readInstallable(known), from: known };
}

function checksumError(f: PackFileEntry, got: { sha256: string; size: number }, where: string): DfanError {
  const what =
    got.size !== f.size
      ? `size ${got.size} bytes, expected ${f.size}`
      : `sha256 ${got.sha256.slice(0, 16)}…, expected ${f.sha256.slice(0, 16)}…`;
  return new DfanError('CHECKSUM', `checksum mismatch for ${f.name}: ${what}; nothing was installed`, {
    file: where,
    hint: 'the source is corrupt or incomplete: fetch it again from its publisher',
  });
}

/** Stream one file into `dest` while hashing it; fails fast when more bytes come than expected. */
async function copyVerified(
  f: PackFileEntry,
  input: Readable,
  dest: string,
  where: string,
  onBytes: (n: number) => void,
): Promise<void> {
  const h = createHash('sha256');
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      size += chunk.length;
      if (size > f.size) {
        cb(checksumError(f, { sha256: '', size }, where));
        return;
      }
      h.update(chunk);
      onBytes(chunk.length);
      cb(null, chunk);
    },
  });
  await pipeline(input, meter, createWriteStream(dest));
  const got = { sha256: h.digest('hex'), size };
  if (got.size !== f.size || got.sha256 !== f.sha256) throw checksumError(f, got, where);
}

/** Temp folders left by an install that was killed (its process is gone) are removed. */
async function removeStaleInstalls(root: string): Promise<void> {
  for (const name of await readdir(root)) {
    const m = /^\.(?:tmp|old)-.+-(\d+)-[0-9a-f]{8}$/.exec(name);
    if (m && !processAlive(Number(m[1]))) await rm(join(root, name), { recursive: true, force: true });
  }
}

/** Stream one listed file from the source (folder or base URL) into `dest`, verified. */
async function fetchVerified(
  source: string,
  f: PackFileEntry,
  dest: string,
  idleMs: number,
  onBytes: (n: number) => void,
): Promise<void> {
  if (!isUrl(source)) {
    const file = join(resolve(source), f.name);
    if (!existsSync(file))
      throw new DfanError('NOT_FOUND', `${f.name} is missing from the source folder; nothing was installed`, {
        file,
        hint: 'the folder must hold every file listed in pack.json',
      });
    await copyVerified(f, createReadStream(file, { highWaterMark: 1 << 20 }), dest, file, onBytes);
    return;
  }
  const url = joinUrl(source, f.name);
  const got = await fetchOrThrow(url, idleMs);
  if (!got?.res.body)
    throw new DfanError('NOT_FOUND', `${f.name} is missing from the source; nothing was installed`, {
      file: url,
      hint: 'the server must serve every file listed in pack.json',
    });
  try {
    const body = Readable.fromWeb(got.res.body as import('node:stream/web').ReadableStream);
    await copyVerified(f, body, dest, url, (n) => {
      got.touch();
      onBytes(n);
    });
  } catch (e) {
    if (e instanceof DfanError) throw e;
    throw new DfanError(
      'NOT_FOUND',
      `download of ${f.name} failed: ${(e as Error).message}; nothing was installed`,
      {
        file: url,
        hint: 'check the network and try again',
        cause: e,
      },
    );
  } finally {
    got.done();
  }
}

/** A complete pack folder replaces the installed one: old → trash, tmp → final, drop the trash. */
async function swapIntoPlace(root: string, tmp: string, id: string): Promise<void> {
  const final = packDir(id);
  let trash: string | null = null;
  if (existsSync(final)) {
    trash = join(root, `.old-${id}-${process.pid}-${randomBytes(4).toString('hex')}`);
    await rename(final, trash);
  }
  try {
    await rename(tmp, final);
  } catch (e) {
    if (trash) await rename(trash, final).catch(() => {});
    throw e;
  }
  if (trash) await rm(trash, { recursive: true, force: true });
}

/** Install a pack from a folder or an http(s) base URL into the cache. Returns the installed pack. */
export async function installPack(source: string, opts: InstallOptions = {}): Promise<InstalledPack> {
  const { pack } = await resolvePackJson(source, opts);
  const root = packsRoot();
  await mkdir(root, { recursive: true });
  await removeStaleInstalls(root);
  const tmp = join(root, `.tmp-${pack.id}-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(tmp);
  const totalBytes = pack.files.reduce((s, f) => s + f.size, 0);
  let bytes = 0;
  try {
    for (const [i, f] of pack.files.entries()) {
      const report = () =>
        opts.onProgress?.({ file: f.name, fileIndex: i, fileCount: pack.files.length, bytes, totalBytes });
      report();
      await fetchVerified(source, f, join(tmp, f.name), opts.idleTimeoutMs ?? 60_000, (n) => {
        bytes += n;
        report();
      });
    }
    await writeFile(join(tmp, 'pack.json'), `${JSON.stringify(pack, null, 2)}\n`);
    const record = {
      source: isUrl(source) ? source : resolve(source),
      installedAt: new Date().toISOString(),
    };
    await writeFile(join(tmp, INSTALL_RECORD), `${JSON.stringify(record)}\n`);
    await swapIntoPlace(root, tmp, pack.id);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  return requireInstalled(pack.id);
}

export interface VerifyResult {
  id: string;
  dir: string;
  ok: boolean;
  problems: Array<{ file: string; problem: string }>;
  files: number;
}

/** Re-hash every file of one installed pack. */
export async function verifyInstalled(p: InstalledPack): Promise<VerifyResult> {
  const problems: VerifyResult['problems'] = [];
  for (const f of p.pack.files) {
    const path = join(p.dir, f.name);
    try {
      await stat(path);
    } catch {
      problems.push({ file: path, problem: 'missing' });
      continue;
    }
    const got = await hashFile(path);
    if (got.size !== f.size)
      problems.push({ file: path, problem: `size ${got.size} bytes, expected ${f.size}` });
    else if (got.sha256 !== f.sha256) problems.push({ file: path, problem: 'sha256 differs from pack.json' });
  }
  return { id: p.id, dir: p.dir, ok: problems.length === 0, problems, files: p.pack.files.length };
}

/** Verify one pack (by id) or every installed pack. */
export async function verifyPacks(id?: string): Promise<VerifyResult[]> {
  if (id) return [await verifyInstalled(await requireInstalled(id))];
  const { packs } = await listInstalled();
  const out: VerifyResult[] = [];
  for (const p of packs) out.push(await verifyInstalled(p));
  return out;
}

/** Build a pack.json for a folder of files (used to write packs/<id>/pack.json; see docs/packs.md). */
export async function describeFolder(
  dir: string,
  files: Array<Omit<PackFileEntry, 'size' | 'sha256'>>,
): Promise<PackFileEntry[]> {
  const out: PackFileEntry[] = [];
  for (const f of files) out.push({ ...f, ...(await hashFile(join(dir, f.name))) });
  return out;
}
