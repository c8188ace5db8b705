import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { indexVideos } from '../../src/data/find.js';
import { parseCsv, parseManifest, readClassFolders, readManifest } from '../../src/data/manifest.js';
import { DfanError } from '../../src/errors.js';
import { testDir } from '../helpers/temp.js';

const dir = testDir('dfan-manifest-');

function touch(rel: string): string {
  const p = join(dir, rel);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, 'x');
  return p;
}

test('parseCsv handles quotes, doubled quotes, commas and newlines inside quotes, CRLF and BOM', () => {
  const text = '\ufeffa,b\r\n"x, y","say ""hi"""\r\n\r\n"multi\nline",z\n';
  const recs = parseCsv(text);
  assert.deepEqual(
    recs.map((r) => r.fields),
    [
      ['a', 'b'],
      ['x, y', 'say "hi"'],
      ['multi\nline', 'z'],
    ],
  );
  assert.deepEqual(
    recs.map((r) => r.line),
    [1, 2, 4],
  );
});

test('readManifest: paths relative to the CSV, odd names, missing videos listed, class order stable', () => {
  const a = touch('clips/Fear/[HD]Scary(2)^x=1 é.mp4');
  const b = touch('clips/Joy/a, "quoted".webm');
  const csv = join(dir, 'm.csv');
  writeFileSync(
    csv,
    [
      'label,split,video,notes',
      'Fear,train,clips/Fear/[HD]Scary(2)^x=1 é.mp4,',
      'Joy,TEST,"clips/Joy/a, ""quoted"".webm",x',
      'Joy,val,clips/Joy/gone.mp4,',
    ].join('\n'),
  );
  const ds = readManifest(csv);
  assert.equal(ds.name, 'm');
  assert.deepEqual(ds.classes, ['Fear', 'Joy']);
  assert.equal(ds.items.length, 2);
  assert.equal(ds.items[0].video, a);
  assert.equal(ds.items[1].video, b);
  assert.equal(ds.items[1].key, 'clips/Joy/a, "quoted".webm');
  assert.equal(ds.items[1].split, 'test');
  assert.deepEqual(
    ds.missing.map((m) => m.key),
    ['clips/Joy/gone.mp4'],
  );
  assert.equal(ds.missing[0].video, null);
  assert.equal(ds.missing[0].split, 'val');
});

test('readManifest errors name the file and the line', () => {
  const f = join(dir, 'bad.csv');
  const cases: Array<[string, RegExp]> = [
    ['video,label,split\na.mp4,Fear,training\n', /line 2: split "training"/],
    ['video,label\na.mp4,Fear\n', /no "split" column/],
    ['video,label,split\na.mp4,Fear,train\nb.mp4,Joy\n', /line 3: 2 fields/],
    ['video,label,split\na.mp4,Fear,train\n\na.mp4,Joy,test\n', /line 4: .*already listed on line 2/],
    ['video,label,split\n"a.mp4,Fear,train\n', /line 2: a quoted field is never closed/],
    ['video,label,split\na.mp4,,train\n', /line 2: empty label/],
    ['', /empty/],
  ];
  for (const [text, re] of cases) {
    assert.throws(
      () => parseManifest(text, f),
      (e: unknown) => e instanceof DfanError && e.file === f && re.test(e.message),
      text,
    );
  }
});

test('readClassFolders: a folder per class, and split folders', () => {
  const flat = join(dir, 'flat');
  touch('flat/Anger/x.mp4');
  touch('flat/Anger/sub/y.MKV');
  touch('flat/Joy/z.avi');
  touch('flat/Joy/readme.txt');
  const ds = readClassFolders(flat);
  assert.deepEqual(ds.classes, ['Anger', 'Joy']);
  assert.deepEqual(ds.items.map((i) => i.key).sort(), ['Anger/sub/y.MKV', 'Anger/x.mp4', 'Joy/z.avi']);
  assert.ok(ds.items.every((i) => i.split === 'train'));

  touch('split/train/Anger/a.mp4');
  touch('split/test/Anger/b.mp4');
  touch('split/test/Joy/c.mp4');
  const sp = readClassFolders(join(dir, 'split'));
  assert.deepEqual(sp.items.map((i) => `${i.split}:${i.label}:${i.key}`).sort(), [
    'test:Anger:test/Anger/b.mp4',
    'test:Joy:test/Joy/c.mp4',
    'train:Anger:train/Anger/a.mp4',
  ]);
  assert.throws(() => readClassFolders(join(dir, 'nope')), /does not exist/);
});

test('indexVideos finds list names with or without class folders, prefers the class folder', () => {
  touch('idx/Disgust/dup_700.mp4');
  touch('idx/Fear/dup_700.flv');
  touch('idx/flat/only_here.wmv');
  const idx = indexVideos(join(dir, 'idx'));
  assert.equal(idx.size, 3);
  assert.match(idx.find('Disgust/dup_700') ?? '', /Disgust\/dup_700\.mp4$/);
  assert.match(idx.find('Fear/dup_700') ?? '', /Fear\/dup_700\.flv$/);
  assert.match(idx.find('Joy/only_here') ?? '', /only_here\.wmv$/);
  assert.equal(idx.find('Joy/dup_700'), null, 'ambiguous basename outside its class folder');
  assert.equal(idx.find('Joy/absent'), null);
});
