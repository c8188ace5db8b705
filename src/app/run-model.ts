/**
 * A trained DFAN run (src/model/run.ts loadRun) as a Predictor: the run says which pack and
 * streams it was trained on, so features are extracted with the same pack, and only those streams.
 */
import { basename, resolve } from 'node:path';
import type { VideoFeatures } from '../features/types.js';
import type { LoadedRun, VideoPrediction } from '../model/run.js';
import type { FocusOutput, Predictor } from './types.js';

/** The pack spec for resolvePack from a pack id: "default@0.1.0" → "default". */
export function packSpecOf(packId: string): string {
  return packId.replace(/@[^@/\\]*$/, '');
}

/** A run's VideoPrediction → FocusOutput (α [T·H·W] → [T][H][W]). */
export function toFocusOutput(p: VideoPrediction, classes: string[]): FocusOutput {
  const spatialFocus: Record<string, number[][][]> = {};
  for (const [stream, a] of Object.entries(p.alpha)) {
    spatialFocus[stream] = Array.from({ length: a.T }, (_, t) =>
      Array.from({ length: a.H }, (_, r) =>
        Array.from({ length: a.W }, (_, c) => a.data[(t * a.H + r) * a.W + c]),
      ),
    );
  }
  return { probs: [...p.probs], classes, temporalFocus: [...p.beta], spatialFocus, warnings: [] };
}

export function runAsPredictor(run: LoadedRun, dir: string): Predictor {
  const cfg = run.config;
  const streams = Object.keys(cfg.prep.streams);
  const name = basename(resolve(dir));
  const kind = cfg.kind === 'trained' ? 'trained' : 'untrained';
  return {
    descriptor: {
      name,
      kind,
      description:
        `DFAN run "${name}" (variant ${cfg.model.variant}, ${cfg.classes.length} classes: ${cfg.classes.join(', ')}` +
        (cfg.members?.length
          ? `; ensemble of ${cfg.members.length + 1} models, probabilities and focus averaged`
          : '') +
        '), ' +
        `trained on ${cfg.packId} features (${streams.join(', ')})` +
        (cfg.dataset ? ` from ${basename(cfg.dataset)}` : '') +
        (cfg.result?.valAccuracy != null
          ? `; validation accuracy ${(cfg.result.valAccuracy * 100).toFixed(1)} % on its own validation slice`
          : ''),
    },
    pack: packSpecOf(cfg.packId),
    streams,
    T: cfg.prep.T,
    K: 8,
    streamDescriptions: Object.fromEntries(
      streams.map((s) => [
        s,
        `${s}: learned spatial focus${cfg.streamInfo?.[s] ? ` over ${cfg.streamInfo[s]}` : ''}`,
      ]),
    ),
    predict: (features: VideoFeatures) => toFocusOutput(run.predict(features), run.classes),
    dispose: () => run.dispose(),
  };
}

export async function runPredictor(dir: string): Promise<Predictor> {
  const { loadRun } = await import('../model/run.js');
  return runAsPredictor(await loadRun(dir), dir);
}
