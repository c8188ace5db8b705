/**
 * DFAN configuration: one plain typed object, merged over documented defaults and validated once.
 * Everything that changes the numbers is here and is written to the run folder (config.json).
 */
import { DfanError } from '../errors.js';

/** Ablations from the same code: which focus modules are on. */
export type Variant = 'mean' | 'temporal' | 'spatial' | 'dual';
export const VARIANTS: readonly Variant[] = ['mean', 'temporal', 'spatial', 'dual'];

/** What the classifier reads of the attended cells: plain, contrasted with the video, or both. */
export type ValueContrast = 'off' | 'on' | 'both';
export const VALUE_CONTRASTS: readonly ValueContrast[] = ['off', 'on', 'both'];

export interface ModelConfig {
  variant: Variant;
  /** streams the model reads, in this order in the snippet vector u_t (absent ones are an error) */
  streams: string[];
  /**
   * context g_t that guides the spatial focus: a vector stream (default: action), or 'mean' = the
   * map's own average over cells, or 'none' (e = wᵀ tanh(W x_i) only). When the named stream is not
   * among `streams`, 'mean' is used.
   */
  spatialContext: string;
  /**
   * width h of the spatial scoring layer W: C→h. Kept narrow: the scorer's products and its tanh
   * run over every cell of every snippet (cost O(T·N·C·h) and O(T·N·h)), most of a dual step on
   * a 16×16 map. 32 (default since 2026-12-05): on three real-imagery demo sets × four seeds,
   * single models were as accurate as at 64 (47.7 against 46.2 % on average, temporal hit 89
   * against 88 %) in half the training time, and the weak-cue synthetic set learnt on 8 of 8
   * seeds (docs/model.md, "Spatial scoring width").
   */
  spatialHidden: number;
  /**
   * channels C the spatial scorer reads from a PCA-reduced map: its leading principal components
   * (the pooling x̂ = Σ α_i x_i and the projection still use all of them). 0 = all channels;
   * -1 = auto (default): the leading 128 when a map is reduced to more than 128, else all. Fewer
   * channels make the scorer cheaper, but a small cue carries little variance and lives partly in
   * the minor components: on the focus demo, 64 of 128 dropped dual accuracy from 57.5 % to 42.5 %
   * and the temporal hit rate from 57.5 % to 25 % (one seed, 40 test videos). 128 of 384 is what
   * the automatic mapDim uses (docs/model.md, "Map reduction").
   */
  spatialScoreDim: number;
  /** width d of each stream's projection P (after pooling) → u_t has d × streams dims */
  projDim: number;
  /** non-linearity after each projection: relu (default) or tanh (smooth: used by the gradient check) */
  activation: 'relu' | 'tanh';
  /** width of the temporal scoring layer Q */
  temporalHidden: number;
  /**
   * the temporal focus also reads the spatial focus's evidence: each snippet's score gets
   * γ_s · log-mean-exp of its cell scores e_ti (γ_s learned per map stream, starting at 1), so a
   * snippet whose cells look like a cue is looked at (dual only)
   */
  temporalEvidence: boolean;
  /**
   * contrast with the video: each focus scorer also reads how a cell (spatial) or a snippet
   * (temporal) departs from the same video's average over its real snippets. The pre-activation
   * W x_ti becomes W x_ti − λ ⊙ mean_t W x_ti (and Q u_t − μ ⊙ mean_t Q u_t), with λ, μ learned per
   * hidden unit and starting at 1 — linear, so it costs one product W x̄ with the per-video cell
   * means (x̄ is precomputed at load). What stands out of its
   * own video gets the attention before the head can fit the background (dual, spatial, temporal).
   * On by default: on two real-imagery demo sets it raised the temporal hit from 60 / 29 % to
   * 94 / 79 % and pointing from 65 / 38 % to 94 / 83 % (docs/model.md, "Focus contrast").
   */
  focusContrast: boolean;
  /**
   * what the classifier reads of the attended cells (spatial, dual). With x̄_i the cell's mean over
   * the video's real snippets and κ learned per channel from 1, the contrasted value is
   * x̂ᶜ_t = Σ_i α_ti (x_ti − κ ⊙ x̄_i): what the attended cells hold beyond their video's average.
   * - 'off': x̂_t = Σ_i α_ti x_ti only (the plain DFAN pooling);
   * - 'on': x̂ᶜ_t only. A brief cue is read without the footage behind it, but at κ = 1 what is
   *   the same all through a video pools to nothing: classes carried by steady content (colour,
   *   scene) fell to chance;
   * - 'both': [x̂_t ; x̂ᶜ_t], the projection reads the two (2D inputs), so steady content stays.
   * See docs/model.md, "Value contrast: both views". Saved runs from before 'both' load their
   * boolean as 'on' / 'off'.
   */
  valueContrast: ValueContrast;
  /** temporal focus heads; z = [z_1 … z_K] */
  heads: number;
  /** dropout rate before the classifier */
  dropout: number;
  /**
   * stream dropout: during training, each stream is left out of u_t for a whole video with this
   * probability (at least one stream is kept; the kept ones are scaled by streams / kept). It
   * keeps an easily memorised stream from carrying the fit alone: each stream must explain the
   * label on its own too. 0 = off; only used with two or more streams.
   */
  streamDropout: number;
  /**
   * map dropout: during training, each channel of each cell of a map stream is zeroed with this
   * probability (the rest scaled by 1 / (1 − p)) in the cells the focus scores and pools; each
   * cell's video mean x̄ stays whole. Footage that a few training videos share then stops telling
   * them apart, so the head fits them on their cue, not on their background (docs/model.md,
   * "Map dropout"). Default 0.5 (since 2026-12-05; runs saved before it load as 0); 0 = off.
   */
  mapDropout: number;
  /**
   * map streams are reduced once, at load time, to this many channels by a PCA fitted on the
   * training split (no labels used): this is what makes a 1280-channel map cheap to attend over.
   * 0 = never reduce; 'auto' (-1) = keep every channel when the training maps fit in 1 GB as
   * float32, else the most of 384, 256, 128 channels whose reduced maps fit (128 at least; see
   * autoMapDim in src/model/prep.ts).
   */
  mapDim: number;
  /** optional polarity-aware loss: weight λ of a binary cross-entropy on p(positive) */
  polarityWeight: number;
  /** classes counted as positive for the polarity loss (e.g. VE-8: anticipation, joy, surprise, trust) */
  positiveClasses: string[];
}

export interface TrainConfig {
  /** 0 = auto: enough epochs for `minSteps` optimiser steps, at least 30 (src/model/schedule.ts) */
  epochs: number;
  /** the least number of optimiser steps when epochs is auto */
  minSteps: number;
  /** a validation set smaller than this is not used to choose the epoch (none is carved) */
  minValidation: number;
  /** epochs in the window over which validation accuracy is averaged to compare epochs (1 = raw) */
  smoothing: number;
  batchSize: number;
  lr: number;
  /**
   * L2 penalty on weight matrices, added to the (mean) loss; -1 = auto: weightDecayScale / n_train,
   * clamped (a fixed prior over the weights weighs c/n against the mean loss; src/model/schedule.ts)
   */
  weightDecay: number;
  /**
   * c of the automatic weight decay c / n_train, clamped to [c·1e-4, c·1e-2]. Default 2: on six
   * real-imagery demo sets 2/n was 3.5 points above 1/n on average; 3/n was 7.3 above but left a
   * weak-signal synthetic set at chance on 4 of 8 seeds (docs/model.md, "Training defaults")
   */
  weightDecayScale: number;
  /** stop when smoothed validation accuracy has not improved for this many epochs (0 = never, -1 = auto: max(8, 20 % of the epochs)) */
  patience: number;
  /** share of the TRAIN split held out (stratified) for early stopping */
  valFraction: number;
  /**
   * when no validation set chooses and the streams are not given: leave out vector streams whose
   * video means predict the label no better than chance (src/model/stream-check.ts)
   */
  streamCheck: boolean;
  seed: number;
  /**
   * mixup strength s of the video vectors (0 = off): each training video's focused vector and
   * target are mixed with a batch partner's, its own weight λ ~ U(1 − s/2, 1) (src/model/masks.ts)
   */
  mixup: number;
  /**
   * models trained with seeds seed, seed + 1, … on the same data (members after the first in
   * worker threads, side by side); predictions average their probabilities and focus
   * (src/model/ensemble.ts). 1 = a single model.
   */
  ensemble: number;
}

export const MAP_DIM_AUTO = -1;
/** spatialScoreDim -1: the scorer reads the leading AUTO_SCORE_DIM components of a map reduced to more */
export const SCORE_DIM_AUTO = -1;
export const AUTO_SCORE_DIM = 128;

/**
 * spatialScoreDim as a run saves it: auto written as the number it stands for, so that a later
 * change of AUTO_SCORE_DIM never rereads an old run with another scorer.
 */
export function fixedScoreDim(k: number): number {
  return k === SCORE_DIM_AUTO ? AUTO_SCORE_DIM : k;
}

export const DEFAULT_MODEL: ModelConfig = {
  variant: 'dual',
  streams: [],
  spatialContext: 'action',
  spatialHidden: 32,
  spatialScoreDim: SCORE_DIM_AUTO,
  projDim: 128,
  activation: 'relu',
  temporalHidden: 64,
  temporalEvidence: false,
  focusContrast: true,
  valueContrast: 'both',
  heads: 1,
  dropout: 0.5,
  streamDropout: 0,
  mapDropout: 0.5,
  mapDim: MAP_DIM_AUTO,
  polarityWeight: 0,
  positiveClasses: [],
};

export const DEFAULT_TRAIN: TrainConfig = {
  epochs: 0,
  minSteps: 600,
  minValidation: 50,
  smoothing: 3,
  batchSize: 32,
  lr: 1e-3,
  weightDecay: -1,
  weightDecayScale: 2,
  patience: -1,
  valFraction: 0.1,
  streamCheck: true,
  seed: 0,
  mixup: 0,
  ensemble: 2,
};

function bad(msg: string): DfanError {
  return new DfanError('BAD_ARGUMENT', msg);
}

function positiveInt(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw bad(`${name} must be a positive integer (got ${v})`);
}

/**
 * `valueContrast` as saved before it had three modes (a boolean) or as given: true → 'on',
 * false → 'off'; anything else is returned as it is, for the check below.
 */
export function valueContrastOf(v: unknown): unknown {
  return v === true ? 'on' : v === false ? 'off' : v;
}

export function resolveModelConfig(partial: Partial<ModelConfig>): ModelConfig {
  const given = stripUndefined(partial);
  const c: ModelConfig = { ...DEFAULT_MODEL, ...given };
  if ('valueContrast' in given) c.valueContrast = valueContrastOf(given.valueContrast) as ValueContrast;
  if (!VALUE_CONTRASTS.includes(c.valueContrast))
    throw bad(`value contrast must be one of ${VALUE_CONTRASTS.join(', ')} (got ${String(c.valueContrast)})`);
  if (!VARIANTS.includes(c.variant))
    throw bad(`unknown variant "${c.variant}" (use one of ${VARIANTS.join(', ')})`);
  positiveInt('spatialHidden', c.spatialHidden);
  if (!Number.isInteger(c.spatialScoreDim) || c.spatialScoreDim < -1)
    throw bad(`spatialScoreDim must be -1 (auto), 0 (all) or a positive integer (got ${c.spatialScoreDim})`);
  positiveInt('projDim', c.projDim);
  positiveInt('temporalHidden', c.temporalHidden);
  positiveInt('heads', c.heads);
  if (c.activation !== 'relu' && c.activation !== 'tanh') throw bad(`activation must be relu or tanh`);
  if (!(c.dropout >= 0 && c.dropout < 1)) throw bad(`dropout must be in [0, 1) (got ${c.dropout})`);
  if (!(c.streamDropout >= 0 && c.streamDropout < 1))
    throw bad(`stream dropout must be in [0, 1) (got ${c.streamDropout})`);
  if (!(c.mapDropout >= 0 && c.mapDropout < 1))
    throw bad(`map dropout must be in [0, 1) (got ${c.mapDropout})`);
  if (!Number.isInteger(c.mapDim) || c.mapDim < -1)
    throw bad(`mapDim must be -1 (auto), 0 or a positive integer`);
  if (!(c.polarityWeight >= 0)) throw bad('polarityWeight must be ≥ 0');
  return c;
}

export function resolveTrainConfig(partial: Partial<TrainConfig>): TrainConfig {
  const c: TrainConfig = { ...DEFAULT_TRAIN, ...stripUndefined(partial) };
  if (!Number.isInteger(c.epochs) || c.epochs < 0)
    throw bad(`epochs must be an integer ≥ 0 (0 = auto; got ${c.epochs})`);
  if (!Number.isInteger(c.minSteps) || c.minSteps < 0)
    throw bad(`minSteps must be an integer ≥ 0 (got ${c.minSteps})`);
  positiveInt('smoothing', c.smoothing);
  if (!Number.isInteger(c.minValidation) || c.minValidation < 0)
    throw bad(`minValidation must be an integer ≥ 0 (got ${c.minValidation})`);
  positiveInt('batch', c.batchSize);
  if (!(c.lr > 0)) throw bad(`learning rate must be > 0 (got ${c.lr})`);
  if (!(c.weightDecay >= 0 || c.weightDecay === -1)) throw bad('weight decay must be ≥ 0 (or -1 = auto)');
  if (!(c.weightDecayScale > 0)) throw bad(`weight decay scale must be > 0 (got ${c.weightDecayScale})`);
  if (!(c.mixup >= 0 && c.mixup <= 1)) throw bad(`mixup strength must be in [0, 1] (got ${c.mixup})`);
  if (!Number.isInteger(c.patience) || c.patience < -1)
    throw bad('patience must be an integer ≥ 0 (0 = never stop early) or -1 (auto)');
  if (!(c.valFraction >= 0 && c.valFraction < 1))
    throw bad(`val fraction must be in [0, 1) (got ${c.valFraction})`);
  if (!Number.isInteger(c.seed)) throw bad(`seed must be an integer (got ${c.seed})`);
  if (!Number.isInteger(c.ensemble) || c.ensemble < 1 || c.ensemble > 8)
    throw bad(`ensemble must be an integer from 1 to 8 (got ${c.ensemble})`);
  return c;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Does the variant use the spatial / temporal focus? */
export function usesSpatial(v: Variant): boolean {
  return v === 'spatial' || v === 'dual';
}
export function usesTemporal(v: Variant): boolean {
  return v === 'temporal' || v === 'dual';
}
