/**
 * The whole protocol on a small generated dataset laid out like VE-8: class folders, odd file
 * names, a name that already ends in ".mp4" (VAANet style), mixed containers, one listed video
 * that is missing, two splits. Real ffmpeg decoding, a cheap colour pack, a tiny DFAN.
 */

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ExcelJS from 'exceljs';
import { openDataset } from '../../src/data/open.js';
import { datasetStats } from '../../src/data/stats.js';
import { isSplitResult, type ProtocolReport } from '../../src/protocol/report.js';
import { runProtocol } from '../../src/protocol/run.js';
import { decodePng } from '../../src/render/index.js';
import { CLI } from '../helpers/cli.js';
import { lavfiClip, X264_FAST } from '../helpers/ffmpeg.js';
import { needSlow } from '../helpers/shared.js';
import { testDir } from '../helpers/temp.js';

const tmp = testDir('dfan-protocol-');
const PACK = fileURLToPath(new URL('./colour-pack.js', import.meta.url));

const CLASSES: Array<[string, string[]]> = [
  ['Anger', ['0xD02020', '0xE03030', '0xC01818', '0xF04040', '0xB01010']],
  ['Fear', ['0x101040', '0x181850', '0x080830', '0x202060', '0x000028']],
  ['Joy', ['0xE0E020', '0xF0F040', '0xD0D010', '0xFFFF50', '0xC0C000']],
];
// [class, list name, file name] — odd names on purpose
const NAMES: Record<string, Array<[string, string]>> = {
  Anger: [
    ['road rage (1)', 'road rage (1).mp4'],
    ['a,b "quoted"', 'a,b "quoted".mkv'],
    ['Anger_3', 'Anger_3.avi'],
    ['Anger_4', 'Anger_4.mp4'],
    ['Anger_5', 'Anger_5.mp4'],
  ],
  Fear: [
    ['[HD]Scary(2)^x=1 é', '[HD]Scary(2)^x=1 é.mp4'],
    ['3527012618_7ceb8fb27b_700', '3527012618_7ceb8fb27b_700.mp4'],
    ['Fear_3', 'Fear_3.mp4'],
    ['Fear_4', 'Fear_4.webm'],
    ['Fear_5', 'Fear_5.mp4'],
  ],
  Joy: [
    ['EmilysBirthdaySurprise.mp4', 'EmilysBirthdaySurprise.mp4.mp4'],
    ['Joy_2', 'Joy_2.mov'],
    ['Joy_3', 'Joy_3.mp4'],
    ['Joy_4', 'Joy_4.mp4'],
    ['Joy_5', 'Joy_5.mp4'],
  ],
};
const MISSING = 'Anger/never_downloaded';
const lists = join(tmp, 'gen-ve8');
const root = join(tmp, 'videos');

function makeVideo(path: string, colour: string): void {
  const codec = path.endsWith('.webm')
    ? ['-c:v', 'libvpx', '-b:v', '100k']
    : path.endsWith('.avi')
      ? ['-c:v', 'mpeg4']
      : X264_FAST;
  lavfiClip(path, `color=c=${colour}:s=32x24:d=1:r=10,format=yuv420p`, codec);
}

before(() => {
  mkdirSync(lists, { recursive: true });
  writeFileSync(join(lists, 'classInd.txt'), CLASSES.map(([c], i) => `${i + 1} ${c}`).join('\n'));
  const train: string[][] = [[], []];
  const test: string[][] = [[], []];
  for (const [k, [cls, colours]] of CLASSES.entries()) {
    mkdirSync(join(root, cls), { recursive: true });
    for (const [j, [name, file]] of NAMES[cls].entries()) {
      makeVideo(join(root, cls, file), colours[j]);
      // split 1 tests videos 0-1 of each class, split 2 videos 3-4
      const s1 = j < 2 ? 'test' : 'train';
      const s2 = j >= 3 ? 'test' : 'train';
      for (const [s, where] of [
        [0, s1],
        [1, s2],
      ] as const) {
        if (where === 'train') train[s].push(`${cls}/${name} ${k + 1}`);
        else test[s].push(`${cls}/${name}`);
      }
    }
  }
  train[0].push(`${MISSING} 1`);
  test[1].push(MISSING);
  for (const s of [0, 1]) {
    writeFileSync(join(lists, `trainlist0${s + 1}.txt`), `${train[s].join('\n')}\n`);
    writeFileSync(join(lists, `testlist0${s + 1}.txt`), `${test[s].join('\n')}\n`);
  }
});

test('generated VE-8-like dataset: every listed video is found except the missing one', async () => {
  const src = await openDataset(lists, { root });
  assert.deepEqual(src.splits, [1, 2]);
  for (const n of src.splits) {
    const s = datasetStats(src.load(n));
    assert.equal(s.total, 16);
    assert.equal(s.videos?.found, 15);
    assert.deepEqual(s.videos?.missingKeys, [MISSING]);
  }
  const ds = src.load(1);
  assert.match(ds.items.find((i) => i.key === 'Joy/EmilysBirthdaySurprise.mp4')?.video ?? '', /\.mp4\.mp4$/);
  assert.match(
    ds.items.find((i) => i.key === 'Fear/[HD]Scary(2)^x=1 é')?.video ?? '',
    /Scary\(2\)\^x=1 é\.mp4$/,
  );
});

test('protocol end to end: extract once, 2 splits, report, confusion PNGs, resume', async () => {
  const out = join(tmp, 'out');
  const lines: string[] = [];
  const opts = {
    target: lists,
    root,
    out,
    pack: PACK,
    T: 4,
    K: 2,
    inflight: 4,
    model: { projDim: 16, spatialHidden: 8, temporalHidden: 8, dropout: 0.1 },
    train: { epochs: 12, batchSize: 4, lr: 0.01, seed: 3, patience: 0 },
    log: (l: string) => {
      lines.push(l);
      if (process.env.DFAN_TEST_LOG) process.stderr.write(`${(performance.now() / 1000).toFixed(1)} ${l}\n`);
    },
  };
  const first = await runProtocol(opts);
  assert.equal(first.computed.length, 2);
  assert.equal(first.reused.length, 0);
  assert.ok(
    lines.some((l) => /extracting features of 15 videos/.test(l)),
    lines.join('\n'),
  );
  assert.ok(lines.some((l) => /1 listed video\(s\) not found/.test(l)));

  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as ProtocolReport;
  assert.equal(report.packId, 'test-colour@1');
  assert.deepEqual(report.dataset.missingKeys, [MISSING]);
  const dual = report.variants.dual;
  assert.equal(dual.splits.length, 2);
  for (const s of dual.splits) {
    assert.ok(isSplitResult(s));
    assert.equal(s.testListed, s.split === 1 ? 6 : 7);
    assert.equal(s.evaluated, 6, 'the missing video is not evaluated');
    assert.equal(
      s.metrics.confusion.flat().reduce((a, b) => a + b, 0),
      6,
    );
    assert.ok(s.trainSize + s.valSize <= 9, 'train + val come from the training list only');
    const png = decodePng(readFileSync(join(out, 'dual', `split-0${s.split}`, 'confusion.png')));
    assert.ok(png.width > 50 && png.height > 50);
    assert.ok(existsSync(join(out, 'dual', `split-0${s.split}`, 'run', 'config.json')));
  }
  const accs = dual.splits.map((s) => s.metrics.accuracy);
  const mean = (accs[0] + accs[1]) / 2;
  assert.ok(Math.abs(dual.mean - mean) < 1e-9);
  assert.ok(Math.abs(dual.std - Math.abs(accs[0] - accs[1]) / Math.SQRT2) < 1e-9, 'sample std of two values');
  // the classes differ by colour: a model that learned anything beats chance (1/3) on average
  assert.ok(dual.mean > 0.5, `mean accuracy ${dual.mean}`);
  const md = readFileSync(join(out, 'report.md'), 'utf8');
  assert.match(md, /test accuracy \*\*\d+\.\d % ± \d+\.\d\*\*/);
  assert.match(md, /TEST PACK: mean colour per quadrant/);
  assert.match(md, /never_downloaded/);
  assert.match(md, /validation slice carved from each split’s TRAINING videos/);

  // dfan eval --keyclips on split 1's run: annotations matched to items by original file name
  const kc = join(tmp, 'Attributes.xlsx');
  const wb = new ExcelJS.Workbook();
  for (const [cls] of CLASSES) {
    const ws = wb.addWorksheet(cls);
    ws.addRow([cls, null, null, null, 'key length', 'video length']);
    for (const [_name, file] of NAMES[cls])
      ws.addRow([
        `${cls.toLowerCase()}/${file.replace(/\.[^.]+$/, '')}.mp4`,
        "0'0-0'0",
        null,
        null,
        "0'0",
        "0'1",
      ]);
  }
  await wb.xlsx.writeFile(kc);
  const evalOut = execFileSync(
    process.execPath,
    [CLI, 'eval', '--run', join(out, 'dual', 'split-01', 'run'), '--dataset', lists, '--keyclips', kc],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  assert.match(evalOut, /Key-clip attribution .*: 6\/6 evaluated videos annotated/);
  const att = JSON.parse(
    readFileSync(join(out, 'dual', 'split-01', 'run', 'attribution-test.json'), 'utf8'),
  ) as {
    matched: number;
    summary: { n: number };
  };
  assert.equal(att.matched, 6);
  assert.equal(att.summary.n, 0, 'empty key clips are not scored');

  // resume: nothing is recomputed, extraction keeps every file
  lines.length = 0;
  const again = await runProtocol(opts);
  assert.equal(again.computed.length, 0);
  assert.equal(again.reused.length, 2);
  assert.ok(
    lines.some((l) => /0 extracted, 15 kept/.test(l)),
    lines.join('\n'),
  );
  assert.deepEqual(
    again.report.variants.dual.splits.map((s) => s.metrics.accuracy),
    accs,
  );
  // a damaged result is redone, alone
  writeFileSync(join(out, 'dual', 'split-02', 'result.json'), '{"format":"dfan-protocol-split"');
  const third = await runProtocol(opts);
  assert.deepEqual(
    third.computed.map((c) => c.split),
    [2],
  );
  assert.equal(third.report.variants.dual.splits[1].metrics.accuracy, accs[1], 'same seed → same result');
});

test('protocol --ablation through the CLI (slow)', { skip: needSlow() }, () => {
  const out = join(tmp, 'ablation');
  const stderr = execFileSync(
    process.execPath,
    [
      CLI,
      'protocol',
      lists,
      '--root',
      root,
      '--out',
      out,
      '--pack',
      PACK,
      '--snippets',
      '4',
      '--ablation',
      '--epochs',
      '8',
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  assert.match(stderr, /report\.md/);
  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as ProtocolReport;
  assert.deepEqual(Object.keys(report.variants), ['mean', 'temporal', 'spatial', 'dual']);
  assert.match(readFileSync(join(out, 'report.md'), 'utf8'), /\| mean \| – \| – \|/);
});
