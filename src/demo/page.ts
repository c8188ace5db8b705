/**
 * The demo report's text as typed blocks, written twice from the same blocks: Markdown (the
 * summary.md twin) and HTML (summary.html). Inline text may hold `**strong**` and `` `code` ``;
 * the HTML writer turns them into tags and escapes everything else, so no Markdown shows in the page.
 */
import { esc } from '../app/report.js';
import { mdTable } from '../protocol/report-markdown.js';

/** A share as the demo says it everywhere (report, log): a percentage with one decimal. */
export const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

export type Block =
  | { kind: 'p'; text: string }
  | { kind: 'list'; items: string[] }
  | {
      kind: 'table';
      head: string[];
      rows: string[][] /** 'r': right-aligned (figures) */;
      align?: Array<'l' | 'r'>;
    };

/** A block list under a heading (Markdown `##`; in the page, a section or a `<details>`). */
export interface Part {
  title: string;
  blocks: Block[];
}

export function blocksToMarkdown(blocks: Block[]): string[] {
  const out: string[] = [];
  for (const b of blocks) {
    if (b.kind === 'p') out.push(b.text, '');
    else if (b.kind === 'list') out.push(...b.items.map((i) => `- ${i}`), '');
    else
      out.push(
        ...mdTable(
          [b.head, ...b.rows],
          b.head.map((_, i) => b.align?.[i] ?? 'l'),
        ),
        '',
      );
  }
  return out;
}

/** Inline Markdown (`**strong**`, `` `code` ``) as HTML; all other text escaped. */
export function inlineHtml(text: string): string {
  return text
    .split(/(`[^`]+`)/)
    .map((part) =>
      part.startsWith('`') && part.endsWith('`') && part.length > 1
        ? `<code>${esc(part.slice(1, -1))}</code>`
        : esc(part).replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>'),
    )
    .join('');
}

export function blocksToHtml(blocks: Block[]): string {
  return blocks
    .map((b) => {
      if (b.kind === 'p') return `<p>${inlineHtml(b.text)}</p>`;
      if (b.kind === 'list') return `<ul>${b.items.map((i) => `<li>${inlineHtml(i)}</li>`).join('')}</ul>`;
      const cls = (i: number) => (b.align?.[i] === 'r' ? ' class="n"' : '');
      const row = (cells: string[], tag: 'th' | 'td') =>
        `<tr>${cells.map((c, i) => `<${tag}${cls(i)}>${inlineHtml(c)}</${tag}>`).join('')}</tr>`;
      return `<table class="figures">${row(b.head, 'th')}${b.rows.map((r) => row(r, 'td')).join('')}</table>`;
    })
    .join('\n');
}
