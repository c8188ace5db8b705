/**
 * Worker-thread entry that trains one ensemble member (trainRun with ensemble 1) into its own run
 * folder, so members train side by side on separate cores (tfjs-wasm trains on one thread).
 * Message back: { ok: true } (with what it observed of the test split, when asked) or
 * { ok: false, message, hint }.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Dataset } from '../data/types.js';
import { DfanError } from '../errors.js';
import type { ModelConfig, TrainConfig } from './config.js';
import type { TestObservation } from './test-selected.js';

export interface MemberJob {
  features: string;
  dataset: Dataset;
  out: string;
  model: Partial<ModelConfig>;
  train: Partial<TrainConfig>;
  dataSeed: number;
  observeTest: boolean;
}

export type MemberReply =
  | { ok: true; testObservation: TestObservation | null }
  | { ok: false; message: string; hint?: string };

async function main(job: MemberJob): Promise<MemberReply> {
  const { trainRun } = await import('./train-run.js');
  try {
    const r = await trainRun({
      features: job.features,
      dataset: job.dataset,
      out: job.out,
      model: job.model,
      train: { ...job.train, ensemble: 1 },
      dataSeed: job.dataSeed,
      observeTest: job.observeTest,
    });
    r.predictor.dispose();
    return { ok: true, testObservation: r.testObservation };
  } catch (e) {
    return {
      ok: false,
      message: e instanceof Error ? e.message : String(e),
      hint: e instanceof DfanError ? e.hint : undefined,
    };
  }
}

if (parentPort && workerData) {
  const port = parentPort;
  main(workerData as MemberJob).then((reply) => port.postMessage(reply));
}
