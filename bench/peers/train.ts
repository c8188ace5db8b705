/**
 * Training against the PyTorch peer (bench/peers/head_torch.py): one epoch of dfan's `fitModel`
 * against one epoch of the same head in PyTorch, same shapes and defaults, interleaved round by
 * round in one run (dfan, PyTorch on one thread, PyTorch on every core; `mean`, then `dual`).
 * Before timing, both sides count their parameters and the FLOPs of one step's matrix products.
 */
import { cpus } from 'node:os';
import { join } from 'node:path';
import { packShapedSpec, syntheticSet } from '../../research/synthetic.js';
import { loadTf, type Tf } from '../../src/model/backend.js';
import { type ModelConfig, resolveModelConfig, resolveTrainConfig } from '../../src/model/config.js';
import { paramSpecs } from '../../src/model/dfan.js';
import { nativeKernels, nativeStatus } from '../../src/model/engine/native.js';
import type { FeatureSet } from '../../src/model/features.js';
import { loadItems } from '../../src/model/load.js';
import { dimsOf, fitPrep } from '../../src/model/prep.js';
import { fitModel } from '../../src/model/train.js';
import { projectRoot } from '../../src/version.js';
import { fmt, medianRange, medianWallCpu, type Timing } from '../util.js';
import { PythonPeer } from './python.js';

export const SHAPES = {
  T: 16,
  grid: 7,
  mapDim: 128,
  context: 404,
  action: 111,
  face: 12,
  classes: 6,
  batch: 32,
};
export const STREAMS = ['object', 'context', 'action', 'face'];

interface Ready {
  ready?: boolean;
  error?: string;
  torch: string;
  blas: string[];
  openblas: boolean;
  params: number;
  product_flops: number | null;
  steps_per_epoch: number;
}

export interface TrainRow {
  variant: string;
  dfan: Timing;
  torch1: Timing;
  torchAll: Timing;
  tfjs?: Timing;
}

/** The Ekman-6-sized set of the issue: synthetic features, the object map as after the PCA (128 channels). */
export async function ekmanSizedSet(
  tf: Tf,
  videos: number,
  map: { grid?: number; channels?: number } = {},
): Promise<{ set: FeatureSet; classes: string[] }> {
  const g = map.grid ?? SHAPES.grid;
  // the benchmark's pack-shaped set, its object map as after the PCA
  const syn = syntheticSet({ ...packShapedSpec(videos, g), C: map.channels ?? SHAPES.mapDim });
  const items = syn.dataset.items;
  const sample = await Promise.all(items.slice(0, 128).map((i) => syn.source.load(i.key)));
  const prep = await fitPrep(tf, sample, STREAMS, 0, 0);
  const { set } = await loadItems(tf, syn.source, items, syn.dataset.classes, prep, true);
  return { set, classes: syn.dataset.classes };
}

function modelConfig(variant: 'mean' | 'dual'): ModelConfig {
  // dfan's defaults; the map is already at 128 channels (mapDim 0: no second reduction)
  return resolveModelConfig({ variant, streams: STREAMS, mapDim: 0 });
}

/** FLOPs of one native training step's matrix products (as torch's profiler counts mm, addmm, bmm). */
function dfanStepFlops(tf: Tf, set: FeatureSet, classes: string[], model: ModelConfig): number | null {
  const nk = nativeKernels() as unknown as Record<string, (...a: unknown[]) => unknown> | null;
  if (!nk) return null;
  let flops = 0;
  const gemm = nk.gemm;
  const spatial = nk.spatial;
  nk.gemm = (...a: unknown[]) => {
    const [M, N, K] = [a[2], a[3], a[4]] as number[];
    flops += 2 * M * N * K * ((a[16] as number | undefined) ?? 1);
    return gemm(...a);
  };
  nk.spatial = (...a: unknown[]) => {
    const [B, T, N, D, k, h, mode] = Array.from(a[1] as Int32Array);
    // the scorer's product (forward W x, backward dW) and the pooling of x (and x̄) or its gradient
    flops += 2 * B * T * N * (k * h + D * (mode ? 2 : 1));
    return spatial(...a);
  };
  try {
    fitModel(tf, {
      trainSet: set,
      valSet: null,
      classes,
      model,
      train: resolveTrainConfig({ epochs: 1, batchSize: SHAPES.batch, valFraction: 0, patience: 0 }),
      maxSteps: 1,
    }).predictor.dispose();
  } finally {
    nk.gemm = gemm;
    nk.spatial = spatial;
  }
  return flops;
}

/**
 * One dfan epoch, as the peer times its own: fitModel runs two epochs and the second is timed
 * (wall: the epoch as fitModel logs it; CPU of this process between the two epochs' ends), so
 * neither the model's set-up nor a first epoch's warm-up is counted, on either side.
 */
function dfanEpoch(
  tf: Tf,
  set: FeatureSet,
  classes: string[],
  model: ModelConfig,
  engine: 'native' | 'tfjs',
) {
  const marks: number[] = [];
  const fit = fitModel(tf, {
    trainSet: set,
    valSet: null,
    classes,
    model,
    train: resolveTrainConfig({ epochs: 2, batchSize: SHAPES.batch, valFraction: 0, patience: 0 }),
    engine,
    onEpoch: () => {
      const c = process.cpuUsage();
      marks.push((c.user + c.system) / 1e6);
    },
  });
  fit.predictor.dispose();
  return { wall: fit.curve[1].seconds, cpu: marks[1] - marks[0] };
}

export interface TrainOptions {
  videos: number;
  rounds: number;
  /** also time dfan's tfjs engine (the one before the native kernels) */
  tfjs: boolean;
  log: (line: string) => void;
}

const VARIANTS = ['mean', 'dual'] as const;
type PeerVariant = (typeof VARIANTS)[number];

/** Parameters and one step's matrix-product FLOPs, dfan against each peer (the work must match). */
function checkMatchedWork(
  tf: Tf,
  set: FeatureSet,
  classes: string[],
  ready: Record<string, Ready>,
  log: (l: string) => void,
) {
  log('\nmatched work (one step of batch 32): parameters and matrix-product FLOPs, dfan against PyTorch');
  for (const v of VARIANTS) {
    const model = modelConfig(v);
    const dfanParams = Object.values(paramSpecs(model, dimsOf(set.prep), classes.length)).reduce(
      (a, s) => a + s.shape.reduce((x, y) => x * y, 1),
      0,
    );
    const flops = dfanStepFlops(tf, set, classes, model);
    const tf2 = ready[v].product_flops;
    log(
      `  ${v}: parameters ${dfanParams} vs ${ready[v].params}${dfanParams === ready[v].params ? ' (equal)' : ' (DIFFER)'}; FLOPs ${flops === null ? 'n/a' : `${fmt(flops / 1e6, 1)} M`} vs ${tf2 === null ? 'n/a' : `${fmt(tf2 / 1e6, 1)} M`}${flops && tf2 ? ` (ratio ${fmt(flops / tf2, 3)})` : ''}`,
    );
  }
}

/** The interleaved rounds (the first warms up: JIT, caches, the peers' allocator). */
async function trainRounds(
  tf: Tf,
  set: FeatureSet,
  classes: string[],
  peers: Record<string, PythonPeer>,
  o: TrainOptions,
): Promise<TrainRow[]> {
  const all = cpus().length;
  const rows: TrainRow[] = VARIANTS.map((variant) => ({
    variant,
    dfan: { wall: [], cpu: [] },
    torch1: { wall: [], cpu: [] },
    torchAll: { wall: [], cpu: [] },
    ...(o.tfjs ? { tfjs: { wall: [], cpu: [] } } : {}),
  }));
  o.log(
    `\nrounds (each: dfan, PyTorch 1 thread, PyTorch ${all} threads${o.tfjs ? ', dfan on tfjs' : ''}; s/epoch wall / CPU):`,
  );
  const push = (t: Timing, x: { wall: number; cpu: number }) => {
    t.wall.push(x.wall);
    t.cpu.push(x.cpu);
  };
  for (let round = 0; round <= o.rounds; round++) {
    for (const row of rows) {
      const v = row.variant as PeerVariant;
      const model = modelConfig(v);
      const d = dfanEpoch(tf, set, classes, model, 'native');
      const t1 = await peers[v].ask<Timing>({ epochs: 1, threads: 1 });
      const tA = await peers[v].ask<Timing>({ epochs: 1, threads: all });
      const tj = o.tfjs ? dfanEpoch(tf, set, classes, model, 'tfjs') : null;
      o.log(
        `  ${round ? `round ${round}` : 'warm-up'} ${v}: dfan ${fmt(d.wall)} / ${fmt(d.cpu)}, PyTorch 1T ${fmt(t1.wall[0])} / ${fmt(t1.cpu[0])}, ${all}T ${fmt(tA.wall[0])} / ${fmt(tA.cpu[0])}${tj ? `, tfjs ${fmt(tj.wall)} / ${fmt(tj.cpu)}` : ''}`,
      );
      if (!round) continue;
      push(row.dfan, d);
      push(row.torch1, { wall: t1.wall[0], cpu: t1.cpu[0] });
      push(row.torchAll, { wall: tA.wall[0], cpu: tA.cpu[0] });
      if (tj && row.tfjs) push(row.tfjs, tj);
    }
  }
  return rows;
}

export async function trainingPeers(o: TrainOptions): Promise<TrainRow[] | null> {
  const script = join(projectRoot(), 'bench', 'peers', 'head_torch.py');
  const shape = [
    '--T',
    SHAPES.T,
    '--grid',
    SHAPES.grid,
    '--map-dim',
    SHAPES.mapDim,
    '--classes',
    SHAPES.classes,
  ];
  const args = (variant: string) => ['--variant', variant, '--videos', o.videos, ...shape].map(String);
  // the peers build their data while dfan loads its set
  const peers = Object.fromEntries(VARIANTS.map((v) => [v, new PythonPeer(script, args(v))]));
  const tf = await loadTf();
  const { set, classes } = await ekmanSizedSet(tf, o.videos);
  try {
    const ready: Record<string, Ready> = {};
    for (const v of VARIANTS) {
      ready[v] = await peers[v].next<Ready>();
      if (ready[v].error) {
        o.log(`PyTorch peer skipped: ${ready[v].error}`);
        return null;
      }
    }
    const r0 = ready.dual;
    o.log(`PyTorch ${r0.torch}; BLAS mapped into the peer: ${r0.blas.join(', ') || 'none found'}`);
    if (!r0.openblas)
      o.log(
        '  WARNING: the peer is NOT using OpenBLAS: PyTorch falls back to a reference BLAS ~50× slower; its figures mean nothing (apt-get install libopenblas0-pthread)',
      );
    o.log(`dfan engine: ${nativeStatus()}${nativeKernels() ? '' : ' → tfjs-wasm'}`);
    checkMatchedWork(tf, set, classes, ready, o.log);
    return await trainRounds(tf, set, classes, peers, o);
  } finally {
    await Promise.all(Object.values(peers).map((p) => p.close()));
  }
}

/** Per round: dfan's time over the best PyTorch time of that round (interleaved, so the same load). */
function ratios(r: TrainRow, key: 'wall' | 'cpu', peer: 'best' | 'torch1'): number[] {
  return r.dfan[key].map((d, i) => {
    const t = peer === 'best' ? Math.min(r.torch1[key][i], r.torchAll[key][i]) : r.torch1[key][i];
    return d / t;
  });
}

/** The summary table: medians over the rounds, and the ratios dfan ÷ PyTorch (median of the rounds' ratios). */
export function trainTable(rows: TrainRow[], threads: number): string[] {
  const out = [
    `| s per epoch (median wall / CPU) | dfan | PyTorch 1 thread | PyTorch ${threads} threads |${rows[0]?.tfjs ? ' dfan on tfjs-wasm |' : ''} dfan ÷ best PyTorch, wall | dfan ÷ PyTorch 1 thread, CPU |`,
    `|---|---:|---:|---:|${rows[0]?.tfjs ? '---:|' : ''}---:|---:|`,
  ];
  for (const r of rows) {
    out.push(
      `| ${r.variant} | ${medianWallCpu(r.dfan)} | ${medianWallCpu(r.torch1)} | ${medianWallCpu(r.torchAll)} |${r.tfjs ? ` ${medianWallCpu(r.tfjs)} |` : ''} **${medianRange(ratios(r, 'wall', 'best'))}** | ${medianRange(ratios(r, 'cpu', 'torch1'))} |`,
    );
  }
  return out;
}
