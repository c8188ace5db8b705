import type { Command } from 'commander';
import { DfanError } from '../errors.js';

interface StreamLine {
  name: string;
  description: string;
}

/** What the built-in default pack's streams really are (from src/backbones/default/pack.ts; loads no model). */
async function defaultPackStreams(): Promise<StreamLine[]> {
  try {
    const { defaultStreamInfos } = await import('../backbones/default/pack.js');
    return Object.values(defaultStreamInfos('onnx')).map((s) => ({
      name: s.name,
      description: s.description,
    }));
  } catch (e) {
    return [{ name: '?', description: `cannot describe the default pack: ${(e as Error).message}` }];
  }
}

/** Packs whose pack.json ships with dfan (packs/<id>/pack.json). */
async function knownPackIds(): Promise<string[]> {
  const { readdir } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const { projectRoot } = await import('../version.js');
  const { knownPackJson } = await import('../backbones/packs/installed.js');
  try {
    const names = await readdir(join(projectRoot(), 'packs'));
    return names.filter((n) => knownPackJson(n) !== null).sort();
  } catch {
    return [];
  }
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

async function list(opts: { json?: boolean }): Promise<void> {
  const { listInstalled, packsRoot } = await import('../backbones/packs/installed.js');
  const { packs, broken } = await listInstalled();
  const builtIn = { id: 'default', builtIn: true, streams: await defaultPackStreams() };
  if (opts.json) {
    const out = {
      cache: packsRoot(),
      packs: [
        builtIn,
        ...packs.map((p) => ({
          id: p.id,
          version: p.pack.version,
          dir: p.dir,
          source: p.source,
          installedAt: p.installedAt,
          bytes: p.pack.files.reduce((s, f) => s + f.size, 0),
          streams: p.pack.streams.map((s) => ({ name: s.name, kind: s.kind, description: s.description })),
        })),
      ],
      broken,
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return;
  }
  const lines: string[] = [];
  lines.push('default  (built in: weights that npm install brings, nothing downloaded)');
  for (const s of builtIn.streams) lines.push(`  ${s.name.padEnd(8)} ${s.description}`);
  for (const p of packs) {
    const size = p.pack.files.reduce((s, f) => s + f.size, 0);
    lines.push('');
    lines.push(
      `${p.id}@${p.pack.version}  (installed in ${p.dir}, ${p.pack.files.length} files, ${mb(size)})`,
    );
    if (p.source) lines.push(`  from ${p.source}${p.installedAt ? ` on ${p.installedAt}` : ''}`);
    for (const s of p.pack.streams) lines.push(`  ${s.name.padEnd(8)} ${s.description}`);
  }
  for (const id of await knownPackIds()) {
    if (packs.some((p) => p.id === id)) continue;
    lines.push('');
    lines.push(`${id}  (known, not installed: dfan pack install <folder-or-URL with its files> --id ${id})`);
  }
  if (packs.length === 0) {
    lines.push('');
    lines.push(`no pack installed in ${packsRoot()}`);
  }
  for (const b of broken) lines.push(`\nbroken: ${b.dir}: ${b.error} (reinstall it)`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function install(source: string, opts: { id?: string; progress?: boolean }): Promise<void> {
  const { installPack } = await import('../backbones/packs/install.js');
  const showBar = opts.progress !== false && process.stderr.isTTY;
  let bar: import('cli-progress').SingleBar | null = null;
  if (showBar) {
    const { SingleBar, Presets } = await import('cli-progress');
    bar = new SingleBar(
      {
        format: ' {bar} {percentage}% | {mbDone}/{mbTotal} MB | file {fileNo}/{fileCount} {file}',
        hideCursor: true,
        stream: process.stderr,
      },
      Presets.shades_classic,
    );
  }
  let started = false;
  let lastLine = -1;
  try {
    const p = await installPack(source, {
      id: opts.id,
      onProgress: (e) => {
        const payload = {
          file: e.file,
          fileNo: e.fileIndex + 1,
          fileCount: e.fileCount,
          mbDone: (e.bytes / 1e6).toFixed(1),
          mbTotal: (e.totalBytes / 1e6).toFixed(1),
        };
        if (bar) {
          if (!started) {
            bar.start(e.totalBytes, 0, payload);
            started = true;
          }
          bar.update(e.bytes, payload);
        } else if (e.fileIndex !== lastLine) {
          lastLine = e.fileIndex;
          process.stderr.write(`[${e.fileIndex + 1}/${e.fileCount}] ${e.file}\n`);
        }
      },
    });
    bar?.stop();
    const size = p.pack.files.reduce((s, f) => s + f.size, 0);
    process.stdout.write(
      `installed ${p.id}@${p.pack.version}: ${p.pack.files.length} files, ${mb(size)}, every sha256 checked\n  in ${p.dir}\n` +
        `use it: dfan extract VIDEOS --out feats --pack ${p.id}\n`,
    );
  } catch (e) {
    bar?.stop();
    throw e;
  }
}

async function verify(id: string | undefined, opts: { json?: boolean }): Promise<void> {
  const { verifyPacks } = await import('../backbones/packs/install.js');
  const results = await verifyPacks(id);
  if (opts.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  else {
    if (results.length === 0) process.stdout.write('no pack installed: nothing to verify\n');
    for (const r of results) {
      process.stdout.write(`${r.ok ? 'ok ' : 'BAD'} ${r.id}: ${r.files} files re-hashed in ${r.dir}\n`);
      for (const p of r.problems) process.stdout.write(`    ${p.file}: ${p.problem}\n`);
    }
  }
  const bad = results.filter((r) => !r.ok);
  if (bad.length > 0)
    throw new DfanError('CHECKSUM', `pack ${bad.map((r) => r.id).join(', ')} failed verification`, {
      hint: 'reinstall it with `dfan pack install SOURCE`',
    });
}

export function register(program: Command): void {
  const pack = program
    .command('pack')
    .description('list, install and verify backbone packs (weights + manifests, checked by sha256)')
    .addHelpText(
      'after',
      `
A pack is a folder: pack.json (id, version, streams, files with size + sha256 + licence,
backbone manifests) plus the weight files. Installed packs live in $DFAN_CACHE/packs/<id>
(default ~/.cache/dfan/packs/<id>). The default pack is built in and needs no install.

Examples:
  $ dfan pack list
  $ dfan pack install ../shared/models --id research        a folder of the research pack's files
  $ dfan pack install https://example.org/dfan/research/    a server that serves the pack folder
  $ dfan pack verify research                               re-hash every installed file
See docs/packs.md.`,
    );

  pack
    .command('list')
    .description('installed packs and the built-in default, with what each stream really is')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => list(opts));

  pack
    .command('install')
    .description('install a pack from a folder or an http(s) base URL into the local cache')
    .argument('<source>', 'folder or http(s) URL serving pack.json and the files it lists')
    .option(
      '--id <id>',
      'when SOURCE has no pack.json: check its files against the pack.json dfan ships for <id>',
    )
    .option('--no-progress', 'no progress bar')
    .addHelpText(
      'after',
      `
Every file is streamed to a temp folder while its sha256 is computed; a size or sha256 mismatch
fails with CHECKSUM and installs nothing. Only a complete, verified pack is moved into place
(replacing an older install of the same id).

Examples:
  $ dfan pack install ../shared/models --id research
  $ DFAN_CACHE=/data/dfan dfan pack install http://127.0.0.1:8000/ --id research`,
    )
    .action(async (source: string, opts: { id?: string; progress?: boolean }) => install(source, opts));

  pack
    .command('verify')
    .description('re-hash every file of an installed pack (or of all packs) against its pack.json')
    .argument('[id]', 'pack id (default: every installed pack)')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nExit code 1 (CHECKSUM) when a file is missing or modified.\n\nExample:\n  $ dfan pack verify research',
    )
    .action(async (id: string | undefined, opts: { json?: boolean }) => verify(id, opts));
}
