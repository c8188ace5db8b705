#!/usr/bin/env node
// Builds dfan's native training kernels (native/build/dfan_native.node) with the system's C++
// compiler and the headers of the running Node. Runs at `npm install` / `npm ci` and at
// `npm run build`; skips when the sources are unchanged. Nothing is downloaded. When there is no
// compiler, no Node headers, or the build fails, it says so and exits 0: dfan then trains on
// tfjs-wasm (slower, same results in distribution). `--strict` makes a failure exit 1.
// Environment: CXX (compiler, default g++ then c++), DFAN_NATIVE=0 (skip the build).
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'build');
const target = join(out, 'dfan_native.node');
const stampFile = join(out, 'stamp.json');
const strict = process.argv.includes('--strict');
const quiet = process.argv.includes('--quiet');

function say(line) {
  if (!quiet) console.log(`dfan native kernels: ${line}`);
}

function giveUp(why) {
  console.log(`dfan native kernels: not built (${why}); training uses tfjs-wasm instead`);
  process.exit(strict ? 1 : 0);
}

if (process.env.DFAN_NATIVE === '0') giveUp('DFAN_NATIVE=0');

/** node_api.h of the running Node: beside its binary (official builds), or node-gyp's cache. */
function nodeHeaders() {
  const candidates = [
    join(dirname(process.execPath), '..', 'include', 'node'),
    process.config?.variables?.node_prefix && join(process.config.variables.node_prefix, 'include', 'node'),
    '/usr/include/node',
    '/usr/local/include/node',
    process.env.HOME && join(process.env.HOME, '.cache', 'node-gyp', process.versions.node, 'include', 'node'),
  ].filter(Boolean);
  return candidates.find((d) => existsSync(join(d, 'node_api.h')));
}

function compiler() {
  for (const cxx of [process.env.CXX, 'g++', 'c++', 'clang++'].filter(Boolean)) {
    try {
      execFileSync(cxx, ['--version'], { stdio: 'ignore' });
      return cxx;
    } catch {
      /* try the next */
    }
  }
  return null;
}

const headers = nodeHeaders();
if (!headers) giveUp('no Node headers (node_api.h) found beside node or in node-gyp\'s cache');
const cxx = compiler();
if (!cxx) giveUp('no C++ compiler (set CXX, or install g++)');

/** Run the compiler; its messages go to our stderr, a failure throws with the first of them. */
async function run(cmd, args) {
  try {
    const { stderr } = await promisify(execFile)(cmd, args, { maxBuffer: 16 << 20 });
    if (stderr && !quiet) process.stderr.write(stderr);
  } catch (e) {
    const msg = String(e.stderr ?? e.message ?? e);
    process.stderr.write(msg);
    throw new Error(msg.split('\n').find((l) => /error/.test(l)) ?? msg.split('\n')[0]);
  }
}

const x86 = process.arch === 'x64';
// one object per instruction set: [name, floats per vector, rows per tile, flags]
const variants = [['base', 4, 4, []]];
if (x86) {
  variants.push(['avx2', 8, 6, ['-mavx2', '-mfma']]);
  variants.push(['avx512', 16, 8, ['-mavx512f', '-mavx512vl', '-mavx512dq', '-mavx512bw', '-mavx2', '-mfma']]);
}
const common = ['-O3', '-std=c++17', '-fPIC', '-fno-math-errno', '-fvisibility=hidden', '-Wall'];
// the kernel sources, each compiled once per instruction set
const units = ['gemm.cc', 'spatial.cc', 'dropout.cc', 'kernels.cc'];
const sources = ['kernels.h', 'isa.h', ...units, 'addon.cc', 'build.mjs'].map((f) => readFileSync(join(here, f)));
const stamp = createHash('sha256')
  .update(JSON.stringify({ cxx, variants, common, node: process.versions.napi, arch: process.arch }))
  .update(Buffer.concat(sources))
  .digest('hex');
try {
  if (existsSync(target) && JSON.parse(readFileSync(stampFile, 'utf8')).stamp === stamp) {
    say('up to date');
    process.exit(0);
  }
} catch {
  /* rebuild */
}

mkdirSync(out, { recursive: true });
const tmp = join(out, `tmp-${process.pid}`);
mkdirSync(tmp, { recursive: true });
const t0 = Date.now();
try {
  // the instruction sets and units compile side by side
  const jobs = variants.flatMap(([name, vw, mr, flags]) =>
    units.map((unit) => ({ name, unit, args: [...flags, `-DDFAN_ISA=${name}`, `-DDFAN_VW=${vw}`, `-DDFAN_MR=${mr}`] })),
  );
  const objects = await Promise.all(
    jobs.map(async ({ name, unit, args }) => {
      const obj = join(tmp, `${unit.replace('.cc', '')}_${name}.o`);
      await run(cxx, [...common, ...args, '-c', join(here, unit), '-o', obj]);
      return obj;
    }),
  );
  const link = process.platform === 'darwin' ? ['-undefined', 'dynamic_lookup'] : [];
  const built = join(tmp, 'dfan_native.node');
  await run(cxx, [...common, `-I${headers}`, '-shared', join(here, 'addon.cc'), ...objects, ...link, '-o', built]);
  // the new file replaces the old one whole (a process that has the old one loaded keeps it)
  renameSync(built, target);
  writeFileSync(stampFile, JSON.stringify({ stamp, cxx, headers }));
  say(`built ${variants.map((v) => v[0]).join(', ')} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
} catch (e) {
  rmSync(tmp, { recursive: true, force: true });
  // an addon built from older sources must not be loaded with newer JavaScript
  rmSync(target, { force: true });
  rmSync(stampFile, { force: true });
  giveUp(`the compiler failed: ${e instanceof Error ? e.message : e}`);
}
rmSync(tmp, { recursive: true, force: true });
