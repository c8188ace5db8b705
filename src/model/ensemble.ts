/**
 * An ensemble of runs trained on the same data with different seeds, as one predictor: class
 * probabilities, temporal focus β (and each head's) and spatial focus α are the members' means.
 * Members must share the preprocessing (same standardisation and PCA basis: trainRun fits it with
 * the data seed, not the member's seed), so one loaded feature set feeds them all.
 *
 * Why: on 96 training videos the training seed alone moves a focus run's test accuracy by up to
 * 17 points; the mean of two members' probabilities was 7.3 points above the mean member on
 * dfan's demo sets (docs/model.md, "Training defaults").
 */
import { DfanError } from '../errors.js';
import type { LoadedRun, SetPredictions, VideoPrediction } from './run.js';

function sameArray(a: Float32Array | undefined, b: Float32Array | undefined): boolean {
  if (!a || !b) return a === b;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Throw unless every member has the first one's classes and preprocessing. */
export function checkMembers(members: LoadedRun[]): void {
  const [first] = members;
  for (const [i, m] of members.entries()) {
    const where = m.dir ?? `member ${i}`;
    if (m.classes.join('\u0000') !== first.classes.join('\u0000'))
      throw new DfanError('BAD_MANIFEST', 'ensemble members have different classes', {
        file: where,
        hint: 'retrain the run: its members must come from one `dfan train`',
      });
    const names = Object.keys(first.prep.streams);
    const same =
      m.prep.T === first.prep.T &&
      Object.keys(m.prep.streams).join() === names.join() &&
      names.every((n) => {
        const a = first.prep.streams[n];
        const b = m.prep.streams[n];
        return (
          a.kind === b.kind &&
          a.D === b.D &&
          a.H === b.H &&
          a.W === b.W &&
          sameArray(a.mean, b.mean) &&
          sameArray(a.std, b.std) &&
          sameArray(a.basis, b.basis)
        );
      });
    if (!same)
      throw new DfanError('BAD_MANIFEST', 'ensemble members were fitted on different preprocessing', {
        file: where,
        hint: 'retrain the run: its members must come from one `dfan train`',
      });
  }
}

/** Element-wise mean of equally long arrays into a new Float32Array. */
export function meanOf(arrays: ArrayLike<number>[]): Float32Array {
  const out = new Float32Array(arrays[0].length);
  for (const a of arrays) for (let i = 0; i < out.length; i++) out[i] += a[i];
  for (let i = 0; i < out.length; i++) out[i] /= arrays.length;
  return out;
}

/** The members as one predictor (the first member's config, dir and model stand for the ensemble). */
export function ensemblePredictor(members: LoadedRun[]): LoadedRun {
  if (members.length === 0) throw new DfanError('INTERNAL', 'an ensemble needs at least one member');
  if (members.length === 1) return members[0];
  checkMembers(members);
  const [first] = members;
  return {
    dir: first.dir,
    config: first.config,
    classes: first.classes,
    model: first.model,
    prep: first.prep,
    predict(vf): VideoPrediction {
      const ps = members.map((m) => m.predict(vf));
      const alpha: VideoPrediction['alpha'] = {};
      for (const [name, a] of Object.entries(ps[0].alpha))
        alpha[name] = { ...a, data: meanOf(ps.map((p) => p.alpha[name].data)) };
      return {
        logits: Array.from(meanOf(ps.map((p) => p.logits))),
        probs: Array.from(meanOf(ps.map((p) => p.probs))),
        beta: Array.from(meanOf(ps.map((p) => p.beta))),
        betaHeads: ps[0].betaHeads.map((_, k) => Array.from(meanOf(ps.map((p) => p.betaHeads[k])))),
        alpha,
      };
    },
    predictSet(set, opts): SetPredictions {
      const ps = members.map((m) => m.predictSet(set, opts));
      const alpha: Record<string, Float32Array> = {};
      for (const name of Object.keys(ps[0].alpha)) alpha[name] = meanOf(ps.map((p) => p.alpha[name]));
      return {
        probs: meanOf(ps.map((p) => p.probs)),
        beta: meanOf(ps.map((p) => p.beta)),
        alpha,
        // the members' mean loss (an upper bound of the averaged model's, by convexity)
        loss: ps.reduce((a, p) => a + p.loss, 0) / ps.length,
      };
    },
    dispose() {
      for (const m of members) m.dispose();
    },
  };
}
