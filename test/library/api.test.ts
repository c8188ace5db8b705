/**
 * The library API (src/index.ts): its surface, options checked at the door (typed errors that name
 * the option and the fix, before any model loads), and `recognizer.predict` giving exactly what
 * `dfan predict --json` prints for the same clip, through a fake pack on a generated clip (always)
 * and through the real default model on a real clip from ../shared/media.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import * as dfan from '../../src/index.js';
import { writeFakePack } from '../app/fake-pack.js';
import { runCli } from '../helpers/cli.js';
import { lavfiClip } from '../helpers/ffmpeg.js';
import { needShared, sharedPath } from '../helpers/shared.js';
import { testDir } from '../helpers/temp.js';
import { timeless } from './helpers.js';

/** Runs `fn`, which must throw a DfanError of `code` whose one-line text matches `pattern`. */
async function rejects(
  fn: () => unknown,
  code: dfan.DfanErrorCode,
  pattern: RegExp,
): Promise<dfan.DfanError> {
  let caught: unknown;
  try {
    await fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(dfan.isDfanError(caught), `expected a DfanError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.oneLine());
  assert.match(caught.oneLine(), pattern);
  return caught;
}

test('the public surface: the factory, the workflow, the error type and the version', () => {
  assert.deepEqual(Object.keys(dfan).sort(), [
    'DfanError',
    'FeatureStore',
    'createRecognizer',
    'evaluate',
    'extract',
    'isDfanError',
    'loadRun',
    'readFeatures',
    'train',
    'version',
  ]);
  assert.match(dfan.version, /^\d+\.\d+\.\d+/);
});

test('createRecognizer: a bad config is a typed error naming the option and the fix', async () => {
  const dir = testDir('dfan-library-config-');
  const typo = await rejects(
    () => dfan.createRecognizer({ modle: 'default' } as never),
    'BAD_ARGUMENT',
    /"modle"/,
  );
  assert.match(typo.hint ?? '', /model, pack, snippets/);
  await rejects(
    () => dfan.createRecognizer({ snippets: 0 }),
    'BAD_ARGUMENT',
    /"snippets" must be an integer from 1 to 256 \(got 0\)/,
  );
  await rejects(() => dfan.createRecognizer({ snippets: 2.5 }), 'BAD_ARGUMENT', /"snippets"/);
  await rejects(
    () => dfan.createRecognizer({ model: 7 } as never),
    'BAD_ARGUMENT',
    /"model" must be a non-empty string/,
  );
  await rejects(() => dfan.createRecognizer('default' as never), 'BAD_ARGUMENT', /must be an object/);
  const noRun = await rejects(
    () => dfan.createRecognizer({ model: join(dir, 'no-such-run') }),
    'NOT_FOUND',
    /not a trained run folder/,
  );
  assert.equal(noRun.file, join(dir, 'no-such-run'));
  assert.match(noRun.hint ?? '', /'default'/);
  const noPack = await rejects(
    () => dfan.createRecognizer({ pack: join(dir, 'my-pack.json') }),
    'NOT_FOUND',
    /"pack" file does not exist/,
  );
  assert.equal(noPack.file, join(dir, 'my-pack.json'));
});

test('extract, train and evaluate check their options before any work', async () => {
  const dir = testDir('dfan-library-options-');
  await rejects(() => dfan.extract(dir, {} as never), 'BAD_ARGUMENT', /extract: "out" is required/);
  await rejects(() => dfan.extract(dir, { out: dir, streams: [] }), 'BAD_ARGUMENT', /names no stream/);
  await rejects(
    () => dfan.extract(dir, { out: dir, workers: -1 }),
    'BAD_ARGUMENT',
    /"workers" must be an integer ≥ 0/,
  );
  await rejects(() => dfan.extract('', { out: dir }), 'BAD_ARGUMENT', /give a video/);
  await rejects(
    () => dfan.train({ features: dir, dataset: 'x.csv', model: { varient: 'mean' } as never }),
    'BAD_ARGUMENT',
    /train: model: unknown option "varient".*variant/,
  );
  await rejects(
    () => dfan.train({ features: dir, dataset: 'x.csv', train: { epoch: 3 } as never }),
    'BAD_ARGUMENT',
    /train: train: unknown option "epoch"/,
  );
  await rejects(() => dfan.train({ dataset: 'x.csv' } as never), 'BAD_ARGUMENT', /"features" is required/);
  await rejects(
    () =>
      dfan.train({ features: dir, dataset: { name: 'd', classes: ['a'], items: [{ key: 'k' }] } as never }),
    'BAD_ARGUMENT',
    /dataset\.items must be an array of \{ key, video, label, split \}/,
  );
  await rejects(
    () => dfan.evaluate(dir, { dataset: 'x.csv', split: 'dev' as never }),
    'BAD_ARGUMENT',
    /"split" must be 'train', 'val' or 'test'/,
  );
  await rejects(
    () => dfan.evaluate(42 as never, { dataset: 'x.csv' }),
    'BAD_ARGUMENT',
    /run folder or the result of loadRun/,
  );
  await rejects(() => dfan.loadRun(join(dir, 'nothing')), 'NOT_FOUND', /not a run folder/);
});

test('recognizer.predict = `dfan predict --json` on a generated clip (fake pack); reusable, then disposed', async () => {
  const dir = testDir('dfan-library-predict-');
  const clip = lavfiClip(
    join(dir, 'box.mp4'),
    'color=c=black:s=320x240:d=4:r=10,drawbox=x=230:y=20:w=50:h=50:color=white:t=fill,format=yuv420p',
  );
  const pack = await writeFakePack(dir);
  const cli = await runCli(['predict', clip, '--json', '--pack', pack]);
  assert.equal(cli.code, 0, cli.stderr);
  const expected = timeless(JSON.parse(cli.stdout));

  const recognizer = await dfan.createRecognizer({ pack });
  assert.equal(recognizer.model.kind, 'zero-shot');
  const stages: Array<[string, number]> = [];
  const first = await recognizer.predict(clip, { onProgress: (s, f) => stages.push([s, f]) });
  assert.deepEqual(timeless(first), expected);
  assert.deepEqual(stages.at(-1), ['done', 1]);
  for (let i = 1; i < stages.length; i++)
    assert.ok(stages[i][1] >= stages[i - 1][1], 'progress never goes back');
  // the pack stays loaded: two videos at once on one recognizer give the same answers
  const both = await Promise.all([recognizer.predict(clip), recognizer.predict(clip, { name: 'named.mp4' })]);
  assert.deepEqual(timeless(both[0]), expected);
  assert.equal(both[1].video, 'named.mp4');
  await rejects(() => recognizer.predict(join(dir, 'absent.mp4')), 'NOT_FOUND', /absent\.mp4/);
  await rejects(() => recognizer.predict(clip, { nmae: 'x' } as never), 'BAD_ARGUMENT', /"nmae"/);
  await recognizer.dispose();
  await recognizer.dispose();
  await rejects(() => recognizer.predict(clip), 'BAD_ARGUMENT', /disposed/);
});

test('dispose waits for the predictions under way: the pack is neither freed under a video nor leaked', async () => {
  const dir = testDir('dfan-library-dispose-');
  const clip = lavfiClip(join(dir, 'clip.mp4'), 'testsrc2=s=160x120:d=2:r=10,format=yuv420p');
  const fake = await writeFakePack(dir);
  // the fake pack, slowed down, refusing to work once disposed (as freed onnxruntime sessions
  // would), counting the packs made and freed
  const pack = join(dir, 'slow-pack.mjs');
  writeFileSync(
    pack,
    `import { createPack as fake } from ${JSON.stringify(pathToFileURL(fake).href)};
const count = (globalThis.dfanSlowPacks ??= { made: 0, freed: 0 });
export async function createPack(o) {
  const inner = await fake(o);
  count.made++;
  let freed = false;
  return {
    id: inner.id,
    streams: inner.streams,
    async extract(input) {
      await new Promise((r) => setTimeout(r, 300));
      if (freed) throw new Error('the pack was used after dispose');
      return inner.extract(input);
    },
    async dispose() {
      freed = true;
      count.freed++;
    },
  };
}
`,
  );
  const recognizer = await dfan.createRecognizer({ pack });
  await recognizer.warm();
  const pending = recognizer.predict(clip);
  const disposing = recognizer.dispose();
  assert.equal((await pending).snippets.length, 16);
  await disposing;
  assert.deepEqual((globalThis as { dfanSlowPacks?: object }).dfanSlowPacks, { made: 1, freed: 1 });
  await rejects(() => recognizer.warm(), 'BAD_ARGUMENT', /disposed/);
});

const SINGLE_FACE = 'media/single_face.mp4';

test('the default model on a real clip: exactly what `dfan predict --json` answers', {
  skip: needShared(SINGLE_FACE),
}, async () => {
  const clip = sharedPath(SINGLE_FACE);
  const cli = await runCli(['predict', clip, '--json']);
  assert.equal(cli.code, 0, cli.stderr);
  const recognizer = await dfan.createRecognizer();
  try {
    assert.equal(recognizer.model.name, 'zero-shot-face-expression');
    const p = await recognizer.predict(clip);
    assert.deepEqual(timeless(p), timeless(JSON.parse(cli.stdout)));
    assert.equal(p.model.kind, 'zero-shot');
    assert.equal(p.labels[0].label, 'joy', 'the one face in this clip smiles');
  } finally {
    await recognizer.dispose();
  }
});
