/** Shared set-up for the model tests: a tiny preprocessed synthetic set and a model over it. */

import { type SyntheticSpec, syntheticSet } from '../../research/synthetic.js';
import { initParams } from '../../src/model/architecture.js';
import { loadTf, type Tf } from '../../src/model/backend.js';
import { type ModelConfig, resolveModelConfig } from '../../src/model/config.js';
import { Dfan, paramSpecs } from '../../src/model/dfan.js';
import { FeatureSet } from '../../src/model/features.js';
import { dimsOf, fitPrep } from '../../src/model/prep.js';

export async function tinySet(spec: Partial<SyntheticSpec> = {}, mapDim = 0) {
  const tf = await loadTf();
  const syn = syntheticSet({
    videos: 12,
    T: 6,
    H: 3,
    W: 3,
    C: 8,
    vectors: { action: 4, face: 3 },
    shortT: 3,
    ...spec,
  });
  const items = syn.dataset.items;
  const vfs = await Promise.all(items.map((i) => syn.source.load(i.key)));
  const prep = await fitPrep(tf, vfs, ['object', 'action', 'face'], mapDim, 0);
  const set = new FeatureSet(prep, items.length, true);
  vfs.forEach((vf, i) => {
    set.add(tf, vf, syn.dataset.classes.indexOf(items[i].label));
  });
  return { tf, syn, vfs, prep, set };
}

export function makeModel(
  tf: Tf,
  set: FeatureSet,
  classes: string[],
  cfg: Partial<ModelConfig>,
  seed = 0,
): Dfan {
  const mcfg = resolveModelConfig({ streams: ['object', 'action', 'face'], dropout: 0, ...cfg });
  const dims = dimsOf(set.prep);
  return new Dfan(tf, mcfg, dims, classes, initParams(paramSpecs(mcfg, dims, classes.length), seed));
}
