/**
 * `dfan features import` on arrays written by NumPy itself (Debian's python3-numpy): every
 * layout lands where it should, time steps pool into snippets, broken files fail their video
 * only with an error naming the file, a second run resumes, and the imported store trains and
 * evaluates without any video.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { importFeatures } from '../../src/features/import.js';
import { readImportIndex } from '../../src/features/import-index.js';
import { FeatureStore } from '../../src/features/store.js';
import { runCliSync } from '../helpers/cli.js';
import { needPython, PYTHON } from '../helpers/python.js';
import { testDir } from '../helpers/temp.js';

const skip = needPython(['numpy'], 'python3-numpy');

function python(script: string, cwd: string): void {
  const r = spawnSync(PYTHON, ['-c', script], { cwd, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

// value(t, h, w, c) = t·1000 + h·100 + w·10 + c: where each number lands says which axis is which
const WRITE_LAYOUTS = `
import numpy as np
T, H, W, C = 4, 2, 3, 5
t, h, w, c = np.meshgrid(np.arange(T), np.arange(H), np.arange(W), np.arange(C), indexing='ij')
thwc = (t * 1000 + h * 100 + w * 10 + c).astype(np.float32)            # [T,H,W,C]
np.save('thwc.npy', thwc)
np.save('tchw_f8.npy', thwc.transpose(0, 3, 1, 2).astype(np.float64))  # [T,C,H,W]
np.save('cthw_fortran.npy', np.asfortranarray(thwc.transpose(3, 0, 1, 2)))  # [C,T,H,W]
tokens = np.full((T, 5 + H * W, C), -1.0, dtype=np.float16)             # class + 4 registers first
tokens[:, 5:, :] = thwc.reshape(T, H * W, C)
np.save('tokens_f16.npy', tokens)
video = np.concatenate([np.full((T, 1, C), -9.0), thwc.reshape(T, H * W, C), thwc.reshape(T, H * W, C) + 4], 1)
np.save('video_tokens.npy', video.astype(np.float32))                  # [T, 1 + 2·H·W, C]: T' = 2
vec = (np.arange(8)[:, None] * 10 + np.arange(3)[None, :]).astype('>f4')   # [8 steps, 3], big-endian
np.savez('both.npz', action=vec, other=np.zeros((8, 2), np.int16))
np.savez_compressed('audio.npz', vec.astype(np.int64))
`;

test('every layout lands in [T,H,W,C]; .npz by name, compressed, Fortran order, big-endian, float16, int64', {
  skip,
}, async () => {
  const dir = testDir('dfan-import-');
  python(WRITE_LAYOUTS, dir);
  writeFileSync(
    join(dir, 'index.csv'),
    [
      'video,stream,file,layout,grid,duration',
      'a/v1.mp4,m1,thwc.npy,THWC,,8',
      'a/v1.mp4,m2,tchw_f8.npy,TCHW,,8',
      'a/v1.mp4,m3,cthw_fortran.npy,CTHW,,8',
      'a/v1.mp4,m4,tokens_f16.npy,TLC,2x3,8',
      'a/v1.mp4,m5,video_tokens.npy,TLC,2x2x3,8',
    ].join('\n'),
  );
  const s = await importFeatures(readImportIndex(join(dir, 'index.csv')), join(dir, 'feats'), {
    snippets: 'keep',
  });
  assert.deepEqual([s.done, s.failed.length], [1, 0], JSON.stringify(s.failed));
  const vf = await (await FeatureStore.open(join(dir, 'feats'))).load('a/v1.mp4');
  for (const name of ['m1', 'm2', 'm3', 'm4', 'm5']) {
    const m = vf.streams[name];
    assert.deepEqual(m.shape, [4, 2, 3, 5], name);
    for (const [t, h, w, c] of [
      [0, 0, 0, 0],
      [3, 1, 2, 4],
      [2, 0, 1, 3],
    ]) {
      // m5 averages its two T' grids, value and value + 4 (maps are float16: keep them exact)
      const want = t * 1000 + h * 100 + w * 10 + c + (name === 'm5' ? 2 : 0);
      assert.equal(m.data[((t * 2 + h) * 3 + w) * 5 + c], want, `${name} ${[t, h, w, c]}`);
    }
    assert.equal(vf.meta.streams.find((x) => x.name === name)?.kind, 'map');
  }
  assert.deepEqual(vf.snippets[1], { start: 2, end: 4, keyTime: 3 }, '4 steps over 8 s: 2 s each');

  writeFileSync(
    join(dir, 'vec.csv'),
    ['video,stream,file,layout', 'v2,action,both.npz:action,TC', 'v2,audio,audio.npz,TC'].join('\n'),
  );
  const s2 = await importFeatures(readImportIndex(join(dir, 'vec.csv')), join(dir, 'feats2'), {
    snippets: 4,
  });
  assert.deepEqual([s2.done, s2.failed.length], [1, 0], JSON.stringify(s2.failed));
  const v2 = await (await FeatureStore.open(join(dir, 'feats2'))).load('v2');
  // 8 steps pooled into 4 snippets: the mean of steps (0,1), (2,3), …: row k = 10·k + c
  assert.deepEqual(Array.from(v2.streams.action.data.subarray(0, 6)), [5, 6, 7, 25, 26, 27]);
  assert.deepEqual(Array.from(v2.streams.audio.data.subarray(9, 12)), [65, 66, 67]);
  assert.match(v2.meta.warnings.join(' '), /no duration/);
});

test('broken arrays fail their video with the file named; the rest is imported; a rerun resumes', {
  skip,
}, async () => {
  const dir = testDir('dfan-import-bad-');
  python(
    `
import numpy as np
for i in range(4):
    np.save(f'ok{i}.npy', np.random.RandomState(i).rand(10, 6).astype(np.float32))
np.save('rank3.npy', np.zeros((10, 2, 6), np.float32))
np.save('strings.npy', np.array(['a', 'b']))
np.save('complex.npy', np.zeros((10, 6), np.complex64))
np.save('cut.npy', np.zeros((10, 6), np.float32))
np.save('wide.npy', np.zeros((10, 7), np.float32))
np.savez('cut.npz', x=np.zeros((10, 6), np.float32))
`,
    dir,
  );
  truncateSync(join(dir, 'cut.npy'), 100);
  truncateSync(join(dir, 'cut.npz'), 150);
  const rows = [
    'video,stream,file,layout',
    'good0,action,ok0.npy,TC',
    'rank,action,rank3.npy,TC',
    'good1,action,ok1.npy,TC',
    'strings,action,strings.npy,TC',
    'complex,action,complex.npy,TC',
    'cut,action,cut.npy,TC',
    'cutz,action,cut.npz,TC',
    'missing,action,nowhere.npy,TC',
    'badlayout,action,ok2.npy,XYZ',
    'wide,action,wide.npy,TC',
    'good2,action,ok3.npy,TC',
  ];
  writeFileSync(join(dir, 'index.csv'), rows.join('\n'));
  const out = join(dir, 'feats');
  const s = await importFeatures(readImportIndex(join(dir, 'index.csv')), out, { snippets: 5 });
  assert.equal(s.done, 3);
  const why = Object.fromEntries(s.failed.map((f) => [f.key, f.error]));
  assert.deepEqual(Object.keys(why).sort(), [
    'badlayout',
    'complex',
    'cut',
    'cutz',
    'missing',
    'rank',
    'strings',
    'wide',
  ]);
  assert.match(why.rank, /rank3\.npy: action: array of shape \(10, 2, 6\) has 3 axes; layout TC has 2/);
  assert.match(why.strings, /strings\.npy: dtype <U1 is not a number type/);
  assert.match(why.complex, /complex\.npy: dtype <c8 is not a number type/);
  assert.match(why.cut, /cut\.npy: truncated \.npy file/);
  assert.match(why.cutz, /cut\.npz.*(truncated|central directory)/);
  assert.match(why.missing, /nowhere\.npy: action: cannot read the array file/);
  assert.match(why.badlayout, /layout "XYZ" is not one of/);
  assert.match(why.wide, /wide\.npy: action: is \[T,7\] but the videos before it are \[T,6\]/);
  const store = await FeatureStore.open(out);
  assert.deepEqual(store.keys().sort(), ['good0', 'good1', 'good2']);
  assert.equal(store.failures().length, 8, 'failures are recorded in index.json');

  // a rerun skips what is done; a changed array is imported again; --force redoes all
  const again = await importFeatures(readImportIndex(join(dir, 'index.csv')), out, { snippets: 5 });
  assert.deepEqual([again.done, again.skipped], [0, 3]);
  python(`import numpy as np; np.save('ok1.npy', np.ones((10, 6), np.float32))`, dir);
  const changed = await importFeatures(readImportIndex(join(dir, 'index.csv')), out, { snippets: 5 });
  assert.deepEqual([changed.done, changed.skipped], [1, 2]);
  assert.deepEqual(Array.from((await store.load('good1')).streams.action.data.subarray(0, 2)), [1, 1]);
  const forced = await importFeatures(readImportIndex(join(dir, 'index.csv')), out, {
    snippets: 5,
    force: true,
  });
  assert.equal(forced.done, 3);
});

test('dfan features import → dfan train → dfan eval, no video anywhere', { skip }, () => {
  const dir = testDir('dfan-import-cli-');
  // 24 videos of 2 classes: the class shows in channel 0 of a 2×2 map at steps 3–5 of 12
  python(
    `
import numpy as np
rs = np.random.RandomState(0)
rows, man = ['video,stream,file,layout,duration'], ['video,label,split']
for i in range(24):
    y = i % 2
    m = rs.randn(6, 12, 2, 2).astype(np.float32) * 0.3     # [C,T,H,W]
    m[0, 3:6, 1, 0] += 3.0 if y else -3.0
    np.save(f'v{i}.npy', m)
    np.save(f'a{i}.npy', rs.randn(12, 4).astype(np.float32))
    key = f'{"pos" if y else "neg"}/v{i}.mp4'
    rows += [f'{key},object,v{i}.npy,CTHW,6', f'{key},action,a{i}.npy,TC,6']
    man.append(f'{key},{"pos" if y else "neg"},{"test" if i >= 16 else "train"}')
open('index.csv', 'w').write('\\n'.join(rows) + '\\n')
open('manifest.csv', 'w').write('\\n'.join(man) + '\\n')
`,
    dir,
  );
  const dfan = (...args: string[]) => runCliSync(args, { cwd: dir });
  const imp = dfan('features', 'import', 'index.csv', '--out', 'feats', '--snippets', '6', '--no-progress');
  assert.equal(imp.status, 0, imp.stderr);
  assert.match(imp.stderr, /imported 24, skipped 0 \(already done\), failed 0 of 24/);
  const again = dfan('features', 'import', 'index.csv', '--out', 'feats', '--snippets', '6', '--no-progress');
  assert.match(again.stderr, /imported 0, skipped 24/);
  const tr = dfan(
    'train',
    '--features',
    'feats',
    '--dataset',
    'manifest.csv',
    '--out',
    'run',
    '--epochs',
    '40',
    '--ensemble',
    '1',
  );
  assert.equal(tr.status, 0, tr.stderr);
  const ev = dfan('eval', '--run', 'run', '--dataset', 'manifest.csv', '--json');
  assert.equal(ev.status, 0, ev.stderr);
  const metrics = JSON.parse(ev.stdout);
  assert.equal(metrics.n, 8);
  assert.ok(metrics.accuracy >= 0.75, `a cue this strong is learnt: ${metrics.accuracy}`);
});
