/**
 * The built-in default model: a zero-shot Ekman-6 predictor built only from the `face` stream
 * (FACE_LAYOUT: presence, box, 7 expression probabilities of the most prominent face).
 * No training, no download. It is a face-expression model, never trained on video emotion:
 * every output that uses it says so.
 *
 * Per snippet t (real snippets only):
 *   presence p_t ∈ [0,1], expressions e_t (7, renormalised), neutral n_t
 *   expressiveness x_t = p_t · (1 − n_t)
 *   temporal focus β = softmax_t(x_t / τ)            (uniform when no face anywhere)
 *   pooled expression E = Σ β_t p_t e_t / Σ β_t p_t
 *   Ekman-6 probs = (1 − E_neutral) · E_6 / ΣE_6 + E_neutral · 1/6   (neutral → towards uniform)
 *   spatial focus = a Gaussian over the face box on a G×G grid (uniform without a face)
 */
import { FACE_EXPRESSIONS, FACE_LAYOUT, type VideoFeatures } from '../features/types.js';
import { softmax } from '../util/softmax.js';
import type { FocusOutput, ModelDescriptor, Predictor } from './types.js';

export const EKMAN6 = ['anger', 'disgust', 'fear', 'joy', 'sadness', 'surprise'] as const;

/** face expression (FACE_EXPRESSIONS order) → Ekman-6 label */
export const EXPRESSION_TO_EKMAN: Record<string, (typeof EKMAN6)[number]> = {
  angry: 'anger',
  disgust: 'disgust',
  fear: 'fear',
  happy: 'joy',
  sad: 'sadness',
  surprise: 'surprise',
};

export const ZERO_SHOT_DESCRIPTOR: ModelDescriptor = {
  name: 'zero-shot-face-expression',
  kind: 'zero-shot',
  description:
    'Zero-shot face-expression model: Ekman-6 from the 7-class facial expression of the most prominent face ' +
    '(@vladmandic/human), pooled over snippets weighted by expressiveness. Untrained on video emotion: it sees ' +
    'only faces, so scenes, actions and sound carry no weight, and videos without faces get a uniform answer.',
};

export const NO_FACE_WARNING =
  'no face found in any snippet: the zero-shot face-expression model has nothing to go on, so the emotion ' +
  'probabilities and the temporal focus are uniform (use a trained model: --model RUN)';

export interface ZeroShotOptions {
  /** softmax temperature of the temporal focus over expressiveness in [0,1]; smaller = sharper */
  temperature?: number;
  /** spatial grid size (G×G) */
  grid?: number;
  /** presence below this counts as "no face" */
  minPresence?: number;
}

/**
 * minPresence: detector confidences below 0.5 count as "no face". Measured on ../shared/media
 * with the default pack (BlazeFace + face-mesh check): real faces score 0.61–0.87, the one
 * remaining false detection on a face-free clip (no_face.mp4 titles) 0.41.
 */
const DEFAULTS: Required<ZeroShotOptions> = { temperature: 0.1, grid: 7, minPresence: 0.5 };

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}

export function uniformGrid(h: number, w: number): number[][] {
  return Array.from({ length: h }, () => new Array<number>(w).fill(1 / (h * w)));
}

/**
 * A Gaussian over a box (x, y, w, h in [0,1]) on an H×W grid of cell centres, normalised to
 * sum 1. σ is a third of the box side (the box edge sits at 1.5 σ), at least half a cell, so tiny
 * boxes still light a cell.
 */
export function boxGaussianGrid(box: [number, number, number, number], h: number, w: number): number[][] {
  const [bx, by, bw, bh] = box.map(clamp01) as [number, number, number, number];
  const cx = bx + bw / 2;
  const cy = by + bh / 2;
  const sx = Math.max(bw / 3, 0.5 / w);
  const sy = Math.max(bh / 3, 0.5 / h);
  const grid: number[][] = [];
  let sum = 0;
  for (let i = 0; i < h; i++) {
    const row: number[] = [];
    const py = (i + 0.5) / h;
    for (let j = 0; j < w; j++) {
      const px = (j + 0.5) / w;
      const v = Math.exp(-0.5 * (((px - cx) / sx) ** 2 + ((py - cy) / sy) ** 2));
      row.push(v);
      sum += v;
    }
    grid.push(row);
  }
  if (!(sum > 0)) return uniformGrid(h, w);
  return grid.map((r) => r.map((v) => v / sum));
}

/** Per snippet: face presence (0 when absent, too weak or padding), expressions (sum 1), expressiveness. */
interface FaceSnippets {
  presence: number[];
  /** [T][FACE_EXPRESSIONS.length], each row sums to 1 (or is all 0) */
  expr: number[][];
  /** presence × (1 − neutral): how much emotion each snippet's face shows */
  express: number[];
}

const NEUTRAL = FACE_EXPRESSIONS.indexOf('neutral');

/** The `face` stream: [T, FACE_LAYOUT.size] per snippet. */
type FaceStream = VideoFeatures['streams'][string];

function faceSnippets(face: FaceStream, T: number, real: boolean[], minPresence: number): FaceSnippets {
  const C = face.shape[face.shape.length - 1];
  const out: FaceSnippets = { presence: [], expr: [], express: [] };
  for (let t = 0; t < T; t++) {
    const row = face.data.subarray(t * C, t * C + C);
    let p = clamp01(row[FACE_LAYOUT.presence]);
    if (p < minPresence || !real[t]) p = 0;
    const e = FACE_LAYOUT.expressions.map((k) => clamp01(row[k]));
    const s = e.reduce((a, b) => a + b, 0);
    const en = s > 0 ? e.map((v) => v / s) : e.map(() => 0);
    if (s <= 0) p = 0; // a face without expression scores tells us nothing
    out.presence.push(p);
    out.expr.push(en);
    out.express.push(p * (1 - (en[NEUTRAL] ?? 0)));
  }
  return out;
}

/** β = softmax_t(expressiveness / τ) over the real snippets; uniform over them when no face anywhere. */
function temporalFocusOf(
  real: boolean[],
  express: number[],
  anyFace: boolean,
  temperature: number,
): number[] {
  const T = real.length;
  const realIdx = real.map((r, t) => (r ? t : -1)).filter((t) => t >= 0);
  const useIdx = realIdx.length > 0 ? realIdx : Array.from({ length: T }, (_, t) => t);
  const beta = new Array<number>(T).fill(0);
  if (anyFace) {
    const sm = softmax(useIdx.map((t) => express[t] / temperature));
    useIdx.forEach((t, i) => {
      beta[t] = sm[i];
    });
  } else {
    for (const t of useIdx) beta[t] = 1 / useIdx.length;
  }
  return beta;
}

/**
 * The Ekman-6 probabilities from the expressions pooled under β × presence: the neutral share is
 * spread evenly over the six. Warns when the evidence is thin or mostly neutral.
 */
function ekmanProbs(f: FaceSnippets, beta: number[], nReal: number, warnings: string[]): number[] {
  const pooled = new Array<number>(FACE_EXPRESSIONS.length).fill(0);
  let wsum = 0;
  for (let t = 0; t < beta.length; t++) {
    const w = beta[t] * f.presence[t];
    if (w <= 0) continue;
    wsum += w;
    for (let k = 0; k < pooled.length; k++) pooled[k] += w * f.expr[t][k];
  }
  const E = pooled.map((v) => v / wsum);
  const neutral = E[NEUTRAL] ?? 0;
  const six = EKMAN6.map((label) => {
    const expName = Object.keys(EXPRESSION_TO_EKMAN).find((k) => EXPRESSION_TO_EKMAN[k] === label) as string;
    return E[FACE_EXPRESSIONS.indexOf(expName as (typeof FACE_EXPRESSIONS)[number])] ?? 0;
  });
  const s6 = six.reduce((a, b) => a + b, 0);
  const probs = six.map((v) =>
    s6 > 0 ? (1 - neutral) * (v / s6) + neutral / EKMAN6.length : 1 / EKMAN6.length,
  );
  const facesIn = f.presence.filter((p) => p > 0).length;
  if (facesIn < nReal / 4) {
    warnings.push(
      `a face was found in only ${facesIn} of ${nReal} snippets: the answer rests on little evidence`,
    );
  }
  if (neutral > 0.6) {
    warnings.push(
      `the face looks mostly neutral (${Math.round(neutral * 100)} %): probabilities are close to uniform`,
    );
  }
  return probs;
}

/** α per snippet: a Gaussian over the face box where a face is, uniform elsewhere. [T][G][G] */
function spatialFocusOf(face: FaceStream, presence: number[], G: number): number[][][] {
  const C = face.shape[face.shape.length - 1];
  return presence.map((p, t) => {
    if (!(p > 0)) return uniformGrid(G, G);
    const row = face.data.subarray(t * C, t * C + C);
    const box = FACE_LAYOUT.box.map((k) => row[k]) as [number, number, number, number];
    return boxGaussianGrid(box, G, G);
  });
}

/** Pure: VideoFeatures (needs the `face` stream) → class probabilities, β and α. */
export function zeroShotPredict(features: VideoFeatures, options: ZeroShotOptions = {}): FocusOutput {
  const o = { ...DEFAULTS, ...options };
  const face = features.streams.face;
  const T = features.snippets.length;
  if (!face) {
    throw new Error("the zero-shot model needs the 'face' stream, and these features have none");
  }
  const C = face.shape[face.shape.length - 1];
  if (face.shape[0] !== T || C < FACE_LAYOUT.size) {
    throw new Error(`face stream has shape [${face.shape.join(',')}], expected [${T}, ${FACE_LAYOUT.size}]`);
  }
  const real = Array.from({ length: T }, (_, t) => (features.mask ? features.mask[t] > 0.5 : true));
  const nReal = real.filter(Boolean).length || T;
  const warnings: string[] = [];
  const f = faceSnippets(face, T, real, o.minPresence);
  const anyFace = f.presence.some((p) => p > 0);
  const beta = temporalFocusOf(real, f.express, anyFace, o.temperature);
  let probs: number[];
  if (!anyFace) {
    warnings.push(NO_FACE_WARNING);
    probs = EKMAN6.map(() => 1 / EKMAN6.length);
  } else probs = ekmanProbs(f, beta, nReal, warnings);
  const spatial = spatialFocusOf(face, f.presence, o.grid);
  return { probs, classes: [...EKMAN6], temporalFocus: beta, spatialFocus: { face: spatial }, warnings };
}

/** The built-in default model as a Predictor (reads only the default pack's `face` stream). */
export function zeroShotPredictor(options: ZeroShotOptions & { T?: number; K?: number } = {}): Predictor {
  return {
    descriptor: ZERO_SHOT_DESCRIPTOR,
    pack: 'default',
    streams: ['face'],
    T: options.T ?? 16,
    K: options.K ?? 1,
    streamDescriptions: {
      face: 'face: a Gaussian over the most prominent face box (zero-shot, not learned attention)',
    },
    predict: (features) => zeroShotPredict(features, options),
  };
}
