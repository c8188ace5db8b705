/**
 * `createRecognizer`: the library's one factory for the everyday job, over the same PredictEngine
 * that `dfan predict` and `dfan serve` use, so a prediction here is the one `dfan predict --json`
 * prints for the same clip. The config is checked once, here; the model loads with the recognizer
 * (a trained run reads its weights; the zero-shot default has none), the backbones of its feature
 * pack on the first `predict` (or `warm`), once, and `dispose` frees them.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PredictEngine } from '../app/predict.js';
import type { ModelDescriptor, Prediction } from '../app/types.js';
import { DfanError } from '../errors.js';
import { checkOptions, type OptionRules } from './options.js';

export interface RecognizerConfig {
  /**
   * 'default' (the built-in ZERO-SHOT face-expression model, what `dfan predict` answers) or the
   * folder of a trained run (`train({ out })`, `dfan train --out`). Default 'default'.
   */
  model?: string;
  /**
   * feature pack override: 'default', 'research', a pack JSON file or a pack module (.js/.mjs
   * exporting createPack). Default: the pack the model was made with.
   */
  pack?: string;
  /** snippets T per video, 1–256 (default: what the model expects, 16) */
  snippets?: number;
}

export interface RecognizerPredictOptions {
  /** what the prediction's `video` field says (default: the path as given) */
  name?: string;
  /** stage name and fraction done (0–1), for a progress bar; nothing is printed */
  onProgress?: (stage: string, fraction: number) => void;
}

export interface Recognizer {
  /** the model that answers: name, kind ('zero-shot' | 'trained') and what it is */
  readonly model: ModelDescriptor;
  /** one video file → its Prediction (emotion probabilities, temporal and spatial focus) */
  predict(video: string, options?: RecognizerPredictOptions): Promise<Prediction>;
  /** load the feature pack's backbones now, so the first predict is as fast as the next */
  warm(): Promise<void>;
  /** free the backbones and the model (after the predictions under way settle); idempotent */
  dispose(): Promise<void>;
}

const CONFIG_RULES: OptionRules = {
  model: { kind: 'string' },
  pack: { kind: 'string' },
  snippets: { kind: 'number', integer: true, min: 1, max: 256 },
};

const PREDICT_RULES: OptionRules = {
  name: { kind: 'string' },
  onProgress: { kind: 'function' },
};

const DEFAULT_MODELS = ['default', 'zero-shot'];

/** A missing run folder or pack file is named now, not when the first video is halfway through. */
function checkPaths(c: RecognizerConfig): void {
  if (
    c.model !== undefined &&
    !DEFAULT_MODELS.includes(c.model) &&
    !existsSync(join(c.model, 'config.json'))
  ) {
    throw new DfanError('NOT_FOUND', 'createRecognizer: "model" is not a trained run folder', {
      file: c.model,
      hint: "give 'default' (the zero-shot model) or the folder written by train({ out }) / `dfan train --out`",
    });
  }
  if (c.pack !== undefined && /\.(json|c?js|mjs)$/i.test(c.pack) && !existsSync(c.pack)) {
    throw new DfanError('NOT_FOUND', 'createRecognizer: the "pack" file does not exist', {
      file: c.pack,
      hint: "give 'default', 'research', or the path of a pack JSON file or pack module",
    });
  }
}

export async function createRecognizer(config: RecognizerConfig = {}): Promise<Recognizer> {
  const c = checkOptions<RecognizerConfig>('createRecognizer', config, CONFIG_RULES);
  checkPaths(c);
  const engine = await PredictEngine.create({ model: c.model ?? 'default', pack: c.pack, T: c.snippets });
  const underway = new Set<Promise<unknown>>();
  let disposed: Promise<void> | null = null;
  // dispose waits for these: a pack is never freed under a video that is using it
  const track = async <T>(p: Promise<T>): Promise<T> => {
    underway.add(p);
    try {
      return await p;
    } finally {
      underway.delete(p);
    }
  };
  const alive = (what: string): void => {
    if (disposed)
      throw new DfanError('BAD_ARGUMENT', `recognizer.${what}: this recognizer was disposed`, {
        hint: 'create another one with createRecognizer()',
      });
  };
  return {
    model: engine.predictor.descriptor,
    async predict(video, options) {
      alive('predict');
      const o = checkOptions<RecognizerPredictOptions>('recognizer.predict', options, PREDICT_RULES);
      if (typeof video !== 'string' || video.trim() === '')
        throw new DfanError('BAD_ARGUMENT', 'recognizer.predict: give the path of a video file');
      return track(engine.predictFile(video, { name: o.name, onProgress: o.onProgress }));
    },
    async warm() {
      alive('warm');
      await track(engine.warm());
    },
    dispose() {
      disposed ??= Promise.allSettled([...underway]).then(() => engine.dispose());
      return disposed;
    },
  };
}
