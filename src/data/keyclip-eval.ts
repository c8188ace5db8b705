/**
 * `dfan eval --keyclips FILE`: score the temporal focus of an evaluated run against the Ekman-6
 * key-clip annotations. Glue between evaluateRun's per-video results, the annotation reader,
 * the annotation ↔ item mapping and the pure metrics of attribution.ts.
 */
import { readFileSync } from 'node:fs';
import { DfanError } from '../errors.js';
import {
  type AttributionScore,
  type AttributionSummary,
  type KeyClipMatch,
  matchKeyClips,
  parseKeyClipMap,
  scoreAttribution,
  summariseAttribution,
} from './attribution.js';
import { readKeyClips } from './keyclips.js';
import type { DatasetItem } from './types.js';

/** The part of evaluateRun's VideoResult this needs. */
export interface FocusResult {
  key: string;
  label: string;
  beta: number[];
  snippets: Array<{ start: number; end: number }>;
}

export interface KeyClipEvalOptions {
  /** `name` (default) or `order` (inferred, see docs/datasets.md) */
  match?: KeyClipMatch;
  /** CSV `annotation,key` — an explicit mapping, wins over `match` */
  mapFile?: string;
  ks?: number[];
}

export interface KeyClipEval {
  file: string;
  strategy: string;
  /** videos evaluated / with an annotation / scored (annotation has clips) */
  evaluated: number;
  matched: number;
  summary: AttributionSummary;
  perVideo: Array<{ key: string; annotation: string; score: AttributionScore }>;
  warnings: string[];
}

export async function evaluateKeyClips(
  results: readonly FocusResult[],
  items: readonly DatasetItem[],
  file: string,
  opts: KeyClipEvalOptions = {},
): Promise<KeyClipEval> {
  const ks = opts.ks ?? [1, 3];
  const set = await readKeyClips(file);
  let explicit: Map<string, string> | undefined;
  if (opts.mapFile) {
    try {
      explicit = parseKeyClipMap(readFileSync(opts.mapFile, 'utf8'));
    } catch (e) {
      throw new DfanError('NOT_FOUND', 'cannot read the key-clip mapping', { file: opts.mapFile, cause: e });
    }
  }
  const mapping = matchKeyClips(items, set, { strategy: opts.match, explicit });
  const perVideo: KeyClipEval['perVideo'] = [];
  let matched = 0;
  for (const r of results) {
    const ann = mapping.byKey.get(r.key);
    if (!ann) continue;
    matched++;
    // padding snippets carry no time span
    const mask = r.snippets.map((s) => (s.end > s.start ? 1 : 0));
    const duration = Math.max(...r.snippets.map((s) => s.end));
    const score = scoreAttribution(
      { snippets: r.snippets, weights: r.beta, clips: ann.clips, mask, duration },
      ks,
    );
    if (score) perVideo.push({ key: r.key, annotation: ann.rawName, score });
  }
  const labelOf = new Map(results.map((r) => [r.key, r.label]));
  const summary = summariseAttribution(
    perVideo.map((p) => ({ label: labelOf.get(p.key) ?? '?', score: p.score })),
    ks,
  );
  const warnings = [...mapping.warnings];
  if (matched === 0) {
    warnings.push(
      'no evaluated video could be matched to an annotation: give --keyclip-map FILE (CSV annotation,key) or, for CTEN-numbered Ekman-6 items, --keyclip-match order',
    );
  }
  return {
    file,
    strategy: mapping.strategy,
    evaluated: results.length,
    matched,
    summary,
    perVideo,
    warnings,
  };
}

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

/** A few lines for the terminal and the eval Markdown. */
export function keyClipLines(k: KeyClipEval): string[] {
  const s = k.summary;
  const L = [
    `Key-clip attribution (${k.file}; matching: ${k.strategy}): ${k.matched}/${k.evaluated} evaluated videos annotated, ${s.n} scored`,
  ];
  if (s.n > 0) {
    L.push(`  hit@1   ${pct(s.hit1)}  (chance ${pct(s.chance.hit1)})`);
    for (const kk of Object.keys(s.tiou)) {
      L.push(
        `  tIoU@${kk}  ${s.tiou[Number(kk)].toFixed(3)}  (chance ${s.chance.tiou[Number(kk)].toFixed(3)})`,
      );
    }
    L.push(
      `  AUC     ${s.auc === null ? '–' : s.auc.toFixed(3)}  (chance 0.500; defined for ${s.aucN} videos)`,
    );
  }
  for (const w of k.warnings) L.push(`  note: ${w}`);
  return L;
}
