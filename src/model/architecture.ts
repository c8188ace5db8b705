/**
 * What DFAN is built of for one config and one set of inputs, resolved once: which streams get a
 * spatial focus and what guides it, whether each focus scorer contrasts with the video, what the
 * classifier reads of the attended cells, how wide u_t and z are. The units in dfan.ts read these
 * options (never the presence of a parameter), and declare their parameters from them.
 */
import { rng } from '../util/random.js';
import { fixedScoreDim, type ModelConfig, usesSpatial, usesTemporal, type ValueContrast } from './config.js';

/** What the model needs to know about its inputs (after preprocessing). */
export interface InputDims {
  /**
   * map streams: cells N = H·W and channels D (after reduction); `ordered` when the channels are
   * principal components in decreasing variance (a PCA-reduced map)
   */
  maps: Record<string, { H: number; W: number; D: number; ordered?: boolean }>;
  /** vector streams: channels */
  vectors: Record<string, { D: number }>;
}

/** The context g_t that guides a spatial focus: none, the map's own mean over cells, or a vector stream. */
export type SpatialContext =
  | { kind: 'none' }
  | { kind: 'mean'; width: number }
  | { kind: 'vector'; stream: string; width: number };

/** The spatial focus on one map stream. */
export interface SpatialOptions {
  stream: string;
  /** N = H·W cells and D channels of the map */
  cells: number;
  channels: number;
  /** k ≤ D: the leading channels the scorer reads (k < D only for a PCA-reduced map) */
  scoreDim: number;
  /** h, width of the scoring layer W */
  hidden: number;
  context: SpatialContext;
  /** the scorer reads W x_ti − λ ⊙ W x̄_i (the cell against the same cell over the video) */
  focusContrast: boolean;
  /** what the pooled value holds: x̂, x̂ᶜ = Σ α (x − κ ⊙ x̄), or both side by side */
  valueContrast: ValueContrast;
  /** the temporal focus reads this stream's evidence γ · log-mean-exp_i e_ti */
  evidence: boolean;
}

/** The temporal focus over the snippet vectors u_t. */
export interface TemporalOptions {
  /** D_u, width of u_t */
  width: number;
  hidden: number;
  /** K heads */
  heads: number;
  /** the scorer reads Q u_t − μ ⊙ mean_t Q u_t (the snippet against its video) */
  focusContrast: boolean;
  /** map streams whose spatial evidence the scores read (γ per stream), in stream order */
  evidence: string[];
}

export interface StreamPart {
  name: string;
  kind: 'map' | 'vector';
  /** width of what the projection P reads: D (a vector, a pooled map), or 2D for value contrast 'both' */
  width: number;
  /** the map's spatial focus, when the variant has one */
  spatial: SpatialOptions | null;
}

export interface Architecture {
  /** in the order of their parts of u_t */
  streams: StreamPart[];
  /** d, width of each stream's part of u_t, and its non-linearity */
  projDim: number;
  activation: 'relu' | 'tanh';
  /** null: z is the mean over real snippets (variants mean, spatial) */
  temporal: TemporalOptions | null;
  /** K: heads of the temporal focus (1 without one); z has K·D_u dims */
  heads: number;
  /** D_u = d · streams */
  snippetWidth: number;
  classes: number;
}

/**
 * Channels of a map that the spatial scorer reads: the leading `spatialScoreDim` principal
 * components when the map is PCA-reduced (auto: AUTO_SCORE_DIM), else all of them.
 */
export function scoreDimOf(
  cfg: Pick<ModelConfig, 'spatialScoreDim'>,
  m: { D: number; ordered?: boolean },
): number {
  const k = fixedScoreDim(cfg.spatialScoreDim);
  return m.ordered && k > 0 && k < m.D ? k : m.D;
}

/** The context of the spatial focus: a vector stream the model reads, else the map's own mean (or none). */
function spatialContextOf(cfg: ModelConfig, dims: InputDims, mapChannels: number): SpatialContext {
  const c = cfg.spatialContext;
  if (c === 'none') return { kind: 'none' };
  if (c !== 'mean' && cfg.streams.includes(c) && dims.vectors[c])
    return { kind: 'vector', stream: c, width: dims.vectors[c].D };
  return { kind: 'mean', width: mapChannels };
}

export function resolveArchitecture(cfg: ModelConfig, dims: InputDims, classes: number): Architecture {
  const spatial = usesSpatial(cfg.variant);
  const temporal = usesTemporal(cfg.variant);
  const evidence = spatial && temporal && cfg.temporalEvidence;
  const streams = cfg.streams.map((name): StreamPart => {
    const m = dims.maps[name];
    if (!m) return { name, kind: 'vector', width: dims.vectors[name].D, spatial: null };
    if (!spatial) return { name, kind: 'map', width: m.D, spatial: null };
    return {
      name,
      kind: 'map',
      width: cfg.valueContrast === 'both' ? 2 * m.D : m.D,
      spatial: {
        stream: name,
        cells: m.H * m.W,
        channels: m.D,
        scoreDim: scoreDimOf(cfg, m),
        hidden: cfg.spatialHidden,
        context: spatialContextOf(cfg, dims, m.D),
        focusContrast: cfg.focusContrast,
        valueContrast: cfg.valueContrast,
        evidence,
      },
    };
  });
  const snippetWidth = cfg.projDim * streams.length;
  return {
    streams,
    projDim: cfg.projDim,
    activation: cfg.activation,
    temporal: temporal
      ? {
          width: snippetWidth,
          hidden: cfg.temporalHidden,
          heads: cfg.heads,
          focusContrast: cfg.focusContrast,
          evidence: evidence ? streams.filter((s) => s.kind === 'map').map((s) => s.name) : [],
        }
      : null,
    heads: temporal ? cfg.heads : 1,
    snippetWidth,
    classes,
  };
}

/** One parameter: its shape, whether L2 weight decay applies, and how it starts. */
export interface ParamSpec {
  shape: number[];
  /** L2 weight decay applies (matrices, not biases / score vectors) */
  decay: boolean;
  init: 'glorot' | 'zeros' | 'small' | 'one';
}

/** A weight matrix: Glorot-uniform, decayed. */
export const matrix = (rows: number, cols: number): ParamSpec => ({
  shape: [rows, cols],
  decay: true,
  init: 'glorot',
});
/** A bias: zeros. */
export const bias = (n: number): ParamSpec => ({ shape: [n], decay: false, init: 'zeros' });
/** A learned per-unit scale that starts at 1 (λ, κ, μ, γ). */
export const scale = (n: number): ParamSpec => ({ shape: [n], decay: false, init: 'one' });
/** A score vector (w, v): small uniform values, so the first focus is near uniform. */
export const scoreVector = (n: number, heads: number): ParamSpec => ({
  shape: [n, heads],
  decay: false,
  init: 'small',
});

/** Seeded initial values, in the order of `specs`: Glorot-uniform matrices, zero biases, small score vectors. */
export function initParams(specs: Record<string, ParamSpec>, seed: number): Record<string, Float32Array> {
  const random = rng((seed ^ 0x5eed) >>> 0);
  const out: Record<string, Float32Array> = {};
  for (const [name, s] of Object.entries(specs)) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const a = new Float32Array(n);
    if (s.init === 'glorot') {
      const limit = Math.sqrt(6 / (s.shape[0] + s.shape[s.shape.length - 1]));
      for (let i = 0; i < n; i++) a[i] = (random() * 2 - 1) * limit;
    } else if (s.init === 'small') {
      for (let i = 0; i < n; i++) a[i] = (random() * 2 - 1) * 0.1;
    } else if (s.init === 'one') {
      a.fill(1);
    }
    out[name] = a;
  }
  return out;
}
