/**
 * A training or prediction batch for the native head, gathered from a FeatureSet into reused
 * arrays (no tensors, no garbage per step). The maps are not copied: the spatial kernel reads each
 * video's cells from the set's own array, and map dropout comes as the bits of its mask, drawn
 * from the same xorshift32 stream as FeatureSet.batch's for the same seed (src/model/map-dropout.ts),
 * so both engines see identical batches.
 */
import type { FeatureSet } from '../features.js';
import type { HeadBatch } from './head.js';
import type { Scratch } from './linalg.js';
import type { NativeKernels } from './native.js';

export interface GatherOptions {
  /** the full maps and cell means (spatial variants) */
  maps: boolean;
  /** training: map dropout rate and this batch's seed (stream i of the maps uses seed + i) */
  mapDrop?: { p: number; seed: number };
}

/** The videos at `idx`, in that order. The arrays are valid until the next gather into `sc`. */
export function gatherBatch(
  nk: NativeKernels,
  sc: Scratch,
  set: FeatureSet,
  idx: number[],
  o: GatherOptions,
): HeadBatch {
  const B = idx.length;
  const T = set.T;
  const rows = Int32Array.from(idx);
  const take = (key: string, src: Float32Array, per: number) => {
    const out = sc.get(key, B * per);
    nk.gather(src, per, rows, out);
    return out;
  };
  const batch: HeadBatch = {
    B,
    T,
    maps: {},
    cellMeans: {},
    pooled: {},
    vectors: {},
    mask: take('mask', set.mask, T),
  };
  let stream = 0;
  for (const [name, sp] of Object.entries(set.prep.streams)) {
    if (sp.kind !== 'map') {
      batch.vectors[name] = take(`${name}:vectors`, set.vectors[name], T * sp.D);
      continue;
    }
    const N = sp.H * sp.W;
    batch.pooled[name] = take(`${name}:pooled`, set.pooled[name], T * sp.D);
    if (!o.maps) continue;
    if (!set.keepMaps) throw new Error('FeatureSet was loaded without maps');
    const drop = o.mapDrop;
    let bits: Uint16Array | null = null;
    if (drop) {
      const n = B * T * N * sp.D;
      bits = sc.bits(`${name}:bits`, Math.ceil(n / 16) + 1);
      nk.maskBits(n, drop.p, (drop.seed + stream++) >>> 0, bits);
    }
    batch.maps[name] = { data: set.maps[name], rows, bits, keep: drop ? 1 / (1 - drop.p) : 1 };
    batch.cellMeans[name] = take(`${name}:cellMeans`, set.cellMeans[name], N * sp.D);
  }
  return batch;
}
