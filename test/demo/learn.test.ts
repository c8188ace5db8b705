/**
 * A small training run with the default settings must learn a real-imagery cue: real photos
 * (held out between train and test) shown small over real footage, the default pack's object map,
 * `dfan train`'s defaults (no epoch, batch or patience given). This is what a new user with a
 * few dozen videos does; before the training schedule and the object map were fixed it stayed at
 * chance.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readManifest } from '../../src/data/manifest.js';
import { buildFocusDataset } from '../../src/demo/focus.js';
import { TUXPAINT_STAMPS } from '../../src/demo/photos.js';
import { DEFAULT_FOCUS } from '../../src/demo/spec.js';
import { extractAll } from '../../src/features/extract.js';
import { evaluateRun } from '../../src/model/evaluate.js';
import { trainRun } from '../../src/model/train-run.js';
import { needShared } from '../helpers/shared.js';
import { testDir } from '../helpers/temp.js';

const tmp = testDir('dfan-learn-');

const skip = !existsSync(TUXPAINT_STAMPS)
  ? `skipped: ${TUXPAINT_STAMPS} is absent (apt-get install tuxpaint-stamps-default)`
  : needShared('media', 'WolfgangLanger_Pexels.mp4');

test('default settings learn a real-photo cue from 24 training videos (animal vs food, photos held out)', {
  skip,
  timeout: 600_000,
}, async () => {
  const ds = await buildFocusDataset(join(tmp, 'dataset'), {
    ...DEFAULT_FOCUS,
    classes: 2,
    perClass: 18,
    duration: 4,
    T: 4,
    frames: [{ width: 320, height: 240, share: 1 }],
    cardShare: 1,
    seed: 3,
  });
  const dataset = readManifest(ds.manifest);
  const summary = await extractAll(
    dataset.items.map((i) => ({ key: i.key, path: i.video, source: i.key })),
    join(tmp, 'features'),
    { pack: 'default', streams: ['object'], T: 4 },
  );
  assert.equal(summary.failed.length, 0);
  const r = await trainRun({
    features: join(tmp, 'features'),
    dataset,
    model: { variant: 'dual', spatialContext: 'mean' },
  });
  try {
    const ev = await evaluateRun(r.predictor, { dataset, split: 'test', features: join(tmp, 'features') });
    assert.ok(ev.metrics.n >= 10);
    assert.ok(ev.metrics.accuracy >= 0.75, `dual test accuracy ${ev.metrics.accuracy} (chance 0.5)`);
  } finally {
    r.predictor.dispose();
  }
});
