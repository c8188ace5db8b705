/**
 * How long to train and which weights to keep, from the dataset's size: the rule behind the
 * defaults of `dfan train`, `dfan protocol` and `dfan demo` (docs/model.md, "Training defaults").
 *
 * - Steps, not epochs: at least `minSteps` optimiser steps whatever the size (a 96-video set
 *   has 3 batches an epoch: 30 epochs were 90 steps, far too few), at least 30 epochs.
 * - A validation slice is carved from the training split only when it holds at least
 *   `minValidation` videos: on 8–10 videos accuracy jumps by 10 points per video and early
 *   stopping keeps a lucky epoch. Smaller sets train on every training video and keep the
 *   average of the weights over the last epochs (no selection at all).
 * - Weight decay c/n (c = weightDecayScale, 2; clamped to [c·1e-4, c·1e-2]): a fixed prior over
 *   the weights, against a mean loss over n videos; 96 videos get 0.02, an Ekman-6 split ~0.003,
 *   5,000 videos 4e-4. A stronger prior keeps a small set from being memorised, but it also holds
 *   the model longer on the plateau before the focus finds a weak cue: c = 3 never left it on 4
 *   of 8 seeds of a synthetic 96-video set, c = 2 left it on all 8 (docs/model.md).
 * - With a validation set, epochs are compared on validation accuracy averaged over a window of
 *   epochs (ties: the window's mean validation loss), so one video flipping does not pick the epoch.
 */
import type { TrainConfig } from './config.js';

/** the fewest epochs an automatic schedule trains, however few steps `minSteps` asks for */
export const MIN_AUTO_EPOCHS = 30;

export interface TrainSchedule {
  epochs: number;
  /** choose the epoch on the validation set (else: average the last epochs' weights) */
  select: boolean;
  /** epochs without improvement of the smoothed validation score before stopping (0 = never) */
  patience: number;
  /** carve a validation slice of valFraction from the training split */
  carveValidation: boolean;
  /** epochs whose end-of-epoch weights are averaged when nothing selects (no validation) */
  averageLast: number;
  /** epochs in the validation smoothing window */
  window: number;
  /** L2 weight decay (the setting, or c/n clamped to [c·1e-4, c·1e-2] when auto) */
  weightDecay: number;
  /** why, in one line for the log */
  note: string;
}

/** The schedule for `nTrain` training videos (before any validation slice is carved). */
export function planSchedule(
  tcfg: Pick<
    TrainConfig,
    | 'epochs'
    | 'batchSize'
    | 'patience'
    | 'valFraction'
    | 'minSteps'
    | 'minValidation'
    | 'smoothing'
    | 'weightDecay'
    | 'weightDecayScale'
  >,
  nTrain: number,
  opts: { hasOwnValidation?: number } = {},
): TrainSchedule {
  const own = opts.hasOwnValidation ?? 0;
  const slice = Math.round(nTrain * tcfg.valFraction);
  const valSize = own > 0 ? own : tcfg.valFraction > 0 ? slice : 0;
  const useVal = valSize >= tcfg.minValidation && valSize > 0;
  const carve = own === 0 && useVal;
  const trainN = Math.max(1, carve ? nTrain - slice : nTrain);
  const perEpoch = Math.max(1, Math.ceil(trainN / tcfg.batchSize));
  const epochs =
    tcfg.epochs > 0 ? tcfg.epochs : Math.max(MIN_AUTO_EPOCHS, Math.ceil(tcfg.minSteps / perEpoch));
  const patience = !useVal ? 0 : tcfg.patience >= 0 ? tcfg.patience : Math.max(8, Math.round(0.2 * epochs));
  const c = tcfg.weightDecayScale;
  const weightDecay =
    tcfg.weightDecay >= 0 ? tcfg.weightDecay : Math.min(c * 1e-2, Math.max(c * 1e-4, c / trainN));
  const averageLast = useVal ? 1 : Math.max(1, Math.min(10, Math.round(epochs / 10)));
  const why = useVal
    ? `validation: ${valSize} videos${own > 0 ? ' (the dataset’s val split)' : ` carved from the training split`}; epochs compared on accuracy${tcfg.smoothing > 1 ? ` averaged over ${tcfg.smoothing} epochs` : ''}, ${patience > 0 ? `patience ${patience}` : 'no early stop'}`
    : valSize > 0
      ? `no early stopping: a validation set of ${valSize} videos is too small to choose an epoch (< ${tcfg.minValidation}); ${own > 0 ? 'it is only reported' : 'every training video trains'}, and the weights averaged over the last ${averageLast} epochs are kept`
      : `no validation set: the weights averaged over the last ${averageLast} epochs are kept`;
  return {
    epochs,
    select: useVal,
    patience,
    carveValidation: carve,
    averageLast,
    window: tcfg.smoothing,
    weightDecay,
    note: `${epochs} epochs × ${perEpoch} steps (≥ ${tcfg.minSteps} steps${tcfg.epochs > 0 ? ', epochs as given' : ''}); weight decay ${weightDecay.toPrecision(2)}${tcfg.weightDecay >= 0 ? '' : ` (${c}/n)`}; ${why}`,
  };
}

/** Mean of the last `window` entries ending at index i (fewer at the start). */
export function trailingMean(xs: number[], i: number, window: number): number {
  const from = Math.max(0, i - window + 1);
  let s = 0;
  for (let j = from; j <= i; j++) s += xs[j];
  return s / (i - from + 1);
}
