/**
 * A trained DFAN run (src/model's loadRun) as a Predictor: the run says which pack and streams
 * it was trained on, so features are extracted with the same pack, and only those streams.
 */
import { basename, resolve } from 'node:path';
import { DfanError } from '../errors.js';
import type { VideoFeatures } from '../features/types.js';
import type { FocusOutput, Predictor } from './types.js';

/** What this adapter needs from a loaded run; checked at run time since src/model evolves. */
interface LoadedRunLike {
  classes?: string[];
  labels?: string[];
  packId?: string;
  pack?: string;
  streams?: string[];
  T?: number;
  K?: number;
  variant?: string;
  config?: Record<string, unknown>;
  predict: (f: VideoFeatures) => unknown;
  dispose?: () => unknown;
}

function asGrids(x: unknown): number[][][] | null {
  if (!Array.isArray(x)) return null;
  return x as number[][][];
}

/** Normalise whatever shape the run's predict returns into FocusOutput. */
export function toFocusOutput(raw: Record<string, unknown>, classes: string[], T: number): FocusOutput {
  const probs = (raw.probs ?? raw.probabilities) as number[] | Float32Array | undefined;
  if (!probs) throw new DfanError('INTERNAL', 'the run returned no probabilities');
  const beta = (raw.temporalFocus ?? raw.beta) as number[] | Float32Array | undefined;
  const alpha = (raw.spatialFocus ?? raw.alpha ?? {}) as Record<string, unknown>;
  const spatialFocus: Record<string, number[][][]> = {};
  for (const [stream, v] of Object.entries(alpha)) {
    const grids = asGrids(v);
    if (grids) spatialFocus[stream] = grids;
    else if (v && typeof v === 'object' && 'data' in v && 'shape' in v) {
      const { data, shape } = v as { data: ArrayLike<number>; shape: number[] };
      const [t, h, w] = shape;
      spatialFocus[stream] = Array.from({ length: t }, (_, i) =>
        Array.from({ length: h }, (_, r) => Array.from({ length: w }, (_, c) => data[(i * h + r) * w + c])),
      );
    }
  }
  return {
    probs: Array.from(probs),
    classes,
    temporalFocus: beta ? Array.from(beta) : new Array(T).fill(1 / T),
    spatialFocus,
    warnings: Array.isArray(raw.warnings) ? (raw.warnings as string[]) : [],
  };
}

export async function runPredictor(dir: string): Promise<Predictor> {
  let mod: { loadRun?: (dir: string) => Promise<LoadedRunLike> };
  try {
    mod = (await import('../model/index.js' as string)) as typeof mod;
  } catch (e) {
    throw new DfanError(
      'MODEL_MISSING',
      'trained runs cannot be loaded in this build (src/model is missing)',
      {
        file: dir,
        hint: 'use the built-in default model (--model default)',
        cause: e,
      },
    );
  }
  if (typeof mod.loadRun !== 'function') {
    throw new DfanError('MODEL_MISSING', 'trained runs cannot be loaded in this build (no loadRun)', {
      file: dir,
      hint: 'use the built-in default model (--model default)',
    });
  }
  const run = await mod.loadRun(resolve(dir));
  const classes = run.classes ?? run.labels ?? [];
  const T = run.T ?? 16;
  const streams = run.streams ?? [];
  return {
    descriptor: {
      name: basename(resolve(dir)),
      kind: 'trained',
      description: `DFAN run ${basename(resolve(dir))}${run.variant ? ` (variant ${run.variant})` : ''} trained on features of pack ${run.packId ?? run.pack ?? '?'}; streams: ${streams.join(', ') || '?'}`,
    },
    pack: run.pack ?? (run.packId ? run.packId.split('@')[0] : 'default'),
    streams,
    T,
    K: run.K ?? 8,
    streamDescriptions: Object.fromEntries(
      streams.map((s) => [s, `${s}: learned spatial focus of the DFAN run`]),
    ),
    predict: async (features) =>
      toFocusOutput((await run.predict(features)) as Record<string, unknown>, classes, T),
    dispose: () => {
      run.dispose?.();
    },
  };
}
