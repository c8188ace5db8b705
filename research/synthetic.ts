/**
 * Synthetic feature sets for tests and benchmarks: videos whose class is carried by a cue that
 * sits in a few cells of a few snippets of the object map, over noise. Everything is seeded.
 */

import type { Dataset, DatasetItem, SplitName } from '../src/data/types.js';
import type { VideoFeatures } from '../src/features/types.js';
import type { FeatureSource } from '../src/model/features.js';
import { rng } from '../src/util/random.js';

export interface SyntheticSpec {
  videos: number;
  classes: number;
  T: number;
  H: number;
  W: number;
  /** object map channels */
  C: number;
  /** extra vector streams and their widths, e.g. { action: 64, face: 12 }; `context` may be a vector */
  vectors: Record<string, number>;
  /** snippets that carry the cue (consecutive), and cells (square side) */
  cueSnippets: number;
  cueSide: number;
  /** cue strength relative to the unit noise */
  strength: number;
  /** share of videos in the test split (rest train) */
  testFraction: number;
  /** some videos get only this many real snippets (rest padded, mask 0); 0 = all full */
  shortT: number;
  /** 'gauss' (tests) or 'uniform' (benchmarks: ~5× cheaper to generate, same variance) */
  noise: 'gauss' | 'uniform';
  seed: number;
}

export const DEFAULT_SYNTHETIC: SyntheticSpec = {
  videos: 120,
  classes: 3,
  T: 8,
  H: 4,
  W: 4,
  C: 32,
  vectors: { action: 8 },
  cueSnippets: 1,
  cueSide: 1,
  strength: 3,
  testFraction: 0.3,
  shortT: 0,
  noise: 'gauss',
  seed: 1,
};

/**
 * The weak-cue set of `npm run bench -- schedule` and the training-defaults test: a cue in 2 of 16
 * snippets and 1 of 49 cells, 4 classes, a third held out for test, so `trainVideos` train. Training
 * sits on a plateau until the focus finds the cue (docs/model.md, "Training defaults").
 */
export function weakCueSpec(trainVideos: number): Partial<SyntheticSpec> {
  return {
    videos: Math.round(trainVideos * 1.5),
    classes: 4,
    T: 16,
    H: 7,
    W: 7,
    C: 64,
    vectors: { action: 16 },
    cueSnippets: 2,
    cueSide: 1,
    strength: 1.5,
    testFraction: 1 / 3,
    seed: 7,
  };
}

/**
 * Features shaped like the default pack's (T = 16, object map grid×grid×1280, context 404, action
 * 111, face 12) over 6 classes, a weak cue in 2 snippets and 2×2 cells, cheap uniform noise, all
 * training videos: the sets of `npm run bench -- train`, `observe-test` and (object map at 128
 * channels, as after the PCA) `peers` and `profile`.
 */
export function packShapedSpec(videos: number, grid = 7): Partial<SyntheticSpec> {
  return {
    videos,
    classes: 6,
    T: 16,
    H: grid,
    W: grid,
    C: 1280,
    vectors: { context: 404, action: 111, face: 12 },
    cueSnippets: 2,
    cueSide: 2,
    strength: 1,
    testFraction: 0,
    noise: 'uniform',
    seed: 7,
  };
}

export interface SyntheticVideoTruth {
  /** snippet indices that carry the cue */
  snippets: number[];
  /** cells (row-major indices) that carry the cue */
  cells: number[];
}

export interface SyntheticSet {
  dataset: Dataset;
  source: FeatureSource;
  truth: Map<string, SyntheticVideoTruth>;
  spec: SyntheticSpec;
}

/**
 * Build the set lazily: each video's features are generated (deterministically from its index)
 * when loaded, so an Ekman-6-sized set never has to sit in memory at full width.
 */
export function syntheticSet(partial: Partial<SyntheticSpec> = {}): SyntheticSet {
  const spec: SyntheticSpec = { ...DEFAULT_SYNTHETIC, ...partial };
  const { T, H, W, C } = spec;
  const N = H * W;
  const classes = Array.from({ length: spec.classes }, (_, i) => `class${i}`);
  // class directions in channel space (fixed per seed)
  const r0 = rng(spec.seed);
  const dirs = classes.map(() => {
    const d = new Float32Array(C);
    let n = 0;
    for (let c = 0; c < C; c++) {
      d[c] = r0() - 0.5;
      n += d[c] * d[c];
    }
    for (let c = 0; c < C; c++) d[c] /= Math.sqrt(n / C);
    return d;
  });
  const items: DatasetItem[] = [];
  const truth = new Map<string, SyntheticVideoTruth>();
  const meta = new Map<
    string,
    { label: number; t0: number; y0: number; x0: number; real: number; index: number }
  >();
  const r1 = rng(spec.seed + 1);
  for (let v = 0; v < spec.videos; v++) {
    const label = v % spec.classes;
    const key = `${classes[label]}/v${String(v).padStart(5, '0')}`;
    const real = spec.shortT > 0 && v % 4 === 3 ? spec.shortT : T;
    const t0 = Math.floor(r1() * (real - spec.cueSnippets + 1));
    const y0 = Math.floor(r1() * (H - spec.cueSide + 1));
    const x0 = Math.floor(r1() * (W - spec.cueSide + 1));
    const split: SplitName = r1() < spec.testFraction ? 'test' : 'train';
    items.push({ key, video: null, label: classes[label], split });
    meta.set(key, { label, t0, y0, x0, real, index: v });
    const cells: number[] = [];
    for (let y = y0; y < y0 + spec.cueSide; y++)
      for (let x = x0; x < x0 + spec.cueSide; x++) cells.push(y * W + x);
    truth.set(key, { snippets: Array.from({ length: spec.cueSnippets }, (_, i) => t0 + i), cells });
  }
  const source: FeatureSource = {
    async load(key, streams) {
      const m = meta.get(key);
      if (!m) throw new Error(`no synthetic video "${key}"`);
      const r = rng(spec.seed * 7919 + m.index + 3);
      const gauss =
        spec.noise === 'uniform'
          ? () => (r() - 0.5) * 3.4641016
          : () => {
              const u = r() || 1e-9;
              return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
            };
      const want = (s: string) => !streams || streams.includes(s);
      const vf: VideoFeatures = {
        meta: {
          source: key,
          key,
          sourceSize: 0,
          sourceHash: '',
          duration: T,
          packId: 'synthetic@1',
          configHash: 'synthetic',
          dfanVersion: '0',
          createdAt: '1970-01-01T00:00:00Z',
          streams: [{ name: 'object', kind: 'map', backbone: 'synthetic', description: 'synthetic cue map' }],
          warnings: [],
        },
        snippets: Array.from({ length: T }, (_, t) => ({ start: t, end: t + 1, keyTime: t + 0.5 })),
        streams: {},
      };
      if (want('object')) {
        const data = new Float32Array(T * N * C);
        for (let i = 0; i < data.length; i++) data[i] = gauss();
        const d = dirs[m.label];
        const tr = truth.get(key)!;
        for (const t of tr.snippets) {
          for (const cell of tr.cells) {
            const off = (t * N + cell) * C;
            for (let c = 0; c < C; c++) data[off + c] += spec.strength * d[c];
          }
        }
        vf.streams.object = { shape: [T, H, W, C], data };
      }
      for (const [name, width] of Object.entries(spec.vectors)) {
        if (!want(name)) continue;
        const data = new Float32Array(T * width);
        for (let i = 0; i < data.length; i++) data[i] = gauss();
        vf.streams[name] = { shape: [T, width], data };
        vf.meta.streams.push({ name, kind: 'vector', backbone: 'synthetic', description: 'noise' });
      }
      if (m.real < T) {
        vf.mask = new Float32Array(T);
        vf.mask.fill(1, 0, m.real);
        for (const s of Object.values(vf.streams)) {
          const per = s.data.length / T;
          s.data.fill(0, m.real * per);
        }
      }
      return vf;
    },
  };
  return { dataset: { name: 'synthetic', classes, items, missing: [] }, source, truth, spec };
}
