/**
 * A synthetic feature set (research/synthetic.ts) as a user's CLI sees it: a feature store
 * folder written by dfan and a `video,label,split` manifest beside it (the videos themselves are
 * absent: features suffice for train and eval).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type SyntheticSpec, syntheticSet } from '../../research/synthetic.js';
import { FeatureStore } from '../../src/features/store.js';

export async function syntheticStore(dir: string, spec: Partial<SyntheticSpec>) {
  const syn = syntheticSet(spec);
  const features = join(dir, 'feats');
  const store = await FeatureStore.open(features, { create: true });
  for (const it of syn.dataset.items) await store.save(await syn.source.load(it.key));
  await store.flush();
  const manifest = join(dir, 'manifest.csv');
  const rows = syn.dataset.items.map((i) => `${i.key},${i.label},${i.split}`);
  writeFileSync(manifest, `video,label,split\n${rows.join('\n')}\n`);
  return { syn, features, manifest };
}
