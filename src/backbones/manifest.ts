import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { DfanError } from '../errors.js';
import { sha256File } from '../util/hash.js';
import type { BackboneKind, BackboneManifest, EngineName } from './types.js';

const KINDS: BackboneKind[] = ['frame-map', 'frame-vector', 'clip-vector'];
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

type Json = Record<string, unknown>;

function fail(file: string, field: string, what: string): never {
  throw new DfanError('BAD_MANIFEST', `backbone manifest field "${field}" ${what}`, {
    file,
    hint: 'see docs/backbones.md for the manifest format and a complete example',
  });
}

function str(o: Json, key: string, file: string, prefix: string, optional = false): string | undefined {
  const v = o[key];
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'string' || v.length === 0)
    fail(file, prefix + key, v === undefined ? 'is missing' : 'must be a non-empty string');
  return v;
}

function oneOf<T extends string>(
  o: Json,
  key: string,
  allowed: readonly T[],
  file: string,
  prefix: string,
  dflt?: T,
): T {
  const v = o[key];
  if (v === undefined && dflt !== undefined) return dflt;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    fail(
      file,
      prefix + key,
      `${v === undefined ? 'is missing' : `is ${JSON.stringify(v)}`}: expected one of ${allowed.join(', ')}`,
    );
  }
  return v as T;
}

function numbers(
  o: Json,
  key: string,
  len: number | null,
  file: string,
  prefix: string,
  positive: boolean,
): number[] {
  const v = o[key];
  const ok =
    Array.isArray(v) &&
    (len === null ? v.length > 0 : v.length === len) &&
    v.every((x) => typeof x === 'number' && Number.isFinite(x) && (!positive || x > 0));
  if (!ok) {
    const n = len === null ? 'a non-empty array' : `an array of ${len}`;
    fail(
      file,
      prefix + key,
      `${v === undefined ? 'is missing' : 'is invalid'}: expected ${n} ${positive ? 'positive ' : ''}numbers`,
    );
  }
  return v as number[];
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

  const inp = o.input;
  if (inp === null || typeof inp !== 'object' || Array.isArray(inp))
    fail(file, `${p}input`, 'is missing or not an object');
  const i = inp as Json;
  const ip = `${p}input.`;
  const name = str(i, 'name', file, ip) as string;
  const size = numbers(i, 'size', 2, file, ip, true) as [number, number];
  if (!size.every(Number.isInteger)) fail(file, `${ip}size`, 'must be integers [height, width]');
  const crop = oneOf(i, 'crop', CROPS, file, ip, 'crop');
  const layout = oneOf(i, 'layout', LAYOUTS, file, ip);
  const colorOrder = oneOf(i, 'colorOrder', ORDERS, file, ip, 'RGB');
  const scale = i.scale === undefined ? 1 / 255 : i.scale;
  if (typeof scale !== 'number' || !Number.isFinite(scale) || scale === 0)
    fail(file, `${ip}scale`, 'must be a non-zero number');
  const mean = (i.mean === undefined ? [0, 0, 0] : numbers(i, 'mean', 3, file, ip, false)) as [
    number,
    number,
    number,
  ];
  const std = (i.std === undefined ? [1, 1, 1] : numbers(i, 'std', 3, file, ip, true)) as [
    number,
    number,
    number,
  ];
  let frames: number | undefined;
  const clipLayout = layout === 'NCTHW' || layout === 'NTHWC';
  if (kind === 'clip-vector') {
    if (!clipLayout)
      fail(file, `${ip}layout`, `is ${layout}, but a clip-vector backbone needs NCTHW or NTHWC`);
    const f = i.frames;
    if (typeof f !== 'number' || !Number.isInteger(f) || f < 1)
      fail(file, `${ip}frames`, 'must be a positive integer for a clip-vector backbone');
    frames = f;
  } else if (clipLayout) {
    fail(file, `${ip}layout`, `is ${layout}, a clip layout, but kind is ${kind} (use NCHW or NHWC)`);
  }

  const out = o.output;
  if (out === null || typeof out !== 'object' || Array.isArray(out))
    fail(file, `${p}output`, 'is missing or not an object');
  const ou = out as Json;
  const op = `${p}output.`;
  const oname = str(ou, 'name', file, op) as string;
  const shape = numbers(ou, 'shape', null, file, op, true);
  if (!shape.every(Number.isInteger)) fail(file, `${op}shape`, 'must be positive integers');
  if (kind === 'frame-map' && shape.length !== 3)
    fail(file, `${op}shape`, `must have 3 dims (C,H,W or H,W,C) for a frame-map, got ${shape.length}`);
  if (kind !== 'frame-map' && shape.length !== 1)
    fail(file, `${op}shape`, `must have 1 dim for a ${kind}, got ${shape.length}`);
  const olayout =
    ou.layout === undefined ? undefined : oneOf(ou, 'layout', ['CHW', 'HWC'] as const, file, op);

  const weightsPath = isAbsolute(weights) ? weights : resolve(baseDir, weights);
  return {
    id,
    stream,
    kind,
    engine,
    weights,
    ...(sha256 ? { sha256: sha256.toLowerCase() } : {}),
    input: { name, size, crop, layout, colorOrder, scale, mean, std, ...(frames ? { frames } : {}) },
    output: {
      name: oname,
      shape,
      ...(olayout ? { layout: olayout } : kind === 'frame-map' ? { layout: 'CHW' as const } : {}),
    },
    licence,
    description,
    weightsPath,
    source: file,
  };
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
