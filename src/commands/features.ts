import type { Command } from 'commander';
import type { HeaderInfo } from '../features/store.js';
import type { VideoFeatures } from '../features/types.js';
import { registerImport } from './features-import.js';

const EXAMPLES = `
Examples:
  $ dfan features inspect feats/clip-1a2b3c4d5e6f.safetensors
  $ dfan features inspect feats/clip-1a2b3c4d5e6f.safetensors --json | jq .streams
  $ dfan features inspect feats/clip-1a2b3c4d5e6f.safetensors --verify   also check the data sha256
  $ dfan features list feats                                              what a feature folder holds

Feature files are safetensors: in Python,
  from safetensors.numpy import load_file; t = load_file(path)      # {'object': ..., 'snippet_times': ...}
  from safetensors import safe_open; safe_open(path, 'np').metadata()  # dfan_meta = FeatureMeta JSON
(docs/features.md describes every tensor and metadata key).`;

function mb(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${(n / 1e3).toFixed(1)} kB`;
}

export function register(program: Command): void {
  const features = program
    .command('features')
    .description('look inside feature files written by `dfan extract`, or import published NumPy features')
    .addHelpText('after', EXAMPLES);
  features
    .command('inspect')
    .description(
      'print the streams (name, shape, dtype, description), snippet times, metadata and warnings of a feature file',
    )
    .argument('<file>', 'a .safetensors feature file')
    .option('--json', 'print JSON instead of text')
    .option('--verify', 'also check the data section against its sha256')
    .addHelpText('after', EXAMPLES)
    .action(inspectCommand);
  features
    .command('list')
    .description('list the videos of a feature folder: key, status, file (and failures of the last run)')
    .argument('<dir>', 'a feature folder written by `dfan extract`')
    .option('--json', 'print index.json entries as JSON')
    .action(listCommand);

  registerImport(features);
}

/** One stream of a feature file as `features inspect` shows it. */
interface StreamRow {
  name: string;
  dtype: string;
  shape: number[];
  kind: string;
  backbone: string;
  description: string;
}

/** The file's streams (its tensors but the snippet times and mask), described by its metadata. */
function streamRows(head: HeaderInfo): StreamRow[] {
  return Object.entries(head.tensors)
    .filter(([name]) => name !== 'snippet_times' && name !== 'mask')
    .map(([name, t]) => {
      const info = head.meta.streams.find((s) => s.name === name);
      return {
        name,
        dtype: t.dtype,
        shape: t.shape,
        kind: info?.kind ?? (t.shape.length >= 3 ? 'map' : 'vector'),
        backbone: info?.backbone ?? '',
        description: info?.description ?? '',
      };
    });
}

/** `dfan features inspect`: streams, snippet times, metadata and warnings of one file. */
async function inspectCommand(file: string, o: { json?: boolean; verify?: boolean }): Promise<void> {
  const { readFeatureHeader, readFeatures } = await import('../features/store.js');
  const head = await readFeatureHeader(file, { verify: o.verify });
  const vf = await readFeatures(file, { streams: [] });
  const streams = streamRows(head);
  if (o.json) {
    const mask = vf.mask ? Array.from(vf.mask) : null;
    const out = {
      file,
      size: head.size,
      verified: Boolean(o.verify),
      meta: head.meta,
      streams,
      snippets: vf.snippets,
      mask,
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return;
  }
  process.stdout.write(`${inspectText(file, head, vf, streams, Boolean(o.verify)).join('\n')}\n`);
}

function inspectText(
  file: string,
  head: HeaderInfo,
  vf: VideoFeatures,
  streams: StreamRow[],
  verified: boolean,
): string[] {
  const m = head.meta;
  const lines: string[] = [];
  lines.push(`file       ${file} (${mb(head.size)}${verified ? ', data sha256 verified' : ''})`);
  lines.push(`key        ${m.key}`);
  lines.push(
    `source     ${m.source} (${mb(m.sourceSize)}, ${m.duration.toFixed(2)} s, sha256 ${m.sourceHash.slice(0, 16)}…)`,
  );
  lines.push(
    `pack       ${m.packId}   config ${m.configHash}   dfan ${m.dfanVersion}   created ${m.createdAt}`,
  );
  lines.push('streams');
  const w = Math.max(...streams.map((s) => s.name.length), 4);
  for (const s of streams) {
    lines.push(
      `  ${s.name.padEnd(w)}  ${s.dtype.padEnd(3)} [${s.shape.join(', ')}]  ${s.kind}  ${s.backbone}`,
    );
    if (s.description) lines.push(`  ${''.padEnd(w)}  ${s.description}`);
  }
  lines.push(`snippets   T=${vf.snippets.length} (start–end s, key frame)`);
  vf.snippets.forEach((s, i) => {
    const pad = vf.mask && vf.mask[i] === 0 ? '  (padding)' : '';
    lines.push(
      `  ${String(i).padStart(3)}  ${s.start.toFixed(2)}–${s.end.toFixed(2)}  key ${s.keyTime.toFixed(2)}${pad}`,
    );
  });
  lines.push(`warnings   ${m.warnings.length === 0 ? 'none' : ''}`);
  for (const wn of m.warnings) lines.push(`  - ${wn}`);
  return lines;
}

/** `dfan features list`: the videos of a feature folder and their status. */
async function listCommand(dir: string, o: { json?: boolean }): Promise<void> {
  const { FeatureStore } = await import('../features/store.js');
  const store = await FeatureStore.open(dir);
  if (o.json) {
    process.stdout.write(`${JSON.stringify(store.index, null, 2)}\n`);
    return;
  }
  const idx = store.index;
  process.stdout.write(
    `${dir}: ${store.keys().length} extracted, ${store.failures().length} failed` +
      `${idx.packId ? ` · pack ${idx.packId} · T=${idx.T} K=${idx.K} · config ${idx.configHash}` : ''}\n`,
  );
  for (const [key, e] of Object.entries(idx.entries)) {
    process.stdout.write(
      `  ${e.status === 'done' ? 'ok    ' : 'FAILED'}  ${key}  ${e.status === 'done' ? e.file : e.error}\n`,
    );
  }
}
