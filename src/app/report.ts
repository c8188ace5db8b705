/**
 * The self-contained HTML report of `dfan predict --html OUT`: inline CSS and SVG, images as
 * data: URIs, no script and no network. One section per video (failed videos listed too).
 */
import { mmss, timeRange } from './explain.js';
import { labelsHeading } from './labels.js';
import type { Prediction } from './types.js';

export interface ReportFrame {
  snippet: number;
  time: number;
  /** data: URI of the plain key frame */
  plain: string;
  /** stream → data: URI of the key frame with that stream's spatial focus overlaid */
  overlays: Record<string, string>;
}

export interface ReportItem {
  prediction?: Prediction;
  frames?: ReportFrame[];
  /** set when the video failed */
  error?: { video: string; message: string };
}

export function esc(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );
}

/** The reports' style sheet (`dfan predict --html`, `dfan demo`'s summary.html). */
export const REPORT_CSS = `
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f5f5f7;color:#1d1d1f}
main{max-width:1040px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:0 0 8px;word-break:break-all}h3{font-size:15px;margin:18px 0 6px}
section{background:#fff;border-radius:12px;padding:20px;margin:18px 0;box-shadow:0 1px 3px rgba(0,0,0,.08)}
.banner{border-radius:8px;padding:10px 14px;margin:10px 0;font-weight:500}
.banner.zero-shot,.banner.untrained{background:#fff4d6;border:1px solid #e8b600}
.banner.trained{background:#e6f4ea;border:1px solid #34a853}
.warn{background:#fdecea;border:1px solid #d93025;border-radius:8px;padding:8px 12px;margin:6px 0}
.meta{color:#555;font-size:13px}
table.probs{border-collapse:collapse;width:100%;max-width:560px}
table.probs td{padding:3px 6px}table.probs td.l{width:90px}table.probs td.v{width:64px;text-align:right;font-variant-numeric:tabular-nums}
.bar{height:14px;background:#6a3d9a;border-radius:3px}
.frames{display:flex;flex-wrap:wrap;gap:14px}
figure{margin:0;max-width:100%}figure img{display:block;max-width:100%;border-radius:6px}
figcaption{font-size:13px;color:#444;margin-top:4px}
svg text{font:11px system-ui,sans-serif;fill:#444}
.error h2{color:#b3261e}
`;

export interface FocusStrip {
  /** one bar per snippet, its height the temporal focus weight */
  snippets: Array<{ start: number; end: number; weight: number }>;
  /** seconds on the time axis (default: the last snippet's end) */
  duration?: number;
  /** positions in `snippets` drawn in the accent colour (key moments, the top snippet) */
  accent?: ReadonlySet<number>;
  /** intervals shaded behind the bars, e.g. where the cue is on screen */
  bands?: Array<{ start: number; end: number; label: string }>;
  /** viewBox size (the SVG scales to its box's width) */
  width?: number;
  height?: number;
}

/**
 * The temporal focus against time as an inline SVG: one bar per snippet (its weight, scaled to
 * the largest), accented snippets in orange, shaded bands behind. `dfan predict --html` and the
 * `dfan demo` report draw it with this one function.
 */
export function focusStripSvg(strip: FocusStrip): string {
  const { snippets } = strip;
  const W = strip.width ?? 900;
  const H = strip.height ?? 150;
  const padL = 40;
  const padB = 24;
  const padT = 10;
  const plotW = W - padL - 18; // room for the last tick's label
  const plotH = H - padB - padT;
  const given = strip.duration ?? 0;
  const dur = given > 0 ? given : (snippets[snippets.length - 1]?.end ?? 1);
  const maxW = Math.max(...snippets.map((s) => s.weight), 1e-9);
  const x = (t: number) => padL + (t / dur) * plotW;
  const parts: string[] = [];
  parts.push(
    // xmlns and font: the same SVG also stands alone as a file (the demo's summary.md links it)
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="100%" font-family="system-ui,sans-serif" font-size="11" role="img" aria-label="temporal focus against time">`,
  );
  parts.push(
    `<rect x="${padL}" y="${padT}" width="${plotW}" height="${plotH}" fill="#fafafa" stroke="#ddd"/>`,
  );
  for (const b of strip.bands ?? []) {
    parts.push(
      `<rect class="band" x="${x(b.start).toFixed(1)}" y="${padT}" width="${Math.max(1, x(b.end) - x(b.start)).toFixed(1)}" height="${plotH}" fill="#1b9e77" fill-opacity="0.22"><title>${esc(b.label)}: ${timeRange(b.start, b.end)}</title></rect>`,
    );
  }
  snippets.forEach((s, i) => {
    const h = (s.weight / maxW) * plotH;
    parts.push(
      `<rect class="snippet" x="${x(s.start).toFixed(1)}" y="${(padT + plotH - h).toFixed(1)}" width="${Math.max(1, x(s.end) - x(s.start) - 1).toFixed(1)}" height="${h.toFixed(1)}" fill="${strip.accent?.has(i) ? '#d95f02' : '#7570b3'}"><title>${timeRange(s.start, s.end)}: ${(s.weight * 100).toFixed(1)} %</title></rect>`,
    );
  });
  const ticks = 6;
  for (let k = 0; k <= ticks; k++) {
    const t = (dur * k) / ticks;
    parts.push(`<text x="${x(t).toFixed(1)}" y="${H - 6}" text-anchor="middle">${mmss(t)}</text>`);
  }
  parts.push(`<text x="${padL - 6}" y="${padT + 10}" text-anchor="end">${(maxW * 100).toFixed(0)}%</text>`);
  parts.push(`<text x="${padL - 6}" y="${padT + plotH}" text-anchor="end">0</text>`);
  parts.push('</svg>');
  return parts.join('');
}

/** The prediction's strip: key-moment snippets accented. */
function temporalSvg(p: Prediction): string {
  const key = new Set((p.keyMoments ?? []).flatMap((k) => k.snippets));
  const indices = p.spatial[Object.keys(p.spatial)[0]]?.map((g) => g.snippet) ?? p.snippets.map((_, i) => i);
  const accent = new Set(p.snippets.flatMap((_, i) => (key.has(indices[i]) ? [i] : [])));
  return focusStripSvg({ snippets: p.snippets, duration: p.duration, accent });
}

function bannerText(p: Prediction): string {
  const m = p.model;
  if (m.kind === 'zero-shot')
    return `<strong>Zero-shot model, not trained on video emotion</strong> (${esc(m.name)}). ${esc(m.description)}`;
  if (m.kind === 'untrained')
    return `UNTRAINED model (${esc(m.name)}): its outputs are meaningless. ${esc(m.description)}`;
  return `Trained DFAN run: ${esc(m.name)}. ${esc(m.description)}`;
}

function section(item: ReportItem): string {
  if (item.error || !item.prediction) {
    const e = item.error ?? { video: '?', message: 'no prediction' };
    return `<section class="error"><h2>${esc(e.video)}</h2><div class="warn">failed: ${esc(e.message)}</div></section>`;
  }
  const p = item.prediction;
  const out: string[] = [];
  out.push('<section class="video">');
  out.push(`<h2>${esc(p.video)}</h2>`);
  out.push(
    `<div class="meta">${mmss(p.duration)} · ${p.snippets.length} snippets${p.width ? ` · ${p.width}×${p.height}` : ''}${p.packId ? ` · features: ${esc(p.packId)}` : ''}</div>`,
  );
  out.push(`<div class="banner ${esc(p.model.kind)}">${bannerText(p)}</div>`);
  for (const w of p.warnings ?? []) out.push(`<div class="warn">warning: ${esc(w)}</div>`);
  out.push(
    `<h3>${labelsHeading(p.labels) === 'emotion' ? 'Emotion' : 'Class'} probabilities</h3><table class="probs">`,
  );
  for (const l of p.labels) {
    out.push(
      `<tr><td class="l">${esc(l.label)}</td><td><div class="bar" style="width:${(l.prob * 100).toFixed(1)}%"></div></td><td class="v">${(l.prob * 100).toFixed(1)} %</td></tr>`,
    );
  }
  out.push('</table>');
  out.push('<h3>Temporal focus (when)</h3>');
  out.push(temporalSvg(p));
  const moments = p.keyMoments ?? [];
  if (moments.length) {
    out.push(
      `<div class="meta">key moments: ${moments.map((k) => `${timeRange(k.start, k.end)} (${(k.weight * 100).toFixed(0)} %)`).join(', ')}</div>`,
    );
  } else out.push('<div class="meta">no key moment: the temporal focus is flat</div>');
  const frames = item.frames ?? [];
  if (frames.length) {
    out.push(
      `<h3>Spatial focus ${moments.length ? 'at the key moments' : 'at the middle of the video'} (where)</h3>`,
    );
    for (const s of p.spatialStreams ?? [])
      out.push(
        `<div class="meta">${esc(s.name)}: ${s.gridSize[0]}×${s.gridSize[1]} grid over ${esc(s.spans ?? 'the whole frame')}${s.region ? ` (region [${s.region.map((v) => +v.toFixed(3)).join(', ')}])` : ''} · ${esc(s.description)}</div>`,
      );
    out.push('<div class="frames">');
    for (const f of frames) {
      for (const [stream, uri] of Object.entries(f.overlays)) {
        out.push(
          `<figure><img class="overlay" src="${uri}" alt="${esc(stream)} focus at ${mmss(f.time)}"><figcaption>${esc(stream)} focus · snippet #${f.snippet + 1} · ${mmss(f.time)}</figcaption></figure>`,
        );
      }
      out.push(
        `<figure><img class="keyframe" src="${f.plain}" alt="key frame at ${mmss(f.time)}"><figcaption>key frame · snippet #${f.snippet + 1} · ${mmss(f.time)}</figcaption></figure>`,
      );
    }
    out.push('</div>');
  }
  out.push('</section>');
  return out.join('\n');
}

export function renderReport(
  items: ReportItem[],
  opts: { generatedAt?: string; version?: string } = {},
): string {
  const when = opts.generatedAt ?? new Date().toISOString();
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>dfan prediction report</title>
<style>${REPORT_CSS}</style>
</head>
<body>
<main>
<h1>dfan prediction report</h1>
<div class="meta">generated ${esc(when)}${opts.version ? ` by dfan ${esc(opts.version)}` : ''} · ${items.length} video${items.length === 1 ? '' : 's'}</div>
${items.map(section).join('\n')}
</main>
</body>
</html>
`;
}
