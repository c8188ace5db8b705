/**
 * dfan as a consumer gets it: `npm pack` the built tree, install the tarball into a scratch
 * project the way the README says (npm's cache first; onnxruntime-node told to skip its CUDA
 * download with ONNXRUNTIME_NODE_INSTALL=skip), then TypeScript resolves `'dfan'` to its
 * declarations, an ESM script imports it and predicts on a real clip, and the installed `dfan`
 * bin answers `--help` and `predict` with the same prediction. ≈350 packages (1 GB) come from
 * npm's cache (the registry is asked only for metadata the cache lacks): about 30 s of CPU, a
 * minute or two of wall time as the disk allows, most of it the install and removing it after.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { projectRoot } from '../../src/version.js';
import { execute, type Ran } from '../helpers/cli.js';
import { needShared, sharedPath } from '../helpers/shared.js';
import { testDir } from '../helpers/temp.js';
import { timeless } from './helpers.js';

const root = projectRoot();
const scratch = testDir('dfan-library-package-');
const app = join(scratch, 'app');
const bin = join(app, 'node_modules', '.bin', 'dfan');
let packed: { filename: string; files: Array<{ path: string }> } = { filename: '', files: [] };

/**
 * The environment of a consumer's shell: none of the npm_* variables `npm test` exports (a nested
 * npm would read them as its own config), plus the one the README tells consumers to set.
 */
function consumerEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  return { ...env, ONNXRUNTIME_NODE_INSTALL: 'skip' };
}

const exec = (file: string, args: string[], cwd: string): Promise<Ran> =>
  execute(file, args, { cwd, env: consumerEnv(), timeout: 600_000 });

before(async () => {
  // the build `npm test` just made, as it is: a `prepare` rebuild would rewrite the suite under it
  const pack = await exec('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', scratch], root);
  assert.equal(pack.code, 0, pack.stderr);
  [packed] = JSON.parse(pack.stdout);
  mkdirSync(app);
  writeFileSync(
    join(app, 'package.json'),
    '{ "name": "dfan-consumer", "private": true, "type": "module" }\n',
  );
  const install = await exec(
    'npm',
    ['install', join(scratch, packed.filename), '--prefer-offline', '--no-audit', '--no-fund'],
    app,
  );
  assert.equal(install.code, 0, `npm install of the tarball failed:\n${install.stderr}`);
});

test('the tarball holds the built library, its declarations, the bin and the web page; no tests, no sources', () => {
  const paths = packed.files.map((f) => f.path);
  for (const p of [
    'dist/src/index.js',
    'dist/src/index.d.ts',
    'dist/src/cli.js',
    'web/index.html',
    'package.json',
  ])
    assert.ok(paths.includes(p), `${p} is packed`);
  assert.deepEqual(
    paths.filter(
      (p) => /^(src|test|bench|research|dist\/(test|bench|research))\//.test(p) || p.endsWith('.map'),
    ),
    [],
  );
});

test('installed: TypeScript resolves the types of "dfan" (a wrong option is a compile error)', async () => {
  writeFileSync(
    join(app, 'check.ts'),
    `import { createRecognizer, type Metrics, type Prediction, type RecognizerConfig } from 'dfan';
import { sampleSnippets } from 'dfan/dist/src/video/index.js'; // the deep imports docs/ shows still resolve
const config: RecognizerConfig = { model: 'default', snippets: 16 };
const recognizer = await createRecognizer(config);
const p: Prediction = await recognizer.predict('clip.mp4');
const top: string = p.labels[0].label;
const weights: number[] = p.snippets.map((s) => s.weight);
const accuracy = (m: Metrics): number => m.accuracy;
const keyTimes: number[] = sampleSnippets(10, 16, 8).map((s) => s.keyTime);
// @ts-expect-error: "modle" is not an option
await createRecognizer({ modle: 'default' });
export { accuracy, keyTimes, top, weights };
`,
  );
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const flags = ['--noEmit', '--strict', '--skipLibCheck', '--target', 'es2022', '--module', 'nodenext'];
  const r = await exec(process.execPath, [tsc, ...flags, 'check.ts'], app);
  assert.equal(r.code, 0, r.stdout + r.stderr);
});

test('installed: `dfan --help` lists the commands', async () => {
  const r = await exec(bin, ['--help'], app);
  assert.equal(r.code, 0, r.stderr);
  for (const verb of ['predict', 'extract', 'train', 'eval', 'serve'])
    assert.match(r.stdout, new RegExp(`\\b${verb}\\b`));
});

const SINGLE_FACE = 'media/single_face.mp4';

test('installed: an ESM script imports "dfan" and predicts on a real clip, as the installed `dfan predict` does', {
  skip: needShared(SINGLE_FACE),
}, async () => {
  const clip = sharedPath(SINGLE_FACE);
  writeFileSync(
    join(app, 'predict.mjs'),
    `import { createRecognizer, version } from 'dfan';
const recognizer = await createRecognizer();
const prediction = await recognizer.predict(process.argv[2]);
await recognizer.dispose();
process.stdout.write(JSON.stringify({ version, prediction }));
`,
  );
  const script = await exec(process.execPath, ['predict.mjs', clip], app);
  assert.equal(script.code, 0, script.stderr);
  assert.equal(script.stderr, '', 'the library prints nothing');
  const { version, prediction } = JSON.parse(script.stdout);
  assert.equal(version, JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version);
  assert.equal(prediction.model.kind, 'zero-shot');
  assert.equal(prediction.labels[0].label, 'joy');
  const cli = await exec(bin, ['predict', clip, '--json'], app);
  assert.equal(cli.code, 0, cli.stderr);
  assert.deepEqual(timeless(prediction), timeless(JSON.parse(cli.stdout)));
});
