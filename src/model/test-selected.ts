/**
 * The test-selected figure: the test accuracy of the best epoch chosen ON THE TEST SPLIT, which is
 * what the public VAANet, CTEN, MART and LRCANet training scripts report (they keep the best test
 * accuracy over epochs). dfan chooses its weights without the test split (train.ts); this figure
 * is recorded beside its own as an observation that changes nothing, so that a run can be set
 * beside a published table like for like. It is optimistic by construction (the maximum of many
 * noisy test scores), hence never a fair estimate. Pure: no tensors, no files.
 */
import { argmax } from '../data/metrics.js';
import { DfanError } from '../errors.js';
import { jsonTag } from '../util/hash.js';
import { meanOf } from './ensemble.js';

/** How every output labels the figure. */
export const TEST_SELECTED_NOTE =
  'best epoch on the test split, as VAANet/CTEN code does; not a fair estimate';

/** What one model saw of the test split after each epoch (nothing in training reads it). */
export interface TestObservation {
  /** the observed test videos (listed test videos with readable features), in row order */
  keys: string[];
  /** [n] class index of each video */
  labels: number[];
  /** class count k */
  classes: number;
  /** per epoch (index 0 = epoch 1): class probabilities [n, k] */
  probs: Float32Array[];
}

/** The figure as a run (config.json `result.testSelected`) and a protocol split record it. */
export interface TestSelected {
  accuracy: number;
  /** 1-based; the first epoch reaching the best accuracy (a later tie does not replace it) */
  epoch: number;
  /** test accuracy after each epoch (index 0 = epoch 1); an ensemble's when members > 1 */
  perEpoch: number[];
  /** test videos observed */
  n: number;
  /** tag of the observed test keys: a later evaluation shows the figure only on the same videos */
  testKeys: string;
  /** models whose probabilities were averaged per epoch (1 = a single model) */
  members: number;
  note: string;
}

/** Share of rows of `probs` [n, k] whose largest probability is at the true label. */
export function accuracyOf(probs: Float32Array, labels: readonly number[], k: number): number {
  if (!labels.length) return 0;
  let hits = 0;
  for (let i = 0; i < labels.length; i++)
    if (argmax(probs.subarray(i * k, (i + 1) * k)) === labels[i]) hits++;
  return hits / labels.length;
}

/** The stable tag of a set of video keys (order does not matter). */
export function keysTag(keys: readonly string[]): string {
  return jsonTag([...keys].sort());
}

/**
 * The figure from one model's observation, or from an ensemble's members' (the members'
 * probabilities averaged per epoch, as the ensemble predicts). Members that stopped early end the
 * range: only epochs every member trained are compared. Null when nothing was observed.
 */
export function selectOnTest(observations: readonly TestObservation[]): TestSelected | null {
  const [first] = observations;
  if (!first?.keys.length) return null;
  for (const o of observations) {
    if (o.keys.length !== first.keys.length || o.keys.some((key, i) => key !== first.keys[i]))
      throw new DfanError('INTERNAL', 'ensemble members observed different test videos', {
        hint: 'retrain the run: its members must come from one `dfan train`',
      });
  }
  const epochs = Math.min(...observations.map((o) => o.probs.length));
  const k = first.classes;
  const perEpoch: number[] = [];
  for (let e = 0; e < epochs; e++) {
    // averaged exactly as the ensemble's predictSet averages them
    perEpoch.push(accuracyOf(meanOf(observations.map((o) => o.probs[e])), first.labels, k));
  }
  if (!perEpoch.length) return null;
  let best = 0;
  for (let e = 1; e < perEpoch.length; e++) if (perEpoch[e] > perEpoch[best]) best = e;
  return {
    accuracy: perEpoch[best],
    epoch: best + 1,
    perEpoch,
    n: first.keys.length,
    testKeys: keysTag(first.keys),
    members: observations.length,
    note: TEST_SELECTED_NOTE,
  };
}

/** The labelled figure, as the CLI and the logs print it. */
export function testSelectedLine(t: TestSelected): string {
  return `test-selected (${t.note}): ${(100 * t.accuracy).toFixed(1)} % at epoch ${t.epoch}${t.members > 1 ? ` (${t.members} models averaged)` : ''}`;
}
