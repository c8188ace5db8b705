/**
 * Training an ensemble: K members on the same data and preprocessing (data seed = the first
 * member's seed), seeds seed … seed + K − 1. From a feature folder the others train in worker
 * threads (train-member.ts) while the first trains here; from an in-memory source they train one
 * after another. The first member's folder is the run; the others go to <run>/members/<i> and
 * config.json lists them. Predictions average the members (ensemble.ts), and so does the
 * test-selected figure when the test split is observed (test-selected.ts).
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { TrainConfig } from './config.js';
import { ensemblePredictor } from './ensemble.js';
import { type LoadedRun, loadRun, writeRunConfig } from './run.js';
import { selectOnTest, type TestObservation, testSelectedLine } from './test-selected.js';
import type { MemberJob, MemberReply } from './train-member.js';
import type { TrainResult, TrainRunOptions } from './train-run.js';

/** Trains one model with the given (resolved) training config. */
export type TrainOne = (opts: TrainRunOptions, tcfg: TrainConfig) => Promise<TrainResult>;

/** Where the members' run folders go. */
interface MemberPlan {
  seeds: number[];
  dataSeed: number;
  /** the run folder, if any */
  runDir: string | null;
  /** the workers' folders when the run is kept in memory (removed at the end) */
  tmp: string | null;
  /** members after the first, relative to runDir ?? tmp */
  memberDirs: string[];
}

export async function trainEnsemble(
  opts: TrainRunOptions,
  tcfg: TrainConfig,
  trainOne: TrainOne,
): Promise<TrainResult> {
  const log = opts.log ?? (() => {});
  const K = tcfg.ensemble;
  const seeds = Array.from({ length: K }, (_, i) => tcfg.seed + i);
  const parallel = typeof opts.features === 'string';
  log(
    `ensemble: ${K} models (seeds ${seeds.join(', ')}) on the same data, ${parallel ? 'the others in worker threads beside the first' : 'one after another'}; predictions average their probabilities and focus (--ensemble 1: one model)`,
  );
  const t0 = performance.now();
  const runDir = opts.out ? resolve(opts.out) : null;
  const plan: MemberPlan = {
    seeds,
    dataSeed: opts.dataSeed ?? tcfg.seed,
    runDir,
    // workers write their run folders: under the run, or in a temporary folder for an in-memory run
    tmp: parallel && !runDir ? mkdtempSync(join(tmpdir(), 'dfan-ensemble-')) : null,
    memberDirs: seeds.slice(1).map((_, i) => join('members', String(i + 1))),
  };
  if (runDir) rmSync(join(runDir, 'members'), { recursive: true, force: true });
  // a member: the same settings, its own seed, one model
  const member = (seed: number): TrainConfig => ({ ...tcfg, seed, ensemble: 1 });
  const others = parallel ? startWorkers(opts, plan, member) : [];
  let first: TrainResult;
  try {
    first = await trainOne({ ...opts, dataSeed: plan.dataSeed }, member(seeds[0]));
  } catch (e) {
    for (const o of others) o.stop();
    if (plan.tmp) rmSync(plan.tmp, { recursive: true, force: true });
    throw e;
  }
  const members: LoadedRun[] = [first.predictor];
  // what each kept member observed of the test split, in member order (when it was observed)
  const seen: Array<TestObservation | null> = [first.testObservation];
  let kept: string[];
  try {
    kept = parallel
      ? await collectWorkers(others, plan, { members, seen }, log)
      : await trainInTurn(opts, plan, { members, seen }, trainOne, member);
  } catch (e) {
    for (const m of members) m.dispose();
    throw e;
  } finally {
    if (plan.tmp) rmSync(plan.tmp, { recursive: true, force: true });
  }
  const predictor = ensemblePredictor(members);
  const testSelected = ensembleTestSelected(seen, predictor, log);
  if (runDir && kept.length) {
    // the first member's config.json, now listing the others (and the ensemble's test-selected figure)
    predictor.config.members = kept;
    predictor.config.train = { ...predictor.config.train, ensemble: K };
    writeRunConfig(runDir, predictor.config);
  }
  log(
    `ensemble: ${members.length} of ${K} models trained in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  return {
    ...first,
    predictor,
    testSelected,
    trainSeconds: (performance.now() - t0) / 1000 - first.loadSeconds,
  };
}

/**
 * The ensemble's test-selected figure (its members' probabilities averaged per epoch, as it
 * predicts), recorded in the run's config; null when the test split was not observed.
 */
function ensembleTestSelected(
  seen: Array<TestObservation | null>,
  predictor: LoadedRun,
  log: (line: string) => void,
) {
  const observed = seen.filter((o): o is TestObservation => o !== null);
  if (observed.length !== seen.length || !observed.length) return null;
  const testSelected = selectOnTest(observed);
  if (!testSelected) return null;
  predictor.config.result = { ...predictor.config.result, testSelected };
  if (observed.length > 1) log(`ensemble ${testSelectedLine(testSelected)}`);
  return testSelected;
}

interface MemberWorker {
  reply: Promise<MemberReply>;
  stop: () => void;
}

/** The members after the first, each in a worker thread writing its run folder. */
function startWorkers(
  opts: TrainRunOptions,
  plan: MemberPlan,
  member: (seed: number) => TrainConfig,
): MemberWorker[] {
  const base = (plan.runDir ?? plan.tmp) as string;
  return plan.memberDirs.map((d, i) =>
    trainMemberInWorker({
      features: resolve(opts.features as string),
      dataset: opts.dataset,
      out: join(base, d),
      model: opts.model ?? {},
      train: member(plan.seeds[i + 1]),
      dataSeed: plan.dataSeed,
      observeTest: opts.observeTest ?? false,
    }),
  );
}

/** Train one member in a worker thread; `reply` resolves when its run folder is written. */
function trainMemberInWorker(job: MemberJob): MemberWorker {
  const worker = new Worker(new URL('./train-member.js', import.meta.url), { workerData: job });
  const reply = new Promise<MemberReply>((done) => {
    let r: MemberReply | null = null;
    worker.once('message', (m: MemberReply) => {
      r = m;
    });
    worker.once('error', (e) => {
      r ??= { ok: false, message: e.message };
    });
    worker.once('exit', (code) => done(r ?? { ok: false, message: `worker stopped (exit code ${code})` }));
  });
  return { reply, stop: () => void worker.terminate() };
}

/** The members trained so far, and what each observed of the test split (null: not observed). */
interface Trained {
  members: LoadedRun[];
  seen: Array<TestObservation | null>;
}

/**
 * Wait for the workers and load their runs into `members`; a member that failed is left out
 * (and said so). Returns the folders of the members kept.
 */
async function collectWorkers(
  others: MemberWorker[],
  plan: MemberPlan,
  { members, seen }: Trained,
  log: (line: string) => void,
): Promise<string[]> {
  const base = (plan.runDir ?? plan.tmp) as string;
  const kept: string[] = [];
  const replies = await Promise.all(others.map((o) => o.reply));
  for (const [i, r] of replies.entries()) {
    if (!r.ok) {
      log(
        `ensemble member ${i + 2} (seed ${plan.seeds[i + 1]}) failed and is left out: ${r.message}${r.hint ? ` (${r.hint})` : ''}`,
      );
      continue;
    }
    members.push(await loadRun(join(base, plan.memberDirs[i])));
    seen.push(r.testObservation);
    kept.push(plan.memberDirs[i]);
  }
  return kept;
}

/** The members after the first, one after another in this thread (an in-memory source). */
async function trainInTurn(
  opts: TrainRunOptions,
  plan: MemberPlan,
  { members, seen }: Trained,
  trainOne: TrainOne,
  member: (seed: number) => TrainConfig,
): Promise<string[]> {
  const kept: string[] = [];
  for (const [i, seed] of plan.seeds.slice(1).entries()) {
    const out = plan.runDir ? join(plan.runDir, plan.memberDirs[i]) : undefined;
    const r = await trainOne(
      { ...opts, out, log: undefined, onEpoch: undefined, dataSeed: plan.dataSeed },
      member(seed),
    );
    members.push(r.predictor);
    seen.push(r.testObservation);
    if (out) kept.push(plan.memberDirs[i]);
  }
  return kept;
}
