/** `dfan predict` behind the command: batch over videos, terminal/JSON/HTML output, failures listed. */

import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { DfanError, describeError } from '../errors.js';
import { DFAN_VERSION } from '../version.js';
import { formatPrediction } from './format.js';
import { PredictEngine, reportFrames } from './predict.js';
import { type ReportItem, renderReport } from './report.js';
import type { Prediction } from './types.js';

export interface RunPredictOptions {
  model: string;
  json: boolean;
  html?: string;
  top: number;
  pack?: string;
  T?: number;
  /** where output goes (tests) */
  out?: (s: string) => void;
  err?: (s: string) => void;
}

/** Returns the number of failed videos. */
export async function runPredict(videos: string[], o: RunPredictOptions): Promise<number> {
  const out = o.out ?? ((s: string) => process.stdout.write(s));
  const err = o.err ?? ((s: string) => process.stderr.write(s));
  if (o.html && !existsSync(dirname(resolve(o.html)))) {
    throw new DfanError('BAD_ARGUMENT', 'the folder for the report does not exist', {
      file: o.html,
      hint: 'create it first or choose another --html path',
    });
  }
  const engine = await PredictEngine.create({ model: o.model, pack: o.pack, T: o.T });
  const results: Prediction[] = [];
  const items: ReportItem[] = [];
  const failures: Array<{ video: string; message: string }> = [];
  try {
    for (const video of videos) {
      try {
        const tty = o.err === undefined && process.stderr.isTTY;
        const onProgress = tty
          ? (stage: string, f: number) => err(`\r\x1b[K${video}: ${stage} ${Math.round(f * 100)} %`)
          : undefined;
        let p: Prediction;
        try {
          p = await engine.predictFile(video, { onProgress });
        } finally {
          if (tty) err('\r\x1b[K');
        }
        results.push(p);
        if (!o.json) out(`${formatPrediction(p, { top: o.top })}\n\n`);
        if (o.html) items.push({ prediction: p, frames: await reportFrames(video, p) });
      } catch (e) {
        const message = describeError(e);
        failures.push({ video, message });
        err(`dfan: ${naming(video, message)}\n`);
        if (o.html) items.push({ error: { video, message } });
      }
    }
  } finally {
    await engine.dispose();
  }
  if (o.json) {
    const payload = videos.length === 1 ? (results[0] ?? null) : results;
    if (videos.length > 1 || results.length > 0) out(`${JSON.stringify(payload, null, 2)}\n`);
  }
  if (o.html) {
    try {
      await writeFile(o.html, renderReport(items, { version: DFAN_VERSION }));
    } catch (e) {
      throw new DfanError('BAD_ARGUMENT', `cannot write the report: ${(e as Error).message}`, {
        file: o.html,
        hint: 'check that the folder exists and is writable',
      });
    }
    err(`report: ${resolve(o.html)}\n`);
  }
  if (failures.length > 0 && videos.length > 1) {
    err(
      `failed (${failures.length}):\n${failures.map((f) => `  ${naming(f.video, f.message)}`).join('\n')}\n`,
    );
  }
  return failures.length;
}

/** `video: message`, without naming the file twice (most errors start with its name already). */
function naming(video: string, message: string): string {
  return message.startsWith(`${video}:`) ? message : `${video}: ${message}`;
}
