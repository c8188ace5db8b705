/**
 * The direction test: data flows one way through dfan's stages, and every import in `src/` must
 * follow it. A module imports only from its own stage or an earlier one; nothing in `src/` imports
 * `research/`, `bench/` or `test/` (or anything else outside `src/`: the package ships `dist/src`
 * alone); the foundation imports nothing of dfan's. docs/architecture.md explains the stages.
 *
 * Every import counts: `import … from`, `export … from`, `import '…'`, `import type`, dynamic
 * `import('…')`, type positions (`typeof import('…')`) and `require('…')`.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';
import test from 'node:test';
import ts from 'typescript';
import { projectRoot } from '../src/version.js';
import { testDir } from './helpers/temp.js';

/**
 * The stages, first to last, in the order data flows (COMMON.md, docs/architecture.md): a module
 * imports only from its own row or the rows above it. A path ending in `/` is a folder (everything
 * below it); any other is one file. The shells (CLI, library API) sit last: they import every stage.
 */
const STAGE_TABLE = `
  foundation   src/errors.ts  src/version.ts  src/util/
  render       src/render/
  video        src/video/
  data         src/data/
  backbones    src/backbones/  src/packs/
  features     src/features/
  model        src/model/
  protocol     src/protocol/
  app          src/app/
  queue        src/queue/
  demo         src/demo/
  shell        src/commands/  src/program.ts  src/cli.ts  src/index.ts  src/library/
`;

const STAGES = STAGE_TABLE.trim()
  .split('\n')
  .map((row) => {
    const [stage, ...paths] = row.trim().split(/\s+/);
    return { stage, paths };
  });

/** The foundation imports nothing of dfan's (a src/util module may use a sibling in src/util). */
const FOUNDATION = 'foundation';

/** Folders beside src/ that the product must never import, named in the message. */
const NEVER_IMPORTED = ['research/', 'bench/', 'test/'];

interface Import {
  line: number;
  specifier: string;
}

/** Every module specifier a TypeScript source names, with its 1-based line. */
function importsOf(fileName: string, text: string): Import[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: Import[] = [];
  const add = (node: ts.Node | undefined): void => {
    if (!node || !ts.isStringLiteralLike(node)) return;
    const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
    found.push({ line, specifier: node.text });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) add(node.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference))
      add(node.moduleReference.expression);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node.argument.literal);
    else if (ts.isCallExpression(node) && isImportOrRequire(node.expression)) add(node.arguments[0]);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function isImportOrRequire(callee: ts.Expression): boolean {
  return (
    callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === 'require')
  );
}

/** The stage index of a repository path (posix, from the root), or -1 when no row holds it. */
function stageOf(path: string): number {
  return STAGES.findIndex((s) => s.paths.some((p) => (p.endsWith('/') ? path.startsWith(p) : path === p)));
}

/** The repository path (posix) a relative specifier names from `from`, `.js` read as the `.ts` source. */
function resolveSpecifier(from: string, specifier: string): string {
  return posix.normalize(posix.join(posix.dirname(from), specifier)).replace(/\.js$/, '.ts');
}

/** Why `from` (a src/ path) may not import `target` (a repository path), or undefined when it may. */
function violation(from: string, target: string): string | undefined {
  if (target.startsWith('../')) return 'reaches outside the repository';
  const never = NEVER_IMPORTED.find((p) => target.startsWith(p));
  if (never) return `src/ never imports ${never} (it is not part of the product)`;
  if (!target.startsWith('src/'))
    return 'src/ imports nothing outside src/ (the package ships dist/src only)';
  const a = stageOf(from);
  const b = stageOf(target);
  if (b < 0) return `${target} is in no stage: add it to the table in test/architecture.test.ts`;
  if (STAGES[a].stage === FOUNDATION) {
    const siblingUtil = from.startsWith('src/util/') && target.startsWith('src/util/');
    return siblingUtil ? undefined : 'the foundation (errors, version, util) imports nothing of dfan’s';
  }
  if (b > a) return `stage ${STAGES[a].stage} imports the later stage ${STAGES[b].stage}`;
  return undefined;
}

/** Every violation in a set of `src/` files (repository path → text), one line each. */
function checkSources(files: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  for (const [path, text] of files) {
    if (stageOf(path) < 0) {
      out.push(`${path}: is in no stage: add it to the table in test/architecture.test.ts`);
      continue;
    }
    for (const { line, specifier } of importsOf(path, text)) {
      if (!specifier.startsWith('.') && !specifier.startsWith('/')) continue; // node: and npm packages
      const why = violation(path, resolveSpecifier(path, specifier));
      if (why) out.push(`${path}:${line}: import '${specifier}': ${why}`);
    }
  }
  return out;
}

/** Every .ts file below `dir`, as repository path (posix, from `root`) → text. */
function readTree(root: string, dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts'))
        files.set(relative(root, p).split(sep).join('/'), readFileSync(p, 'utf8'));
    }
  };
  walk(join(root, dir));
  return files;
}

test('every import in src/ follows the stage order (foundation → … → shell)', () => {
  const files = readTree(projectRoot(), 'src');
  assert.ok(files.size > 50, `read only ${files.size} files from src/`);
  const found = checkSources(files);
  assert.equal(found.length, 0, `imports against the stage order:\n  ${found.join('\n  ')}`);
});

test('the checker sees every form of import and names file, line and import', () => {
  const src = new Map([
    [
      'src/video/decode.ts',
      [
        "import { a } from '../model/dfan.js';", // 1: static, later stage
        "import type { B } from '../features/types.js';", // 2: type-only, later stage
        "export { c } from '../app/predict.js';", // 3: re-export, later stage
        "import '../queue/worker.js';", // 4: side effect, later stage
        "const d = await import('../demo/run.js');", // 5: dynamic, later stage
        "type E = typeof import('../protocol/run.js');", // 6: type position, later stage
        "import { f } from '../../research/probe/x.js';", // 7: research
        "import { g } from '../../bench/util.js';", // 8: bench
        "import { h } from '../../test/helpers/temp.js';", // 9: test
        "import { i } from '../errors.js';", // 10: earlier stage: fine
        "import { j } from './probe.js';", // 11: same stage: fine
        "import { k } from 'node:fs';", // 12: not dfan's: fine
        "const l = require('../backbones/onnx.js');", // 13: require, later stage
        "// import { m } from '../model/x.js';", // 14: a comment: not an import
      ].join('\n'),
    ],
    ['src/util/hash.ts', "import { x } from '../errors.js';\nimport { y } from './random.js';"],
    ['src/errors.ts', "import { z } from './version.js';"],
    ['src/commands/x.ts', "import { w } from '../demo/run.js';\nimport { v } from '../../bench/util.js';"],
    ['src/newstage/x.ts', "import { u } from '../errors.js';"],
  ]);
  const found = checkSources(src);
  const lines = (path: string) => found.filter((f) => f.startsWith(`${path}:`)).map((f) => f.split(':')[1]);
  assert.deepEqual(lines('src/video/decode.ts'), ['1', '2', '3', '4', '5', '6', '7', '8', '9', '13']);
  assert.match(
    found[0],
    /^src\/video\/decode\.ts:1: import '\.\.\/model\/dfan\.js': stage video imports the later stage model$/,
  );
  assert.match(found[6], /never imports research\//);
  assert.deepEqual(lines('src/util/hash.ts'), ['1'], 'util may use util, not errors');
  assert.deepEqual(lines('src/errors.ts'), ['1']);
  assert.deepEqual(lines('src/commands/x.ts'), ['2'], 'the shell imports every stage, never bench/');
  assert.ok(
    found.includes('src/newstage/x.ts: is in no stage: add it to the table in test/architecture.test.ts'),
    'a folder outside the table is named',
  );
});

test('the checker reads files from disk and catches an import added to a real tree', () => {
  const root = testDir('dfan-arch-');
  mkdirSync(join(root, 'src', 'data'), { recursive: true });
  writeFileSync(join(root, 'src', 'data', 'a.ts'), "import { f } from '../features/store.js';\n");
  const found = checkSources(readTree(root, 'src'));
  assert.deepEqual(found, [
    "src/data/a.ts:1: import '../features/store.js': stage data imports the later stage features",
  ]);
});
