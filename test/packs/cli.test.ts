import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCliSync } from '../helpers/cli.js';
import { needShared, sharedPath } from '../helpers/shared.js';
import { testDir } from '../helpers/temp.js';

function dfan(args: string[], cache: string) {
  const r = runCliSync(args, { env: { ...process.env, DFAN_CACHE: cache }, timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('dfan pack install / list / verify from the command line, with exit codes', async () => {
  const src = testDir('dfan-packcli-src-');
  const cache = testDir('dfan-packcli-cache-');
  const bytes = Buffer.from('not really weights, but hashed like them\n'.repeat(100));
  await writeFile(join(src, 'w.bin'), bytes);
  await writeFile(
    join(src, 'pack.json'),
    JSON.stringify({
      format: 'dfan-pack@1',
      id: 'clitest',
      version: '2.0.0',
      description: 'test',
      streams: [{ name: 'object', kind: 'vector', backbone: 'x', description: 'bytes for a CLI test' }],
      files: [
        {
          name: 'w.bin',
          size: bytes.length,
          sha256: createHash('sha256').update(bytes).digest('hex'),
          licence: 'MIT',
        },
      ],
      backbones: [],
    }),
  );
  let r = dfan(['pack', 'list'], cache);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^default/m);
  assert.match(r.out, /no pack installed/);

  r = dfan(['pack', 'install', src, '--no-progress'], cache);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /installed clitest@2\.0\.0: 1 files/);

  r = dfan(['pack', 'list', '--json'], cache);
  const listed = JSON.parse(r.out) as { packs: Array<{ id: string; streams: unknown[] }> };
  assert.deepEqual(
    listed.packs.map((p) => p.id),
    ['default', 'clitest'],
  );

  r = dfan(['pack', 'verify', 'clitest'], cache);
  assert.equal(r.code, 0, r.err);
  const installed = join(cache, 'packs', 'clitest', 'w.bin');
  const b = readFileSync(installed);
  b[5] ^= 0x20;
  writeFileSync(installed, b);
  r = dfan(['pack', 'verify'], cache);
  assert.equal(r.code, 1);
  assert.match(r.out, /BAD clitest/);
  assert.match(r.err, /failed verification/);

  r = dfan(['pack', 'install', join(src, 'nope')], cache);
  assert.notEqual(r.code, 0);
  assert.match(r.err, /not found/);
  r = dfan(['pack', 'verify', 'absent'], cache);
  assert.equal(r.code, 1);
  assert.match(r.err, /not installed/);
});

test('dfan pack list says what the research pack streams are today: the object map sees the whole frame', {
  skip: needShared('models', 'mobilenetv2-12-int8-feat.onnx'),
}, async () => {
  const cache = testDir('dfan-packcli-research-');
  let r = dfan(['pack', 'install', sharedPath('models'), '--id', 'research', '--no-progress'], cache);
  assert.equal(r.code, 0, r.err);
  // a copy installed before revision 2 says "centre crop"; the listing must say what the code does
  const installedJson = join(cache, 'packs', 'research', 'pack.json');
  writeFileSync(
    installedJson,
    readFileSync(installedJson, 'utf8').replace(
      '(whole frame stretched to 448², 2×2 tiles of 224², their 7×7 maps put side by side)',
      '(short side 256, centre crop 224)',
    ),
  );
  assert.match(readFileSync(installedJson, 'utf8'), /centre crop 224/);
  r = dfan(['pack', 'list'], cache);
  assert.equal(r.code, 0, r.err);
  const object = r.out.split('\n').find((l) => /^\s+object +MobileNetV2-1\.0/.test(l)) ?? '';
  assert.match(object, /whole frame stretched to 448², 2×2 tiles/, r.out);
  assert.doesNotMatch(object, /centre crop/);
  r = dfan(['pack', 'list', '--json'], cache);
  const listed = JSON.parse(r.out) as {
    packs: Array<{ id: string; streams: Array<{ description: string }> }>;
  };
  const research = listed.packs.find((p) => p.id === 'research');
  assert.ok(research?.streams.some((s) => /whole frame/.test(s.description)));
});
