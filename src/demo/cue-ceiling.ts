/**
 * The demo's cue ceiling: how well the object map names a photo when it is told where and when the
 * photo is ("what perfect focus would give"). Each video's feature is the object map's cells under the cue box (weighted by the share
 * of each cell the box covers), averaged over the snippets whose key frame shows the cue; a ridge
 * classifier fitted on the training videos names the test videos. Its λ is chosen by leaving one
 * photo out at a time (all the training videos that show it), as the test videos show photos never
 * seen in training: leaving one video out let a second video of the same photo vote for a λ that
 * fits photos, not classes (docs/probe.md, "The cue probe's λ": the cue ceiling's earlier name).
 *
 * It is what a linear classifier on the backbone's cells does with perfect focus (a reference, not a
 * bound: a trained head pools and classifies differently and can beat it):
 * the gap between it and `dual` is what the focus loses; the gap between it and 100 % is what the
 * backbone (and the number of training photos) does not give.
 */
import { join } from 'node:path';
import type { Region, SnippetTimes, StreamTensor } from '../features/types.js';
import { fitRidgeClassifier, fitStandardiser, groupIndices } from '../model/ridge.js';
import type { FocusVideo } from './spec.js';

export interface CueCeiling {
  /** test accuracy of the ridge classifier on the cue features */
  accuracy: number;
  /** test videos scored */
  n: number;
  /** training videos it was fitted on */
  trainN: number;
  /** chosen λ (multiple of the mean squared norm) and the leave-one-photo-out accuracy that chose it */
  lambda: number;
  looAccuracy: number;
}

/** Share of each cell of an H×W grid spanning `region` of the frame that the cue box covers. */
export function cueCellWeights(
  v: Pick<FocusVideo, 'cue' | 'frame'>,
  H: number,
  W: number,
  region: Region,
): Float64Array {
  const x0 = region[0] * v.frame.width;
  const y0 = region[1] * v.frame.height;
  const cw = ((region[2] - region[0]) * v.frame.width) / W;
  const ch = ((region[3] - region[1]) * v.frame.height) / H;
  const w = new Float64Array(H * W);
  for (let r = 0; r < H; r++) {
    for (let c = 0; c < W; c++) {
      const ox = Math.min(x0 + (c + 1) * cw, v.cue.x + v.cue.w) - Math.max(x0 + c * cw, v.cue.x);
      const oy = Math.min(y0 + (r + 1) * ch, v.cue.y + v.cue.h) - Math.max(y0 + r * ch, v.cue.y);
      if (ox > 0 && oy > 0) w[r * W + c] = (ox * oy) / (cw * ch);
    }
  }
  return w;
}

/** Snippets whose key frame lies inside the cue interval (else the one nearest its middle). */
export function cueSnippets(snippets: SnippetTimes[], cue: { start: number; end: number }): number[] {
  const inside = snippets.flatMap((s, t) => (s.keyTime >= cue.start && s.keyTime <= cue.end ? [t] : []));
  return inside.length ? inside : [nearestCueSnippet(snippets, cue)];
}

/** The snippet whose key frame is nearest the middle of the cue interval (the first of a tie). */
export function nearestCueSnippet(
  snippets: ReadonlyArray<Pick<SnippetTimes, 'keyTime'>>,
  cue: { start: number; end: number },
): number {
  const mid = (cue.start + cue.end) / 2;
  let best = 0;
  snippets.forEach((s, t) => {
    if (Math.abs(s.keyTime - mid) < Math.abs(snippets[best].keyTime - mid)) best = t;
  });
  return best;
}

/** The cue feature of one video: its [T,H,W,C] map pooled under the cue box at the cue snippets. */
export function cueFeature(
  map: StreamTensor,
  snippets: SnippetTimes[],
  v: Pick<FocusVideo, 'cue' | 'frame'>,
  region: Region,
): Float64Array {
  const [, H, W, C] = map.shape;
  const w = cueCellWeights(v, H, W, region);
  const ts = cueSnippets(snippets, v.cue);
  let total = 0;
  for (const x of w) total += x;
  const out = new Float64Array(C);
  if (total === 0) return out;
  for (const t of ts) {
    for (let i = 0; i < H * W; i++) {
      if (w[i] === 0) continue;
      const k = w[i] / (total * ts.length);
      const base = (t * H * W + i) * C;
      for (let c = 0; c < C; c++) out[c] += k * map.data[base + c];
    }
  }
  return out;
}

/** A video's object map and snippet times, as the feature store holds them (null: none). */
export type MapLoader = (v: FocusVideo) => Promise<{ map: StreamTensor; snippets: SnippetTimes[] } | null>;

/**
 * Fit on the training videos' cue features, score the test videos'. `regionOf` gives the frame
 * region the object grid spans (from the feature files). Null when a split has too few videos.
 */
export async function cueCeiling(
  videos: FocusVideo[],
  classes: string[],
  load: MapLoader,
  regionOf: (v: FocusVideo) => Region,
): Promise<CueCeiling | null> {
  const rows: { split: string; label: number; photo: string; x: Float64Array }[] = [];
  for (const v of videos) {
    const f = await load(v);
    if (f?.map.shape.length !== 4) continue;
    rows.push({
      split: v.split,
      label: classes.indexOf(v.label),
      photo: v.photo.path,
      x: cueFeature(f.map, f.snippets, v, regionOf(v)),
    });
  }
  const train = rows.filter((r) => r.split === 'train');
  const test = rows.filter((r) => r.split === 'test');
  if (train.length < 3 || test.length === 0) return null;
  const st = fitStandardiser(train.map((r) => r.x));
  const ridge = fitRidgeClassifier(
    train.map((r) => st.apply(r.x)),
    train.map((r) => r.label),
    classes.length,
    undefined,
    groupIndices(train.map((r) => r.photo)),
  );
  const ok = test.filter((r) => ridge.predict(st.apply(r.x)) === r.label).length;
  return {
    accuracy: ok / test.length,
    n: test.length,
    trainN: train.length,
    lambda: ridge.lambda,
    looAccuracy: ridge.looAccuracy,
  };
}

/** The loader for a feature folder written by `dfan extract` (stream `object` by default). */
export function storeMapLoader(featuresDir: string, stream = 'object'): MapLoader {
  return async (v) => {
    const { readFeatures, fileNameForKey } = await import('../features/store.js');
    const f = await readFeatures(join(featuresDir, fileNameForKey(v.key)));
    const map = f.streams[stream];
    return map ? { map, snippets: f.snippets } : null;
  };
}
