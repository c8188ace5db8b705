/**
 * The backbone stage: packs of frozen backbones that turn a video's snippets into feature
 * streams (their contract: ./streams.ts). `loadPack('default' | 'research' | 'path/to/pack.json')`;
 * engines in ./engine.ts, the built-in packs in ./default and ./research, the pack format and
 * installs in ./packs, the ONNX converters in ./convert.
 */
import { existsSync } from 'node:fs';
import { DfanError } from '../errors.js';
import type { DefaultPackOptions } from './default/pack.js';
import type { ManifestPackOptions } from './manifest-pack.js';
import type { FeaturePack, PackInput } from './types.js';

export {
  type Engine,
  type EngineTensor,
  engineNames,
  getEngine,
  type LoadedModel,
  registerEngine,
} from './engine.js';
export { loadManifest, type ResolvedManifest, validateManifest, verifyWeights } from './manifest.js';
export { loadPackFile, type PackJson, type ResolvedPack } from './packs/format.js';
export { clipsToTensor, fitFrame, framesToTensor } from './preprocess.js';
export * from './streams.js';
export type { BackboneManifest, FeaturePack, PackInput } from './types.js';

export type PackOptions = DefaultPackOptions & ManifestPackOptions;

/**
 * Built-in packs by name, loaded lazily (each imports its models only when used); other modules
 * add theirs with `registerPack`. The research pack needs an installed pack (`dfan pack install
 * … --id research`, docs/packs.md).
 */
const builtin = new Map<string, (opts: PackOptions) => Promise<FeaturePack>>([
  ['default', async (opts) => (await import('./default/pack.js')).loadDefaultPack(opts)],
  ['research', async (opts) => (await import('./research/index.js')).loadResearchPack(opts)],
]);

export function registerPack(name: string, loader: (opts: PackOptions) => Promise<FeaturePack>): void {
  builtin.set(name, loader);
}

export function packNames(): string[] {
  return [...builtin.keys()];
}

/** 'default' (or another registered name) or the path of a pack JSON file. */
export async function loadPack(spec: string, opts: PackOptions = {}): Promise<FeaturePack> {
  const b = builtin.get(spec);
  if (b) return b(opts);
  if (spec.endsWith('.json') || existsSync(spec)) {
    return (await import('./manifest-pack.js')).loadManifestPack(spec, opts);
  }
  throw new DfanError('BAD_ARGUMENT', `unknown pack "${spec}"`, {
    hint: `use ${packNames().join(', ')} or the path of a pack JSON file (docs/backbones.md)`,
  });
}

/** A PackInput for one video file: probe, T snippets of K clip frames, decode through src/video. */
export async function videoPackInput(
  path: string,
  opts: { T?: number; K?: number } = {},
): Promise<PackInput> {
  const { probe, sampleSnippets, decodeFrames } = await import('../video/index.js');
  const info = await probe(path);
  const snippets = sampleSnippets(info.duration, opts.T ?? 16, opts.K ?? 8);
  return { info, snippets, decode: (times, o) => decodeFrames(path, times, o, info) };
}
