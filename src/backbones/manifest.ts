import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { DfanError } from '../errors.js';
import { sha256File } from '../util/hash.js';
import { fail, type Json, numbers, object, oneOf, positiveInts, str } from './manifest-fields.js';
import { isClipKind, validateOutput } from './output.js';
import type { BackboneKind, BackboneManifest, EngineName } from './types.js';

const KINDS: BackboneKind[] = ['frame-map', 'frame-vector', 'clip-vector', 'clip-map'];
const ENGINES: EngineName[] = ['onnx', 'tfjs', 'tflite'];
const CROPS = ['crop', 'letterbox', 'stretch'] as const;
const LAYOUTS = ['NCHW', 'NHWC', 'NCTHW', 'NTHWC'] as const;
const ORDERS = ['RGB', 'BGR'] as const;

/** A validated manifest plus where it came from and its weights' absolute path. */
export interface ResolvedManifest extends BackboneManifest {
  /** absolute path of the weights file */
  weightsPath: string;
  /** the manifest file (or the pack file that inlined it) */
  source: string;
}

/**
 * Validate a parsed manifest object. `file` names the manifest (or pack) for messages; weights
 * are resolved relative to `baseDir`.
 */
export function validateManifest(raw: unknown, file: string, baseDir: string): ResolvedManifest {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    fail(file, '(root)', 'must be a JSON object');
  const o = raw as Json;
  const id = str(o, 'id', file, '') as string;
  const p = `${id}: `;
  const stream = str(o, 'stream', file, p) as string;
  const kind = oneOf(o, 'kind', KINDS, file, p);
  const engine = oneOf(o, 'engine', ENGINES, file, p);
  const weights = str(o, 'weights', file, p) as string;
  const sha256 = str(o, 'sha256', file, p, true);
  if (sha256 !== undefined && !/^[0-9a-f]{64}$/i.test(sha256))
    fail(file, `${p}sha256`, 'must be 64 hex digits');
  const licence = str(o, 'licence', file, p) as string;
  const description = str(o, 'description', file, p) as string;
  const input = validateInput(o.input, kind, file, p);
  const output = validateOutput(o.output, kind, file, p);
  const weightsPath = isAbsolute(weights) ? weights : resolve(baseDir, weights);
  return {
    id,
    stream,
    kind,
    engine,
    weights,
    ...(sha256 ? { sha256: sha256.toLowerCase() } : {}),
    input,
    output,
    licence,
    description,
    weightsPath,
    source: file,
  };
}

/** The `input` section: size, fit, layout (frame or clip, as the kind needs) and normalisation. */
function validateInput(raw: unknown, kind: BackboneKind, file: string, p: string): BackboneManifest['input'] {
  const i = object(raw, file, `${p}input`);
  const ip = `${p}input.`;
  const name = str(i, 'name', file, ip) as string;
  const size = positiveInts(i, 'size', 2, file, ip, '[height, width], positive integers') as [number, number];
  const crop = oneOf(i, 'crop', CROPS, file, ip, 'crop');
  const layout = oneOf(i, 'layout', LAYOUTS, file, ip);
  const colorOrder = oneOf(i, 'colorOrder', ORDERS, file, ip, 'RGB');
  const scale = i.scale === undefined ? 1 / 255 : i.scale;
  if (typeof scale !== 'number' || !Number.isFinite(scale) || scale === 0)
    fail(file, `${ip}scale`, 'must be a non-zero number');
  const rgb = (key: string, dflt: number, positive: boolean) =>
    (i[key] === undefined ? [dflt, dflt, dflt] : numbers(i, key, 3, file, ip, positive)) as [
      number,
      number,
      number,
    ];
  const mean = rgb('mean', 0, false);
  const std = rgb('std', 1, true);
  const clipLayout = layout === 'NCTHW' || layout === 'NTHWC';
  if (!isClipKind(kind)) {
    if (clipLayout)
      fail(file, `${ip}layout`, `is ${layout}, a clip layout, but kind is ${kind} (use NCHW or NHWC)`);
    return { name, size, crop, layout, colorOrder, scale, mean, std };
  }
  if (!clipLayout) fail(file, `${ip}layout`, `is ${layout}, but a ${kind} backbone needs NCTHW or NTHWC`);
  const f = i.frames;
  if (typeof f !== 'number' || !Number.isInteger(f) || f < 1)
    fail(file, `${ip}frames`, `must be a positive integer for a ${kind} backbone`);
  return { name, size, crop, layout, colorOrder, scale, mean, std, frames: f };
}

/** Parse a JSON file: NOT_FOUND when it is absent, BAD_MANIFEST (pointing at `docs`) when not JSON. */
export async function readJsonFile(file: string, what: string, docs = 'docs/backbones.md'): Promise<unknown> {
  if (!existsSync(file))
    throw new DfanError('NOT_FOUND', `${what} not found`, { file, hint: 'check the path' });
  const text = await readFile(file, 'utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new DfanError('BAD_MANIFEST', `${what} is not valid JSON: ${(e as Error).message}`, {
      file,
      hint: `see ${docs} for the format`,
    });
  }
}

/** Read and validate one manifest file (weights relative to it). Checks the weights exist. */
export async function loadManifest(
  file: string,
  opts: { checkWeights?: boolean } = {},
): Promise<ResolvedManifest> {
  const abs = resolve(file);
  const m = validateManifest(await readJsonFile(abs, 'backbone manifest'), abs, dirname(abs));
  if (opts.checkWeights !== false) assertWeights(m);
  return m;
}

/** Throws MODEL_MISSING when the weights file is absent. */
export function assertWeights(m: ResolvedManifest): void {
  if (!existsSync(m.weightsPath) || !statSync(m.weightsPath).isFile()) {
    throw new DfanError('MODEL_MISSING', `weights of backbone "${m.id}" not found: ${m.weightsPath}`, {
      file: m.source,
      hint: '"weights" is resolved relative to the manifest file',
    });
  }
}

/** When the manifest has a sha256, the weights must match it (DfanError CHECKSUM otherwise). */
export async function verifyWeights(m: ResolvedManifest): Promise<void> {
  assertWeights(m);
  if (!m.sha256) return;
  const got = await sha256File(m.weightsPath);
  if (got !== m.sha256) {
    throw new DfanError(
      'CHECKSUM',
      `weights of backbone "${m.id}" do not match sha256 (expected ${m.sha256}, got ${got})`,
      {
        file: m.weightsPath,
        hint: 'the file is corrupt or a different version: fetch it again or update "sha256"',
      },
    );
  }
}
