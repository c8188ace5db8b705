import type { Command } from 'commander';
import { register as dataset } from './dataset.js';
import { register as demo } from './demo.js';
import { register as evaluate } from './eval.js';
import { register as extract } from './extract.js';
import { register as features } from './features.js';
import { register as metrics } from './metrics.js';
import { register as pack } from './pack.js';
import { register as predict } from './predict.js';
import { register as probe } from './probe.js';
import { register as protocol } from './protocol.js';
import { register as queue } from './queue.js';
import { register as serve } from './serve.js';
import { register as snippets } from './snippets.js';
import { register as train } from './train.js';
import { register as worker } from './worker.js';

/** Verbs in the order `dfan --help` lists them. One file per verb. */
export const COMMANDS: Array<(program: Command) => void> = [
  predict,
  serve,
  demo,
  probe,
  snippets,
  extract,
  worker,
  queue,
  features,
  pack,
  train,
  evaluate,
  metrics,
  dataset,
  protocol,
];
