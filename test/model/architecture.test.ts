/** What DFAN is built of for a config: the options resolved once, and the parameters a run stores. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type InputDims, resolveArchitecture } from '../../src/model/architecture.js';
import { resolveModelConfig } from '../../src/model/config.js';
import { paramSpecs } from '../../src/model/dfan.js';

const dims: InputDims = {
  maps: { object: { H: 4, W: 4, D: 12, ordered: true } },
  vectors: { action: { D: 5 }, face: { D: 3 } },
};
const streams = ['object', 'action', 'face'];

test('the parameters a run stores: names (as in weights.safetensors), shapes and order', () => {
  const cfg = resolveModelConfig({
    streams,
    spatialHidden: 6,
    spatialScoreDim: 8,
    projDim: 4,
    temporalHidden: 7,
    heads: 2,
    temporalEvidence: true,
  });
  const specs = paramSpecs(cfg, dims, 3);
  assert.deepEqual(
    Object.entries(specs).map(([name, s]) => `${name} ${s.shape.join('×')}`),
    [
      'spatial.object.W 8×6', // the scorer reads the 8 leading components
      'spatial.object.U 5×6', // context: the action vector
      'spatial.object.b 6',
      'spatial.object.kappa 12',
      'spatial.object.lambda 6',
      'spatial.object.w 6×1',
      'proj.object.P 24×4', // value contrast 'both': [x̂ ; x̂ᶜ]
      'proj.object.p 4',
      'proj.action.P 5×4',
      'proj.action.p 4',
      'proj.face.P 3×4',
      'proj.face.p 4',
      'temporal.Q 12×7',
      'temporal.q 7',
      'temporal.v 7×2',
      'temporal.mu 7',
      'temporal.gamma.object 1',
      'classifier.W 24×3', // K · D_u = 2 · 12
      'classifier.b 3',
    ],
  );
  // decay on the matrices only
  assert.deepEqual(
    Object.entries(specs)
      .filter(([, s]) => s.decay)
      .map(([n]) => n),
    [
      'spatial.object.W',
      'spatial.object.U',
      'proj.object.P',
      'proj.action.P',
      'proj.face.P',
      'temporal.Q',
      'classifier.W',
    ],
  );
  const mean = paramSpecs(resolveModelConfig({ streams, variant: 'mean', projDim: 4 }), dims, 3);
  assert.deepEqual(Object.keys(mean), [
    'proj.object.P',
    'proj.object.p',
    'proj.action.P',
    'proj.action.p',
    'proj.face.P',
    'proj.face.p',
    'classifier.W',
    'classifier.b',
  ]);
  assert.deepEqual(mean['proj.object.P'].shape, [12, 4], 'no spatial focus: the plain mean over cells');
});

test('options are resolved from the config and the inputs, once', () => {
  const arch = (partial: Parameters<typeof resolveModelConfig>[0]) =>
    resolveArchitecture(resolveModelConfig({ streams, ...partial }), dims, 3);
  const spatialOf = (a: ReturnType<typeof arch>) => a.streams[0].spatial;
  assert.deepEqual(spatialOf(arch({}))?.context, { kind: 'vector', stream: 'action', width: 5 });
  // the named context stream is not read (or not a vector): the map's own mean guides the focus
  assert.deepEqual(spatialOf(arch({ streams: ['object', 'face'] }))?.context, { kind: 'mean', width: 12 });
  assert.deepEqual(spatialOf(arch({ spatialContext: 'object' }))?.context, { kind: 'mean', width: 12 });
  assert.deepEqual(spatialOf(arch({ spatialContext: 'none' }))?.context, { kind: 'none' });
  // temporal evidence needs both focus modules
  assert.deepEqual(arch({ temporalEvidence: true }).temporal?.evidence, ['object']);
  assert.equal(spatialOf(arch({ temporalEvidence: true }))?.evidence, true);
  assert.equal(arch({ variant: 'temporal', temporalEvidence: true }).temporal?.evidence.length, 0);
  assert.equal(arch({ variant: 'spatial', temporalEvidence: true }).temporal, null);
  // no spatial focus: no value contrast, the projection reads D channels
  const temporal = arch({ variant: 'temporal', valueContrast: 'both' });
  assert.equal(temporal.streams[0].spatial, null);
  assert.equal(temporal.streams[0].width, 12);
  assert.equal(temporal.heads, 1);
  assert.equal(arch({ variant: 'dual', heads: 3 }).heads, 3);
  assert.equal(arch({ variant: 'spatial', heads: 3 }).heads, 1, 'heads belong to the temporal focus');
  // the scorer cuts only an ordered (PCA-reduced) map
  assert.equal(spatialOf(arch({ spatialScoreDim: 8 }))?.scoreDim, 8);
  const unordered = { ...dims, maps: { object: { ...dims.maps.object, ordered: false } } };
  const cfg = resolveModelConfig({ streams, spatialScoreDim: 8 });
  assert.equal(resolveArchitecture(cfg, unordered, 3).streams[0].spatial?.scoreDim, 12);
  assert.equal(arch({}).snippetWidth, 3 * 128);
});
