/**
 * Installed packs: `<cache>/packs/<id>/` (the cache is `$DFAN_CACHE`, else `~/.cache/dfan`). A
 * pack folder is complete or absent: installs build it in a temp folder beside it and rename it
 * into place, so a half-installed pack is never visible.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DfanError } from '../../errors.js';
import { projectRoot } from '../../version.js';
import { cacheRoot } from '../cache.js';
import { type InstallablePackJson, isValidPackId, readInstallable } from './format.js';

export function packsRoot(): string {
  return join(cacheRoot(), 'packs');
}

export function packDir(id: string): string {
  return join(packsRoot(), id);
}

/** Where the project keeps the pack.json files of packs it knows how to install (packs/<id>/pack.json). */
export function knownPackJson(id: string): string | null {
  if (!isValidPackId(id)) return null;
  const p = join(projectRoot(), 'packs', id, 'pack.json');
  return existsSync(p) ? p : null;
}

export interface InstalledPack {
  id: string;
  dir: string;
  pack: InstallablePackJson;
  /** where it was installed from and when (absent when unknown) */
  source?: string;
  installedAt?: string;
}

export const INSTALL_RECORD = '.installed.json';

async function readRecord(dir: string): Promise<{ source?: string; installedAt?: string }> {
  try {
    return JSON.parse(await readFile(join(dir, INSTALL_RECORD), 'utf8')) as {
      source?: string;
      installedAt?: string;
    };
  } catch {
    return {};
  }
}

/**
 * An installed copy of a pack that dfan ships (packs/<id>/pack.json, same version) is described by
 * dfan's own pack.json: the copy may predate a change to what a stream is (the research pack's
 * object map sees the whole frame since revision 2), and a label must say what the code computes.
 */
async function withCurrentStreams(pack: InstallablePackJson): Promise<InstallablePackJson> {
  const known = knownPackJson(pack.id);
  if (!known) return pack;
  try {
    const current = await readInstallable(known);
    return current.version === pack.version ? { ...pack, streams: current.streams } : pack;
  } catch {
    return pack;
  }
}

/** Installed packs (folders with a valid pack.json); broken folders are reported in `broken`. */
export async function listInstalled(): Promise<{
  packs: InstalledPack[];
  broken: Array<{ dir: string; error: string }>;
}> {
  const root = packsRoot();
  const packs: InstalledPack[] = [];
  const broken: Array<{ dir: string; error: string }> = [];
  let names: string[] = [];
  try {
    names = (await readdir(root, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch {
    return { packs, broken };
  }
  for (const name of names.sort()) {
    if (name.startsWith('.')) continue; // temp folders of installs in progress
    const dir = join(root, name);
    try {
      const pack = await withCurrentStreams(await readInstallable(join(dir, 'pack.json')));
      packs.push({ id: pack.id, dir, pack, ...(await readRecord(dir)) });
    } catch (e) {
      broken.push({ dir, error: e instanceof Error ? e.message : String(e) });
    }
  }
  return { packs, broken };
}

/** The installed pack `id`, or a MODEL_MISSING error that says how to install it. */
export async function requireInstalled(id: string): Promise<InstalledPack> {
  const dir = packDir(id);
  const file = join(dir, 'pack.json');
  if (!existsSync(file)) {
    const known = knownPackJson(id);
    throw new DfanError('MODEL_MISSING', `pack "${id}" is not installed (looked in ${dir})`, {
      hint: known
        ? `install it: \`dfan pack install <folder-or-URL-with-its-files> --id ${id}\`, e.g. ../shared/models on dfan's dev machines`
        : 'install it with `dfan pack install SOURCE`',
    });
  }
  const pack = await withCurrentStreams(await readInstallable(file));
  return { id, dir, pack, ...(await readRecord(dir)) };
}

/**
 * A cheap integrity check for every load: each listed file is there with its size (CHECKSUM
 * otherwise). `dfan pack verify` re-hashes everything.
 */
export async function assertFilesPresent(p: InstalledPack): Promise<void> {
  for (const f of p.pack.files) {
    const file = join(p.dir, f.name);
    let size = -1;
    try {
      size = (await stat(file)).size;
    } catch {
      /* missing */
    }
    if (size !== f.size)
      throw new DfanError(
        'CHECKSUM',
        size < 0
          ? `${f.name} is missing from the installed pack`
          : `${f.name} has ${size} bytes, pack.json says ${f.size}`,
        { file, hint: `reinstall the pack: dfan pack install <folder-or-URL> --id ${p.id}` },
      );
  }
}
