/**
 * What the model saw, for a few test videos of the demo: the key frame at dual's top-β snippet
 * with its spatial focus α over it and the photo's true box drawn, and the temporal focus β
 * against the interval the photo is shown in. Right and wrong answers are picked side by side.
 * The pictures are drawn with src/render (the heatmap of `dfan predict --html`); the strip is
 * the same SVG as the predict report's (`focusStripSvg`).
 */
import { join } from 'node:path';
import type { FocusStrip } from '../app/report.js';
import type { Region } from '../features/types.js';
import type { VideoResult } from '../model/evaluate.js';
import { drawText, overlayHeatmap, type Rgb, type RgbImage, strokeRect } from '../render/index.js';
import { onCue, topSnippet, truthOf, type VideoFocus, videoFocus } from './scores.js';
import type { FocusVideo } from './spec.js';

/** One test video as the report shows it. */
export interface ShowcaseCase {
  key: string;
  /** the true class */
  label: string;
  /** each model's answer and its probability */
  answers: Array<{ model: 'mean' | 'dual'; predicted: string; prob: number }>;
  /** dual's top-β snippet (0-based), the snippets the photo overlaps, and the key frame's time */
  top: number;
  cueSnippets: number[];
  time: number;
  /** where dual's focus landed (hit: top snippet on the cue; pointing: peak α on the box ± 1 cell) */
  focus: VideoFocus;
  /** the photo is on screen at the key frame shown (else its box is drawn dashed) */
  photoShown: boolean;
  /** key frame with dual's α at the top snippet over it and the cue box drawn */
  frame: RgbImage;
  /** dual's β per snippet, the top one accented, the photo's interval shaded */
  strip: FocusStrip;
}

/** The colour of the true box: cyan stays apart from the heatmap's purple → yellow ramp. */
const BOX: Rgb = [0, 229, 255];
/** The long side of the pictures, px (the page's column width). */
const SHOWN = 480;
/**
 * Opacity of the heatmap at its peak: above the predict report's 0.55, as dual's α is peaked
 * (a cell or two): weaker, the spot is hard to see at the page's size.
 */
const FOCUS_ALPHA = 0.75;

/**
 * Up to `n` videos dual named right and `n` it named wrong, in test order, preferring one per
 * true class so that the pairs show several classes; among the wrong ones, one whose focus
 * `missed` the photo comes first when there is one (the page then shows both kinds of error:
 * looking elsewhere, and looking at the photo but naming it wrong). Deterministic for a run.
 */
export function pickShowcase(
  videos: VideoResult[],
  n = 3,
  missed: (v: VideoResult) => boolean = () => false,
): { right: VideoResult[]; wrong: VideoResult[] } {
  const pick = (pool: VideoResult[], first: VideoResult[]) => {
    const perClass = pool.filter((v, i) => pool.findIndex((w) => w.label === v.label) === i);
    return [...new Set([...first, ...perClass, ...pool])].slice(0, n);
  };
  const wrong = videos.filter((v) => v.predicted !== v.label);
  return {
    right: pick(
      videos.filter((v) => v.predicted === v.label),
      [],
    ),
    wrong: pick(wrong, wrong.filter(missed).slice(0, 1)),
  };
}

/** Rows of an α vector [H·W] as a grid [H][W]. */
function asGrid(alpha: number[], H: number, W: number): number[][] {
  return Array.from({ length: H }, (_, r) => alpha.slice(r * W, (r + 1) * W));
}

/** The key frame with α over the region the grid spans and the cue box in its pixels (dashed when off screen). */
export function drawFocusFrame(
  frame: RgbImage,
  alpha: number[] | undefined,
  grid: { H: number; W: number },
  region: Region,
  cue: { x: number; y: number; w: number; h: number },
  photoShown: boolean,
): RgbImage {
  const img = alpha ? overlayHeatmap(frame, asGrid(alpha, grid.H, grid.W), region, FOCUS_ALPHA) : frame;
  const out: RgbImage = img === frame ? { ...frame, data: Uint8Array.from(frame.data) } : img;
  strokeRect(out, cue, BOX, 2, photoShown ? 0 : 4);
  const tag = photoShown ? 'photo' : 'photo (not shown now)';
  const y = Math.round(cue.y >= 11 ? cue.y - 10 : cue.y + cue.h + 3);
  drawText(out, tag, Math.round(Math.max(1, Math.min(cue.x, out.width - 6 * tag.length - 1))), y, {
    color: [0, 0, 0],
    background: BOX,
  });
  return out;
}

function answer(model: 'mean' | 'dual', v: VideoResult, classes: string[]) {
  return { model, predicted: v.predicted, prob: v.probs[classes.indexOf(v.predicted)] ?? 0 };
}

/**
 * The report's cases: each picked video's key frame at dual's top snippet decoded from the
 * dataset folder (scaled to a long side of SHOWN px), drawn with the focus and the truth.
 */
export async function renderShowcase(opts: {
  dual: VideoResult[];
  mean: VideoResult[];
  truth: Map<string, FocusVideo>;
  classes: string[];
  datasetDir: string;
  grid: { H: number; W: number };
  regionOf: (v: FocusVideo) => Region;
  n?: number;
}): Promise<{ right: ShowcaseCase[]; wrong: ShowcaseCase[] }> {
  const { decodeFrames } = await import('../video/decode.js');
  const meanOf = new Map(opts.mean.map((v) => [v.key, v]));
  const one = async (v: VideoResult): Promise<ShowcaseCase> => {
    const t = truthOf(opts.truth, v.key);
    const top = topSnippet(v);
    const time = v.snippets[top].keyTime;
    // drawn with the long side at SHOWN px: the focus and the box stay legible at the page's size
    const scale = SHOWN / Math.max(t.frame.width, t.frame.height);
    const [frame] = await decodeFrames(join(opts.datasetDir, t.file), [time], {
      width: Math.round(t.frame.width * scale),
      height: Math.round(t.frame.height * scale),
      mode: 'stretch',
    });
    const box = { x: t.cue.x * scale, y: t.cue.y * scale, w: t.cue.w * scale, h: t.cue.h * scale };
    const photoShown = time >= t.cue.start && time <= t.cue.end;
    const region = opts.regionOf(t);
    const m = meanOf.get(v.key);
    return {
      key: v.key,
      label: v.label,
      answers: [answer('dual', v, opts.classes), ...(m ? [answer('mean', m, opts.classes)] : [])],
      top,
      cueSnippets: v.snippets.flatMap((s, i) => (onCue(s, t.cue) ? [i] : [])),
      time,
      focus: videoFocus(v, t, opts.grid, region),
      photoShown,
      frame: drawFocusFrame(frame, v.alpha.object?.[top], opts.grid, region, box, photoShown),
      strip: {
        snippets: v.snippets.map((s, i) => ({ start: s.start, end: s.end, weight: v.beta[i] })),
        duration: v.snippets[v.snippets.length - 1]?.end,
        accent: new Set([top]),
        bands: [{ start: t.cue.start, end: t.cue.end, label: 'photo' }],
        width: 480,
        height: 110,
      },
    };
  };
  const missed = (v: VideoResult) => !onCue(v.snippets[topSnippet(v)], truthOf(opts.truth, v.key).cue);
  const picked = pickShowcase(opts.dual, opts.n ?? 3, missed);
  const right: ShowcaseCase[] = [];
  const wrong: ShowcaseCase[] = [];
  for (const v of picked.right) right.push(await one(v));
  for (const v of picked.wrong) wrong.push(await one(v));
  return { right, wrong };
}
