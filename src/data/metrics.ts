/**
 * Classification metrics (the Metrics contract of DESIGN.md) from predictions or from other
 * tools' score files, plus the Markdown summary `dfan eval` / `dfan metrics` write.
 *
 * Score files (`dfan metrics --scores FILE`): scores are logits, one row per prediction;
 *   CSV    header `video,label,<class1>,<class2>,…`
 *   JSONL  `{"video": "...", "label": "...", "scores": [..]}` per line (needs the class order: --classes)
 * Several rows for one video (e.g. clips) are averaged after a softmax over each row.
 */
import { readFileSync } from 'node:fs';
import { DfanError } from '../errors.js';
import { softmax } from '../util/softmax.js';
import { parseCsv } from './manifest.js';
import type { Metrics } from './metrics-types.js';

export type { Metrics };

/** Metrics from true and predicted class indices. */
export function computeMetrics(
  classes: string[],
  truth: readonly number[],
  pred: readonly number[],
): Metrics {
  if (truth.length !== pred.length) throw new Error('computeMetrics: truth and pred differ in length');
  const k = classes.length;
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  let correct = 0;
  for (let i = 0; i < truth.length; i++) {
    confusion[truth[i]][pred[i]]++;
    if (truth[i] === pred[i]) correct++;
  }
  const perClass: Metrics['perClass'] = {};
  classes.forEach((c, j) => {
    const n = confusion[j].reduce((a, b) => a + b, 0);
    const predicted = confusion.reduce((a, row) => a + row[j], 0);
    perClass[c] = {
      recall: n ? confusion[j][j] / n : 0,
      precision: predicted ? confusion[j][j] / predicted : 0,
      n,
    };
  });
  return {
    accuracy: truth.length ? correct / truth.length : 0,
    n: truth.length,
    classes: [...classes],
    perClass,
    confusion,
  };
}

export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

/** Markdown: accuracy, per-class recall/precision, confusion matrix (rows = true class). */
export function metricsMarkdown(m: Metrics, title = 'Metrics', notes: string[] = []): string {
  const lines = [`# ${title}`, ''];
  for (const n of notes) lines.push(`${n}  `);
  if (notes.length) lines.push('');
  const chance = m.classes.length ? 1 / m.classes.length : 0;
  lines.push(
    `**Top-1 accuracy: ${pct(m.accuracy)}** on ${m.n} videos (${m.classes.length} classes; chance ${pct(chance)}).`,
    '',
  );
  const mean = m.classes.reduce((a, c) => a + m.perClass[c].recall, 0) / Math.max(1, m.classes.length);
  lines.push(
    `Mean per-class recall: ${pct(mean)}.`,
    '',
    '| class | n | recall | precision |',
    '|---|---:|---:|---:|',
  );
  for (const c of m.classes) {
    const p = m.perClass[c];
    lines.push(`| ${c} | ${p.n} | ${pct(p.recall)} | ${pct(p.precision)} |`);
  }
  lines.push('', 'Confusion matrix (rows = true class, columns = predicted):', '');
  lines.push(`| true \\ pred | ${m.classes.join(' | ')} |`, `|---|${m.classes.map(() => '---:').join('|')}|`);
  m.classes.forEach((c, i) => {
    lines.push(`| **${c}** | ${m.confusion[i].join(' | ')} |`);
  });
  lines.push('');
  return lines.join('\n');
}

export interface ScoreRow {
  video: string;
  label: string;
  scores: number[];
  line: number;
}

function badRow(file: string, line: number, what: string, hint?: string): DfanError {
  return new DfanError('BAD_ARGUMENT', `line ${line}: ${what}`, { file, hint });
}

/** Parse a CSV score file; the class order comes from the header. */
export function parseScoreCsv(text: string, file: string): { classes: string[]; rows: ScoreRow[] } {
  const records = parseCsv(text, file);
  if (!records.length) throw new DfanError('EMPTY_FILE', 'the score file is empty', { file });
  const header = records[0].fields.map((f) => f.trim());
  const vi = header.indexOf('video');
  const li = header.indexOf('label');
  if (vi < 0 || li < 0) {
    throw badRow(
      file,
      records[0].line,
      `the header must start with video,label,<class>… (got "${header.join(',')}")`,
    );
  }
  const classCols = header.map((h, i) => ({ h, i })).filter(({ i }) => i !== vi && i !== li);
  if (classCols.length < 2)
    throw badRow(file, records[0].line, 'the header names fewer than 2 class columns');
  const classes = classCols.map((c) => c.h);
  const rows: ScoreRow[] = [];
  for (const r of records.slice(1)) {
    if (r.fields.length !== header.length) {
      throw badRow(file, r.line, `expected ${header.length} fields, found ${r.fields.length}`);
    }
    const scores = classCols.map(({ h, i }) => {
      const s = r.fields[i].trim();
      const v = Number(s);
      if (s === '' || !Number.isFinite(v))
        throw badRow(file, r.line, `score for "${h}" is not a number: "${s}"`);
      return v;
    });
    rows.push({ video: r.fields[vi], label: r.fields[li].trim(), scores, line: r.line });
  }
  return { classes, rows };
}

/** Parse a JSONL score file: one `{"video","label","scores":[…]}` object per line. */
export function parseScoreJsonl(text: string, file: string): ScoreRow[] {
  const rows: ScoreRow[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    if (!raw.trim()) return;
    let o: unknown;
    try {
      o = JSON.parse(raw);
    } catch {
      throw badRow(file, line, 'not valid JSON');
    }
    const r = o as { video?: unknown; label?: unknown; scores?: unknown };
    if (typeof r.video !== 'string' || !r.video)
      throw badRow(file, line, '"video" must be a non-empty string');
    if (typeof r.label !== 'string' && typeof r.label !== 'number')
      throw badRow(file, line, '"label" is missing');
    if (!Array.isArray(r.scores) || !r.scores.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      throw badRow(file, line, '"scores" must be an array of finite numbers');
    }
    rows.push({ video: r.video, label: String(r.label), scores: r.scores as number[], line });
  });
  return rows;
}

export interface ScoreMetrics {
  metrics: Metrics;
  rows: number;
  videos: number;
}

/**
 * Metrics from score rows: per video, softmax each row, average the rows, take the argmax.
 * `classes` gives the order of the score columns.
 */
export function metricsFromRows(rows: ScoreRow[], classes: string[], file: string): ScoreMetrics {
  if (!rows.length) throw new DfanError('EMPTY_FILE', 'the score file has no rows', { file });
  const index = new Map(classes.map((c, i) => [c, i]));
  const videos = new Map<string, { label: string; sum: number[]; line: number }>();
  for (const r of rows) {
    if (r.scores.length !== classes.length) {
      throw badRow(
        file,
        r.line,
        `${r.scores.length} scores for ${classes.length} classes (${classes.join(',')})`,
      );
    }
    if (!index.has(r.label))
      throw badRow(file, r.line, `label "${r.label}" is not one of the classes (${classes.join(',')})`);
    const p = softmax(r.scores);
    const v = videos.get(r.video);
    if (!v) {
      videos.set(r.video, { label: r.label, sum: p, line: r.line });
    } else {
      if (v.label !== r.label) {
        throw badRow(
          file,
          r.line,
          `video "${r.video}" has label "${r.label}" here but "${v.label}" on line ${v.line}`,
        );
      }
      for (let i = 0; i < p.length; i++) v.sum[i] += p[i];
    }
  }
  const truth: number[] = [];
  const pred: number[] = [];
  for (const v of videos.values()) {
    truth.push(index.get(v.label)!);
    pred.push(argmax(v.sum));
  }
  return { metrics: computeMetrics(classes, truth, pred), rows: rows.length, videos: videos.size };
}

/** `dfan metrics --scores FILE [--classes a,b,…]`: CSV (by extension or content) or JSONL. */
export function metricsFromScoreFile(path: string, opts: { classes?: string[] } = {}): ScoreMetrics {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new DfanError('NOT_FOUND', 'cannot read the score file', { file: path, cause: e });
  }
  if (!text.trim()) throw new DfanError('EMPTY_FILE', 'the score file is empty', { file: path });
  const jsonl = /\.jsonl?$/i.test(path) || text.trimStart().startsWith('{');
  if (jsonl) {
    const rows = parseScoreJsonl(text, path);
    if (!opts.classes?.length) {
      throw new DfanError('BAD_ARGUMENT', 'a JSONL score file does not say which class each score is', {
        file: path,
        hint: 'give the class order with --classes a,b,c',
      });
    }
    return metricsFromRows(rows, opts.classes, path);
  }
  const { classes, rows } = parseScoreCsv(text, path);
  if (opts.classes?.length) {
    const want = opts.classes;
    const same = want.length === classes.length && want.every((c) => classes.includes(c));
    if (!same) {
      throw new DfanError(
        'BAD_ARGUMENT',
        `--classes (${want.join(',')}) differ from the CSV header (${classes.join(',')})`,
        {
          file: path,
        },
      );
    }
    const order = want.map((c) => classes.indexOf(c));
    for (const r of rows) r.scores = order.map((j) => r.scores[j]);
    return metricsFromRows(rows, want, path);
  }
  return metricsFromRows(rows, classes, path);
}
