import type { Command } from 'commander';
import {
  AUTO_SCORE_DIM,
  DEFAULT_MODEL,
  DEFAULT_TRAIN,
  type ModelConfig,
  type TrainConfig,
  valueContrastOf,
} from '../model/config.js';
import { MIN_AUTO_EPOCHS, planSchedule } from '../model/schedule.js';
import { numberOption } from './numbers.js';

/** Every default below is read from the config objects, so a default is changed in one place. */
const M = DEFAULT_MODEL;
const T = DEFAULT_TRAIN;
const small = planSchedule(T, 96);

const EXAMPLES = `
Trains a Dual Focus Attention Network on extracted features (dfan extract); the test split
chooses nothing. The defaults adapt to the dataset's size (docs/model.md, "Training defaults"):
  - at least ${T.minSteps} optimiser steps (and ${MIN_AUTO_EPOCHS} epochs): a 96-video set trains ${small.epochs} epochs of ${Math.ceil(96 / T.batchSize)} batches;
  - a validation slice (--val-fraction of the TRAIN split) is carved only when it would hold
    ≥ ${T.minValidation} videos; epochs are then compared on validation accuracy averaged over ${T.smoothing} epochs;
  - smaller sets train on every training video and keep the weights averaged over the last
    epochs (no early stopping on a slice too small to mean anything; the log says so);
  - and, without a validation set, a vector stream (context, action, face, …) whose video means
    predict the label no better than shuffled labels do (leave-one-out) is left out: on a few
    dozen videos it would only be memorised. The log and config.json give each stream's figure;
    --streams or --no-stream-check keep them all.
One progress line per epoch (loss, train/val accuracy, seconds). Same seed + same data →
identical weights and metrics.

--observe-test also scores the test split after every epoch, as an observation only (the same
weights, byte for byte): curve.json gains testAccuracy, and config.json result.testSelected the
best epoch chosen ON the test split, which is what the public VAANet/CTEN code reports (not a fair
estimate; dfan eval prints it beside its own figure, labelled). It costs one test pass per epoch
and holds the test features in memory.

Run folder (--out): weights.safetensors, config.json (model/training config, classes, feature
pack id, result), labels.json, curve.json + curve.csv.

Variants: mean (no attention) | temporal | spatial | dual (default). Map streams with many
channels are reduced once at load time (PCA fitted on the training split, see docs/model.md).

Examples:
  $ dfan train --features feats --dataset manifest.csv --out runs/dual
  $ dfan train --features feats --dataset manifest.csv --out runs/mean --variant mean --seed 1
  $ dfan train --features feats --dataset manifest.csv --out runs/oa --streams object,action --epochs 50`;

/** a number option; its range is checked with the config it sets (src/model/config.ts) */
const num = (name: string) => numberOption(`--${name}`, { integer: false });

type CliOptions = Record<string, string | number | boolean | undefined>;

const list = (v: unknown): string[] =>
  String(v)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
const flag = (v: unknown): boolean => v === true || v === 'true';

/** The parsed options of `dfan train` as the model and training configs they ask for. */
export function trainConfigFromOptions(o: CliOptions): {
  model: Partial<ModelConfig>;
  train: Partial<TrainConfig>;
} {
  const positive = o.polarity ? list(o.polarity) : [];
  return {
    model: {
      variant: o.variant as ModelConfig['variant'],
      streams: o.streams ? list(o.streams) : undefined,
      heads: Number(o.heads),
      streamDropout: Number(o.streamDropout),
      mapDropout: Number(o.mapDropout),
      temporalEvidence: flag(o.temporalEvidence),
      focusContrast: o.focusContrast !== false,
      // a bare --value-contrast (true: its meaning before the modes) is 'on', as a saved boolean is
      valueContrast: valueContrastOf(o.valueContrast) as ModelConfig['valueContrast'],
      spatialHidden: Number(o.spatialHidden),
      temporalHidden: Number(o.temporalHidden),
      spatialScoreDim: Number(o.scoreDim),
      mapDim: Number(o.mapDim),
      spatialContext: String(o.context),
      positiveClasses: positive,
      polarityWeight: positive.length ? Number(o.polarityWeight) : M.polarityWeight,
    },
    train: {
      epochs: Number(o.epochs),
      batchSize: Number(o.batch),
      lr: Number(o.lr),
      weightDecay: Number(o.weightDecay),
      mixup: Number(o.mixup),
      ensemble: Number(o.ensemble),
      seed: Number(o.seed),
      valFraction: Number(o.valFraction),
      patience: Number(o.patience),
      minSteps: Number(o.minSteps),
      minValidation: Number(o.minValidation),
      streamCheck: o.streamCheck !== false && o.streamCheck !== 'false',
    },
  };
}

/** How long and on what: epochs, steps, batches, Adam, the ensemble, the validation slice. */
function addTrainingOptions(cmd: Command): Command {
  return cmd
    .option(
      '--epochs <n>',
      `maximum epochs (0 = auto: enough for --min-steps, at least ${MIN_AUTO_EPOCHS})`,
      num('epochs'),
      T.epochs,
    )
    .option('--min-steps <n>', 'least optimiser steps when --epochs is auto', num('min-steps'), T.minSteps)
    .option(
      '--min-validation <n>',
      'smallest validation set used to choose the epoch (smaller: none is carved)',
      num('min-validation'),
      T.minValidation,
    )
    .option('--batch <n>', 'batch size', num('batch'), T.batchSize)
    .option('--lr <x>', 'Adam learning rate', num('lr'), T.lr)
    .option(
      '--weight-decay <x>',
      `L2 penalty on weight matrices (-1 = auto: ${T.weightDecayScale}/n_train clamped to [${T.weightDecayScale}e-4, ${T.weightDecayScale}e-2])`,
      num('weight-decay'),
      T.weightDecay,
    )
    .option(
      '--mixup <s>',
      "mixup strength: mix each training video's focused vector and label with a batch partner's, own weight ≥ 1 − s/2 (0 = off; docs/model.md, Training defaults)",
      num('mixup'),
      T.mixup,
    )
    .option(
      '--ensemble <k>',
      'train k models (seeds seed … seed+k−1, side by side in worker threads) and average their probabilities and focus; 1 = a single model (docs/model.md, Training defaults)',
      num('ensemble'),
      T.ensemble,
    )
    .option(
      '--seed <n>',
      'seed of initialisation, shuffling, dropout and the validation slice',
      num('seed'),
      T.seed,
    )
    .option(
      '--val-fraction <x>',
      'share of the train split held out for early stopping',
      num('val-fraction'),
      T.valFraction,
    )
    .option(
      '--patience <n>',
      'early-stopping patience in epochs (0 = never stop early; -1 = auto: max(8, 20 % of the epochs))',
      num('patience'),
      T.patience,
    )
    .option(
      '--no-stream-check',
      'keep every vector stream even without a validation set (default: leave out those no better than chance)',
    );
}

/** The model: streams kept in training, the focus scorers and what the classifier reads. */
function addModelOptions(cmd: Command): Command {
  return cmd
    .option(
      '--stream-dropout <p>',
      'leave each stream out of a training video with this probability (0 = off)',
      num('stream-dropout'),
      M.streamDropout,
    )
    .option(
      '--map-dropout <p>',
      'zero each value of the map cells in training with this probability, so footage the training videos share stops telling them apart and the focus finds the cue (0 = off; docs/model.md "Map dropout")',
      num('map-dropout'),
      M.mapDropout,
    )
    .option('--temporal-evidence', "let the temporal focus also read the spatial focus's cell scores (dual)")
    .option(
      '--no-focus-contrast',
      "focus scorers read the raw cells / snippets only, not how they depart from the video's average",
    )
    .option(
      '--value-contrast [mode]',
      "what the classifier reads of the attended cells: off = the cells; on = what they hold beyond their video's average (a brief cue without the footage behind it, but steady content pools to nothing); both = the two side by side (docs/model.md, Value contrast)",
      M.valueContrast,
    )
    .option('--heads <n>', 'temporal focus heads', num('heads'), M.heads)
    .option(
      '--spatial-hidden <n>',
      'width h of the spatial scoring layer (its cost grows with h × cells × snippets)',
      num('spatial-hidden'),
      M.spatialHidden,
    )
    .option(
      '--temporal-hidden <n>',
      'width of the temporal scoring layer (narrower memorises less of a small training set\'s footage but can miss a weak cue: docs/model.md, "What dual still loses")',
      num('temporal-hidden'),
      M.temporalHidden,
    )
    .option(
      '--score-dim <n>',
      `leading principal components of a reduced map that the spatial scorer reads (0 = all, -1 = auto: ${AUTO_SCORE_DIM} of a map reduced to more; fewer is faster but can miss small cues)`,
      num('score-dim'),
      M.spatialScoreDim,
    )
    .option(
      '--map-dim <n>',
      'reduce map streams to this many channels by PCA (0 = never; -1 = auto: all when the training maps fit 1 GB, else 384, 256 or 128, the most that fit)',
      num('map-dim'),
      M.mapDim,
    )
    .option(
      '--context <stream>',
      "context g_t of the spatial focus: a vector stream, 'mean' or 'none'",
      M.spatialContext,
    );
}

async function trainAction(o: CliOptions): Promise<void> {
  const { resolve } = await import('node:path');
  const { openDataset } = await import('../data/open.js');
  const { trainRun } = await import('../model/train-run.js');
  const split = Number(o.split);
  const src = await openDataset(String(o.dataset));
  const dataset = src.load(split);
  const log = (l: string) => process.stderr.write(`${l}\n`);
  log(
    `dataset ${dataset.name}: ${dataset.items.length + dataset.missing.length} items, ${dataset.classes.length} classes`,
  );
  const r = await trainRun({
    features: String(o.features),
    dataset,
    // recorded in the run, so that `dfan eval --run RUN` finds the dataset alone
    datasetRef: { path: resolve(String(o.dataset)), split },
    out: String(o.out),
    ...trainConfigFromOptions(o),
    observeTest: o.observeTest === true,
    log,
  });
  r.predictor.dispose();
  const va = r.valAccuracy === null ? 'n/a' : `${(100 * r.valAccuracy).toFixed(1)} %`;
  process.stdout.write(
    `trained ${r.curve.length} epochs (best ${r.bestEpoch}, val acc ${va}) in ${(r.loadSeconds + r.trainSeconds).toFixed(1)} s → ${r.runDir}\n`,
  );
  if (r.testSelected) {
    const { testSelectedLine } = await import('../model/test-selected.js');
    process.stdout.write(`${testSelectedLine(r.testSelected)}\n`);
  }
  if (r.skipped.length)
    process.stdout.write(`${r.skipped.length} video(s) skipped: see ${r.runDir}/config.json\n`);
  process.stdout.write(`next: dfan eval --run ${r.runDir}\n`);
}

export function register(program: Command): void {
  const cmd = program
    .command('train')
    .description('train DFAN on extracted features: Adam, steps and validation sized to the dataset')
    .requiredOption('--features <dir>', 'feature folder written by `dfan extract`')
    .requiredOption(
      '--dataset <manifest>',
      'dataset: CSV video,label,split, a folder per class, or a list folder',
    )
    .requiredOption('--out <dir>', 'run folder to write')
    .option('--variant <name>', 'mean | temporal | spatial | dual', M.variant)
    .option('--streams <list>', 'comma-separated streams to use (default: all in the features)');
  addModelOptions(addTrainingOptions(cmd))
    .option(
      '--split <n>',
      'split number for datasets with several splits',
      numberOption('--split', { min: 1 }),
      1,
    )
    .option(
      '--observe-test',
      'also score the test split after every epoch, as an observation that changes nothing: records the test-selected figure (best epoch on the test split, as VAANet/CTEN code does; not a fair estimate)',
    )
    .option('--polarity <classes>', 'polarity-aware loss: comma-separated positive classes')
    .option('--polarity-weight <x>', 'weight of the polarity loss', num('polarity-weight'), 0.5)
    .addHelpText('after', EXAMPLES)
    .action(trainAction);
}
