/**
 * The demo's report: summary.html (self-contained: the pictures of what the model saw first,
 * then the table of figures, the long explanations folded in `<details>`) and its text twin
 * summary.md (the same text; its pictures are the PNG/SVG files written beside it in figures/).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { esc, focusStripSvg, REPORT_CSS } from '../app/report.js';
import { encodePng, pngDataUri } from '../render/index.js';
import { writeFileAtomicSync } from '../util/atomic.js';
import type { CueCeiling } from './cue-ceiling.js';
import { sharedPhotosNote } from './focus.js';
import { type Block, blocksToHtml, blocksToMarkdown, type Part, pct } from './page.js';
import type { FocusScores } from './scores.js';
import type { ShowcaseCase } from './showcase.js';
import type { FocusMaterial, FocusSpec } from './spec.js';

/** Everything the report says, as the run measured it. */
export interface SummaryInput {
  spec: FocusSpec;
  classes: string[];
  material: FocusMaterial;
  manifest: string;
  pack: string;
  streams: string[];
  /** what the object stream is (backbone: description) */
  objectStream: string;
  /** where the object grid lies in the frame, in words */
  regionNote: string;
  /** dfan train's schedule line, and the ensemble / map reduction notes ('' when none) */
  training: { schedule: string; ensemble: string; reduction: string; nTrain: number };
  scores: Record<'mean' | 'dual', FocusScores>;
  ceiling: CueCeiling | null;
  trainFocus: FocusScores & { fittedWithoutCue: number };
  seconds: { dataset: number; extract: number; train: number; total: number; cpu: number };
  runs: { mean: string; dual: string };
  /** dual's test videos: true and predicted class, the snippets the photo overlaps, the top-β one */
  tests: Array<{ key: string; label: string; predicted: string; cue: number[]; top: number }>;
  showcase: { right: ShowcaseCase[]; wrong: ShowcaseCase[] };
}

const TITLE = "dfan demo: dual focus on dfan's own real-imagery focus dataset";

function intro(s: SummaryInput): Block[] {
  return [
    {
      kind: 'p',
      text:
        `**Not an emotion dataset.** A focus dataset dfan builds on the spot from real material on this machine: the class (${s.classes.join(', ')}) is visible only as a real photo in a box of 1/16 of the frame, during 2 of ${s.spec.T} snippets, over real footage. ` +
        '`mean` averages the snippets (no focus); `dual` has to find when (temporal focus β) and where (spatial focus α) the photo is.',
    },
  ];
}

function figures(s: SummaryInput): Block[] {
  const { mean, dual } = s.scores;
  const rows = [
    ['mean', pct(mean.accuracy), 'n/a (uniform β)', 'n/a (no spatial focus)'],
    ['dual', pct(dual.accuracy), pct(dual.temporalHit), pct(dual.pointing)],
    ...(s.ceiling
      ? [
          [
            'cue ceiling: a linear classifier told where and when the photo is (not a model: what perfect focus gives a linear classifier on these features)',
            pct(s.ceiling.accuracy),
            '(given)',
            '(given)',
          ],
        ]
      : []),
    ['chance', pct(1 / s.classes.length), pct(dual.temporalChance), pct(dual.pointingChance)],
  ];
  return [
    {
      kind: 'table',
      head: ['model', 'accuracy', 'temporal hit rate', 'spatial pointing'],
      rows,
      align: ['l', 'r', 'r', 'r'],
    },
    {
      kind: 'list',
      items: [
        `${dual.n} test videos whose photos ${s.material.photos.shared ? 'were seen in training (--shared-photos)' : 'were never used in training'}.`,
        'temporal hit rate: share of test videos whose top-weighted snippet (β) overlaps the cue interval.',
        'spatial pointing: share whose peak cell of α (object map) at the top-β snippet lies in the cue box, with one cell of tolerance; chance = the share of cells within one cell of the box.',
      ],
    },
  ];
}

function setup(s: SummaryInput): Block {
  const { spec, material: m } = s;
  const shapes = spec.frames.map((f) => `${f.width}×${f.height}`).join(', ');
  const total = spec.classes * spec.perClass;
  const { schedule, ensemble, reduction, nTrain } = s.training;
  const photos = m.photos.shared
    ? `that show the training photos again (${m.photos.shared} per class: known photos, a closed-set test; without --shared-photos the test photos are new)`
    : 'whose photos were never used in training';
  const footage = m.footage.test.length && m.footage.test.join() !== m.footage.train.join();
  return {
    kind: 'p',
    text:
      `${total} videos of ${spec.duration} s (${s.classes.join(', ')}) whose class is visible only as a real photo in a box of 1/4 × 1/4 of the frame sides (1/16 of the area), at a random position, during 2 of ${spec.T} snippets, over real footage (frames ${shapes}; half the photos are cut-outs over the footage, half a card on a plain backdrop). ` +
      `Features: ${s.pack} pack (${s.streams.join(' + ')}; object = ${s.objectStream}). ` +
      `Trained here on ${nTrain} videos with dfan train's defaults (${schedule}${ensemble}${reduction}), evaluated on ${s.scores.dual.n} test videos ${photos}${footage ? ' and whose footage is held out too' : ''}.`,
  };
}

function explanations(s: SummaryInput): Block[] {
  const { dual } = s.scores;
  const t = s.trainFocus;
  const c = s.ceiling;
  return [
    setup(s),
    {
      kind: 'list',
      items: [
        ...(c
          ? [
              `cue ceiling: each video's object cells under the photo's box (weighted by the share covered), at the snippets showing it, into a ridge classifier fitted on the ${c.trainN} training videos (λ ${c.lambda}, chosen by leaving one photo out at a time: ${pct(c.looAccuracy)}). It is what perfect focus would give a linear classifier on these features: dual − mean is what the focus finds, cue ceiling − dual what it still loses, 100 % − cue ceiling what the backbone and ${c.trainN} training videos do not give.`,
            ]
          : []),
        `dual on its own ${t.n} training videos: accuracy ${pct(t.accuracy)}, temporal hit ${pct(t.temporalHit)}, pointing ${pct(t.pointing)}; ${t.fittedWithoutCue} of them are classified right although their top snippet misses the photo: the head fitted those on their footage, and its classifier learned from that footage (docs/model.md, "What dual still loses").`,
        `stricter pointing (peak α cell at the cue snippet, inside the box, no tolerance): dual ${pct(dual.pointingAtCue)} (chance ${pct(dual.pointingAtCueChance)}).`,
        `object grid geometry: ${s.regionNote}.`,
        `time: dataset ${s.seconds.dataset.toFixed(0)} s, features ${s.seconds.extract.toFixed(0)} s, training ${s.seconds.train.toFixed(0)} s, total ${s.seconds.total.toFixed(0)} s (CPU of the dfan process ${s.seconds.cpu.toFixed(0)} s).`,
        `runs: ${s.runs.mean}, ${s.runs.dual} (try \`dfan eval --run ${s.runs.dual} --dataset ${s.manifest}\`).`,
      ],
    },
  ];
}

function material(s: SummaryInput): Block[] {
  const m = s.material;
  return [
    {
      kind: 'p',
      text: `Photos: ${m.photos.source}; drawings rejected by their flat share (src/demo/photos.ts), cartoons, symbols and mirrored copies skipped by path. ${m.photos.shared ? `Test videos show the training photos (${sharedPhotosNote(m.photos)}, --shared-photos).` : 'Train and test photos are disjoint.'}`,
    },
    {
      kind: 'table',
      head: ['class', 'photos kept', 'train', 'test', 'rejected', 'skipped'],
      rows: Object.entries(m.photos.perClass).map(([c, n]) =>
        [c, n.kept, n.train, n.test, n.rejected, n.skipped].map(String),
      ),
      align: ['l', 'r', 'r', 'r', 'r', 'r'],
    },
    {
      kind: 'p',
      text: `Footage: ${m.footage.description}. Train: ${m.footage.train.map((f) => basename(f)).join(', ')}; test: ${m.footage.test.map((f) => basename(f)).join(', ')}.`,
    },
  ];
}

function testTable(s: SummaryInput): Block[] {
  return [
    {
      kind: 'table',
      head: ['video', 'true', 'predicted', 'cue snippets', 'top-β snippet'],
      rows: s.tests.slice(0, 40).map((v) => [v.key, v.label, v.predicted, v.cue.join(', '), String(v.top)]),
    },
  ];
}

/** The parts below the pictures and the figures: folded away in the page. */
function details(s: SummaryInput): Part[] {
  return [
    { title: 'How the figures are made', blocks: explanations(s) },
    { title: 'Material', blocks: material(s) },
    { title: 'Test videos (dual)', blocks: testTable(s) },
  ];
}

/** One case in words: the answers, and where dual's focus landed against the truth. */
export function caseCaption(c: ShowcaseCase): { answers: string; focus: string } {
  const answers = c.answers
    .map((a) => `${a.model}: ${a.predicted} (${pct(a.prob)}) ${a.predicted === c.label ? 'right' : 'wrong'}`)
    .join(' · ');
  const when = c.focus.hit ? 'on the photo' : 'off the photo';
  const where = c.focus.pointing ? 'on the photo box' : 'off the photo box';
  return {
    answers: `true ${c.label} · ${answers}`,
    focus: `dual's top snippet ${c.top} at ${c.time.toFixed(1)} s is ${when} (photo in ${c.cueSnippets.join(', ')}); its peak α is ${where}`,
  };
}

const LEGEND =
  "Each picture is a test video's key frame at dual's top-β snippet, with dual's spatial focus α over it (dark: little, yellow: most) and the photo's true box in cyan (dashed when the photo is not on screen at that moment). Under it, dual's temporal focus β per snippet: the top snippet in orange, the photo's interval shaded green.";

const slug = (c: ShowcaseCase, side: string, i: number) =>
  `${side}-${i + 1}-${c.label.replace(/[^\w-]+/g, '_')}`;

/** The Markdown twin's picture section: files written to `figuresDir`, referenced relatively. */
function showcaseMarkdown(s: SummaryInput, figuresDir: string): string[] {
  rmSync(figuresDir, { recursive: true, force: true });
  mkdirSync(figuresDir, { recursive: true });
  const out = ['## What the model saw', '', LEGEND, ''];
  for (const [side, cases] of [
    ['right', s.showcase.right],
    ['wrong', s.showcase.wrong],
  ] as const) {
    out.push(`### dual ${side}`, '');
    if (!cases.length) out.push('(none)', '');
    cases.forEach((c, i) => {
      const name = slug(c, side, i);
      writeFileAtomicSync(join(figuresDir, `${name}.png`), encodePng(c.frame));
      writeFileAtomicSync(join(figuresDir, `${name}-strip.svg`), `${focusStripSvg(c.strip)}\n`);
      const cap = caseCaption(c);
      out.push(
        `**${c.key}**: ${cap.answers}; ${cap.focus}.`,
        '',
        `![key frame with dual's focus](figures/${name}.png) ![temporal focus](figures/${name}-strip.svg)`,
        '',
      );
    });
  }
  return out;
}

export function summaryMarkdown(s: SummaryInput, figuresDir: string): string {
  const parts: Part[] = [{ title: 'Figures', blocks: figures(s) }];
  return [
    `# ${TITLE}`,
    '',
    ...blocksToMarkdown(intro(s)),
    ...parts.flatMap((p) => [`## ${p.title}`, '', ...blocksToMarkdown(p.blocks)]),
    ...showcaseMarkdown(s, figuresDir),
    ...details(s).flatMap((p) => [`## ${p.title}`, '', ...blocksToMarkdown(p.blocks)]),
  ].join('\n');
}

function caseHtml(c: ShowcaseCase): string {
  const cap = caseCaption(c);
  const mark = (ok: boolean) => `<span class="${ok ? 'ok' : 'bad'}">${ok ? 'right' : 'wrong'}</span>`;
  const answers = c.answers
    .map((a) => `${a.model}: <b>${esc(a.predicted)}</b> (${pct(a.prob)}) ${mark(a.predicted === c.label)}`)
    .join(' · ');
  return [
    '<div class="case">',
    `<figure><img class="focus" src="${pngDataUri(c.frame)}" alt="${esc(`key frame of ${c.key} with dual's spatial focus and the photo's box`)}">`,
    `<figcaption>true <b>${esc(c.label)}</b> · ${answers}</figcaption></figure>`,
    focusStripSvg(c.strip),
    `<div class="meta">${esc(cap.focus)}<br>${esc(c.key)}</div>`,
    '</div>',
  ].join('\n');
}

function showcaseHtml(s: SummaryInput): string {
  const { right, wrong } = s.showcase;
  const cells: string[] = ['<h3>dual right</h3>', '<h3>dual wrong</h3>'];
  for (let i = 0; i < Math.max(right.length, wrong.length, 1); i++) {
    cells.push(right[i] ? caseHtml(right[i]) : i === 0 ? '<p class="meta">none</p>' : '<div></div>');
    cells.push(wrong[i] ? caseHtml(wrong[i]) : i === 0 ? '<p class="meta">none</p>' : '<div></div>');
  }
  return `<section><h2>What the model saw</h2><p class="meta">${esc(LEGEND)}</p><div class="pairs">${cells.join('\n')}</div></section>`;
}

const PAGE_CSS = `
.pairs{display:grid;grid-template-columns:1fr 1fr;gap:18px 22px;align-items:start}
.pairs h3{margin:0}.case figure img{max-width:100%}
.ok{color:#137333;font-weight:600}.bad{color:#b3261e;font-weight:600}
table.figures{border-collapse:collapse;margin:8px 0}table.figures td,table.figures th{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
table.figures .n{text-align:right;white-space:nowrap}
details{margin:8px 0}summary{cursor:pointer;font-weight:600}
@media (max-width:760px){.pairs{grid-template-columns:1fr}}
`;

export function summaryHtml(s: SummaryInput): string {
  const folded = details(s)
    .map((p) => `<details><summary>${esc(p.title)}</summary>\n${blocksToHtml(p.blocks)}\n</details>`)
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>dfan demo</title>
<style>${REPORT_CSS}${PAGE_CSS}</style>
</head>
<body>
<main>
<h1>${esc(TITLE)}</h1>
${blocksToHtml(intro(s))}
${showcaseHtml(s)}
<section><h2>Figures</h2>
${blocksToHtml(figures(s))}
</section>
<section><h2>More</h2>
${folded}
</section>
</main>
</body>
</html>
`;
}

/** Write summary.md (+ figures/) and summary.html into `out`. */
export function writeSummary(out: string, s: SummaryInput): { md: string; html: string } {
  const md = join(out, 'summary.md');
  const html = join(out, 'summary.html');
  writeFileAtomicSync(md, summaryMarkdown(s, join(out, 'figures')));
  writeFileAtomicSync(html, summaryHtml(s));
  return { md, html };
}
