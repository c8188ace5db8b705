/**
 * Every relative link in README.md and docs/ resolves: the file exists and, for `#anchor`, a
 * heading with GitHub's slug of that name does. Moving a page or renaming a heading without
 * fixing its links fails here.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { projectRoot } from '../../src/version.js';

const root = projectRoot();

function markdownFiles(): string[] {
  const out = [join(root, 'README.md')];
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (f.endsWith('.md')) out.push(p);
    }
  };
  walk(join(root, 'docs'));
  return out;
}

/** Lines outside fenced code blocks, with their 1-based numbers. */
function proseLines(file: string): Array<[number, string]> {
  let fence = false;
  const out: Array<[number, string]> = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (/^\s*(```|~~~)/.test(line)) fence = !fence;
      else if (!fence) out.push([i + 1, line]);
    });
  return out;
}

/** GitHub's heading anchors: lower case, punctuation dropped (- and _ kept), spaces → -, repeats -1, -2 … */
function anchors(file: string): Set<string> {
  const slug = (h: string) =>
    h
      .trim()
      .toLowerCase()
      .replace(/<[^>]+>/g, '')
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const [, line] of proseLines(file)) {
    const m = /^#{1,6}\s+(.*)$/.exec(line);
    if (!m) continue;
    const base = slug(m[1].replace(/`/g, ''));
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n ? `${base}-${n}` : base);
  }
  return out;
}

test('every relative link and #anchor in README.md and docs/ resolves', () => {
  const broken: string[] = [];
  let links = 0;
  for (const file of markdownFiles()) {
    for (const [n, line] of proseLines(file)) {
      for (const m of line.replace(/`[^`]*`/g, '').matchAll(/\[[^\]]*\]\(([^)\s]+)\)/g)) {
        const target = m[1];
        if (/^[a-z]+:/i.test(target)) continue; // http:, https:, mailto:
        links++;
        const [path, anchor] = target.split('#');
        const dest = path ? resolve(dirname(file), path) : file;
        const where = `${relative(root, file)}:${n}: ${target}`;
        if (!existsSync(dest)) broken.push(`${where}: no such file`);
        else if (anchor && dest.endsWith('.md') && !anchors(dest).has(anchor))
          broken.push(`${where}: no heading #${anchor}`);
      }
    }
  }
  assert.ok(links > 20, `found only ${links} links: the scan is broken`);
  assert.deepEqual(broken, []);
});
