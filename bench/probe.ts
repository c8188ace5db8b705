/**
 * `npm run bench -- probe [--photos DIR] [--seeds 3] [--per-class 40] [--only a,b] [--media DIR]`
 *
 * Which object map knows what a real photo shows? Real photos (Tux Paint stamp cut-outs, see
 * src/backbones/probe-photos.ts) composited over frames of the real clips in ../shared/media, two
 * settings, photos held out (3-fold over photos, stratified, per seed):
 *  (a) whole photo: the photo fills the input; map mean-pooled → linear probe;
 *  (b) small cue: the photo at 1/4 × 1/4 of a 640×360 frame, the whole frame stretched to the
 *      input; linear probe on the map cells under the cue, and a DFAN-style spatial-attention
 *      head over all cells that must find the cue (src/backbones/probe-head.ts).
 * Candidates are maps from weights that `npm ci` brings, plus references from ../shared (not npm).
 * Prints the table of docs/probe.md and per-frame inference costs.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { trainAttentionHead } from '../research/probe/head.js';
import {
  type CueBox,
  crossValidate,
  cuePool,
  cueWeights,
  featureSet,
  linearProbe,
  meanPool,
  type ProbeResult,
} from '../research/probe/linear.js';
import { backgroundFrames, loadStamps, smallCueFrame, wholePhotoFrame } from '../research/probe/photos.js';
import { kerasSourceFromTfjs, kerasToOnnx } from '../src/backbones/convert/keras2onnx.js';
import { tfGraphToOnnx } from '../src/backbones/convert/tfgraph2onnx.js';
import { humanModelsDir, readHumanGraph } from '../src/backbones/default/human.js';
import { nsfwMobilenetPath } from '../src/backbones/default/mobilenet.js';
import { packageDir } from '../src/backbones/default/pkg.js';
import type { LoadedModel } from '../src/backbones/engine.js';
import { loadOnnx } from '../src/backbones/onnx.js';
import { writeOnnx } from '../src/backbones/onnx-writer.js';
import { chwToHwc, framesToTensor, type InputSpec } from '../src/backbones/preprocess.js';
import { loadTfjs } from '../src/backbones/tfjs.js';
import { TUXPAINT_STAMPS } from '../src/demo/photos.js';
import { meanStd } from '../src/protocol/report.js';
import { rng } from '../src/util/random.js';
import { projectRoot } from '../src/version.js';
import type { Frame } from '../src/video/types.js';
import { IMAGENET, rgbInput } from '../test/backbones/helpers.js';
import { timePerItem } from './lib/backbones.js';
import { arg, fmt } from './util.js';

/** One map a backbone yields: [h, w, c] channels-last per frame. */
interface MapOut {
  h: number;
  w: number;
  c: number;
  data: Float32Array; // [n, h, w, c]
}

interface Backbone {
  name: string;
  engine: string;
  /** maps it yields, by candidate name */
  load(): Promise<{ run(frames: Frame[]): Promise<Record<string, MapOut>>; dispose(): Promise<void> }>;
}

const CENTERNET_BACKBONE = 'tower_0/MobilenetV3/expanded_conv_14/add';
const NSFW_LAYERS = ['out_relu', 'block_13_expand_relu', 'block_10_expand_relu', 'block_10_project_BN'];

function stretchSpec(
  size: number,
  layout: 'NCHW' | 'NHWC',
  name: string,
  extra: Partial<InputSpec> = {},
): InputSpec {
  return rgbInput({ name, size: [size, size], crop: 'stretch', layout, ...extra });
}

/** Average- (or max-) pool a channels-last map to at most `cap` × `cap` cells. */
function poolTo(m: MapOut, n: number, cap: number, mode: 'avg' | 'max' = 'avg'): MapOut {
  if (m.h <= cap && m.w <= cap) return m;
  const f = Math.ceil(Math.max(m.h, m.w) / cap);
  const h = Math.ceil(m.h / f);
  const w = Math.ceil(m.w / f);
  const out = new Float32Array(n * h * w * m.c).fill(mode === 'max' ? -Infinity : 0);
  const cnt = new Float32Array(h * w);
  for (let y = 0; y < m.h; y++)
    for (let x = 0; x < m.w; x++) cnt[Math.floor(y / f) * w + Math.floor(x / f)]++;
  for (let i = 0; i < n; i++)
    for (let y = 0; y < m.h; y++)
      for (let x = 0; x < m.w; x++) {
        const src = ((i * m.h + y) * m.w + x) * m.c;
        const cell = Math.floor(y / f) * w + Math.floor(x / f);
        const dst = (i * h * w + cell) * m.c;
        for (let c = 0; c < m.c; c++)
          out[dst + c] =
            mode === 'max' ? Math.max(out[dst + c], m.data[src + c]) : out[dst + c] + m.data[src + c];
      }
  if (mode === 'avg')
    for (let i = 0; i < n; i++)
      for (let p = 0; p < h * w; p++) for (let c = 0; c < m.c; c++) out[(i * h * w + p) * m.c + c] /= cnt[p];
  return { h, w, c: m.c, data: out };
}

/** Run an engine model in batches; outputs NCHW (onnx) or NHWC (tfjs) → channels-last maps. */
function batchedRunner(
  model: LoadedModel,
  spec: InputSpec,
  outputs: string[],
  nchw: boolean,
  batch: number,
  rename: (o: string) => string = (o) => o,
) {
  return async (frames: Frame[]): Promise<Record<string, MapOut>> => {
    const res: Record<string, MapOut> = {};
    for (let i = 0; i < frames.length; i += batch) {
      const part = frames.slice(i, i + batch);
      const x = framesToTensor(part, spec);
      const r = await model.run({ [spec.name]: x }, outputs);
      for (const o of outputs) {
        const t = r[o];
        const [, a, b2, c2] = t.shape;
        const [c, h, w] = nchw ? [a, b2, c2] : [c2, a, b2];
        const key = rename(o);
        res[key] ??= { h, w, c, data: new Float32Array(frames.length * h * w * c) };
        const per = h * w * c;
        for (let j = 0; j < part.length; j++) {
          const src = t.data.subarray(j * per, (j + 1) * per);
          if (nchw) chwToHwc(src, c, h, w, res[key].data, (i + j) * per);
          else res[key].data.set(src, (i + j) * per);
        }
      }
    }
    return res;
  };
}

async function nsfwMobilenetOnnx(outputs: string[], threads = 2): Promise<LoadedModel> {
  const graph = kerasToOnnx(await kerasSourceFromTfjs(nsfwMobilenetPath()), outputs, 'probe');
  return loadOnnx(writeOnnx(graph), { threads });
}

function backbones(shared: string): Backbone[] {
  const list: Backbone[] = [
    {
      name: 'nsfwjs MobileNetV2',
      engine: 'onnxruntime (keras2onnx)',
      async load() {
        const m = await nsfwMobilenetOnnx(NSFW_LAYERS);
        const run = batchedRunner(m, stretchSpec(224, 'NCHW', 'input'), NSFW_LAYERS, true, 16);
        return {
          async run(frames) {
            const r = await run(frames);
            // a concatenation: block_10_expand_relu ⊕ out_relu upsampled (nearest) to 14×14
            const a = r.block_10_expand_relu;
            const b = r.out_relu;
            const c = a.c + b.c;
            const data = new Float32Array(frames.length * 196 * c);
            for (let i = 0; i < frames.length; i++)
              for (let y = 0; y < 14; y++)
                for (let x = 0; x < 14; x++) {
                  const o = ((i * 14 + y) * 14 + x) * c;
                  data.set(
                    a.data.subarray(((i * 14 + y) * 14 + x) * a.c, ((i * 14 + y) * 14 + x + 1) * a.c),
                    o,
                  );
                  const q = ((i * 7 + (y >> 1)) * 7 + (x >> 1)) * b.c;
                  data.set(b.data.subarray(q, q + b.c), o + a.c);
                }
            return { ...r, 'block_10_expand_relu+out_relu': { h: 14, w: 14, c, data } };
          },
          dispose: () => m.dispose(),
        };
      },
    },
    {
      name: 'nsfwjs InceptionV3',
      engine: 'tfjs-wasm',
      async load() {
        const m = await loadTfjs(
          join(packageDir('nsfwjs'), 'dist', 'models', 'inception_v3', 'model.min.js'),
        );
        const outs = ['mixed4', 'mixed7', 'mixed10'];
        const run = batchedRunner(m, stretchSpec(299, 'NHWC', 'input_1'), outs, false, 8);
        return { run, dispose: () => m.dispose() };
      },
    },
    {
      name: 'human CenterNet',
      engine: 'tfjs-wasm',
      async load() {
        const m = await loadTfjs(join(humanModelsDir(), 'centernet.json'));
        const outs = {
          'tower_0/MobilenetV3/expanded_conv_14/add': 'centernet expanded_conv_14',
          'tower_0/CenternetHead/Relu': 'centernet head Relu',
          'tower_0/keypoints': 'centernet keypoints (80-class heatmap)',
        } as Record<string, string>;
        const run = batchedRunner(
          m,
          stretchSpec(512, 'NHWC', 'tower_0/images', { scale: 1 }),
          Object.keys(outs),
          false,
          1,
          (o) => outs[o],
        );
        return {
          async run(frames) {
            const r = await run(frames);
            // the 128×128 maps: pooled to 16×16 (the heatmap by max: it is a detection score)
            const out: Record<string, MapOut> = {};
            for (const [k, v] of Object.entries(r))
              out[k] = poolTo(v, frames.length, 16, k.includes('keypoints') ? 'max' : 'avg');
            return out;
          },
          dispose: () => m.dispose(),
        };
      },
    },
  ];
  const references = [
    sharedOnnxMap(shared, 'mobilenetv2-12-int8-feat.onnx', 'ImageNet MobileNetV2 int8', 'feat_map_1280x7x7', {
      spec: stretchSpec(224, 'NCHW', 'input', IMAGENET),
      label: 'ImageNet feat_map_1280x7x7',
    }),
    sharedOnnxMap(shared, 'tiny_darknet_imagenet.onnx', 'Tiny Darknet ImageNet', 'feat', {
      spec: stretchSpec(224, 'NCHW', 'input_rgb01'),
      label: 'Tiny Darknet feat',
    }),
  ];
  for (const r of references) if (r) list.push(r);
  return list;
}

/** A reference map from an ONNX file in ../shared/models (not shipped by npm), when the file is there. */
function sharedOnnxMap(
  shared: string,
  file: string,
  title: string,
  output: string,
  o: { spec: InputSpec; label: string },
): Backbone | null {
  const path = join(shared, 'models', file);
  if (!existsSync(path)) return null;
  return {
    name: `reference: ${title} (../shared, not npm)`,
    engine: 'onnxruntime',
    async load() {
      const m = await loadOnnx(path, { threads: 2 });
      return { run: batchedRunner(m, o.spec, [output], true, 16, () => o.label), dispose: () => m.dispose() };
    },
  };
}

const WEIGHTS: Record<string, string> = {
  out_relu: 'ImageNet ≤ b10, b11–16 nsfw-fine-tuned',
  block_13_expand_relu: 'ImageNet ≤ b10, b11–12 + b13 expand fine-tuned',
  block_10_expand_relu: 'ImageNet (nsfwjs b10)',
  block_10_project_BN: 'ImageNet (nsfwjs b10)',
  'block_10_expand_relu+out_relu': 'ImageNet b10 ⊕ fine-tuned top',
  mixed4: 'ImageNet-initialised, nsfw-trained (extent unknown)',
  mixed7: 'ImageNet-initialised, nsfw-trained (extent unknown)',
  mixed10: 'ImageNet-initialised, nsfw-trained (extent unknown)',
  'centernet expanded_conv_14': 'COCO detection (MobileNetV3 backbone)',
  'centernet head Relu': 'COCO detection head features',
  'centernet keypoints (80-class heatmap)': 'COCO 80-class heatmap',
  'ImageNet feat_map_1280x7x7': 'ImageNet (reference, not npm)',
  'Tiny Darknet feat': 'ImageNet (reference, not npm)',
};

const pct = (r: ProbeResult) => `${fmt(100 * r.mean, 1)} ± ${fmt(100 * r.std, 1)}`;

/**
 * Bare onnxruntime cost of the nsfwjs MobileNetV2 cut at each candidate layer (the converter
 * keeps only the layers the outputs need): median of `repeats` runs over 16 frames, batch 16.
 */
async function mobilenetCosts(frames: Frame[], repeats = 5, threads = 2): Promise<void> {
  const sets = [
    ['out_relu', 'block_13_expand_relu', 'block_10_expand_relu'], // today's default conversion
    ['out_relu'],
    ['block_13_expand_relu'],
    ['block_10_expand_relu'],
    ['block_10_project_BN'],
  ];
  const spec = stretchSpec(224, 'NCHW', 'input');
  const x = framesToTensor(frames.slice(0, 16), spec);
  console.log(
    `| nsfwjs MobileNetV2 outputs (onnxruntime, ${threads} threads, batch 16) | wall ms/frame | CPU ms/frame |`,
  );
  console.log('|---|---:|---:|');
  for (const outs of sets) {
    const m = await nsfwMobilenetOnnx(outs, threads);
    const t = await timePerItem(16, repeats, () => m.run({ input: x }, outs));
    await m.dispose();
    console.log(`| ${outs.join(' + ')} | ${fmt(t.ms, 1)} | ${fmt(t.cpu, 1)} |`);
  }
  // human's CenterNet backbone (512², NHWC 0..255) through tfgraph2onnx
  const g = await readHumanGraph('centernet', 1);
  const cn = await loadOnnx(writeOnnx(tfGraphToOnnx(g.nodes, g.consts, [CENTERNET_BACKBONE], 'centernet')), {
    threads,
  });
  const xc = framesToTensor(frames.slice(0, 16), stretchSpec(512, 'NHWC', 'input', { scale: 1 }));
  const t = await timePerItem(16, repeats, () => cn.run({ input: xc }, ['output_0']));
  await cn.dispose();
  console.log(`| human CenterNet → ${CENTERNET_BACKBONE} (512²) | ${fmt(t.ms, 1)} | ${fmt(t.cpu, 1)} |`);
}

export async function run(args: string[]): Promise<void> {
  const photosDir = arg(args, 'photos', TUXPAINT_STAMPS);
  const shared = resolve(projectRoot(), '..', 'shared');
  const mediaDir = arg(args, 'media', join(shared, 'media'));
  const nSeeds = Number(arg(args, 'seeds', '3'));
  const perClass = Number(arg(args, 'per-class', '40'));
  const copies = Number(arg(args, 'copies', '2'));
  const only = arg(args, 'only', '');
  const headEpochs = Number(arg(args, 'head-epochs', '15'));
  const seeds = Array.from({ length: nSeeds }, (_, i) => i);
  if (!existsSync(photosDir) || !existsSync(mediaDir)) {
    console.log(
      `probe: needs ${photosDir} (apt-get install tuxpaint-stamps-default) and ${mediaDir} (../shared)`,
    );
    return;
  }
  const t0 = performance.now();
  // photos (the demo's: drawings out), at most perClass per class (seeded choice)
  const all = loadStamps(photosDir);
  const classes = [...new Set(all.map((p) => p.cls))];
  const pick = rng(7);
  const photos = classes.flatMap((c) => {
    const ps = all.filter((p) => p.cls === c);
    for (let i = ps.length - 1; i > 0; i--) {
      const j = Math.floor(pick() * (i + 1));
      [ps[i], ps[j]] = [ps[j], ps[i]];
    }
    return ps.slice(0, perClass);
  });
  const counts = classes.map(
    (c) => `${c} ${photos.filter((p) => p.cls === c).length}/${all.filter((p) => p.cls === c).length}`,
  );
  console.log(`photos (used/photographs): ${counts.join(', ')}; ${copies} composites per photo and setting`);
  const clips = readdirSync(mediaDir)
    .filter((f) => f.endsWith('.mp4'))
    .sort()
    .map((f) => join(mediaDir, f));
  const bgs = await backgroundFrames(clips, 8);
  const rand = rng(11);
  const whole: Frame[] = [];
  const cue: Frame[] = [];
  const cues: CueBox[] = [];
  const y: number[] = [];
  const groups: number[] = [];
  photos.forEach((p, g) => {
    for (let k = 0; k < copies; k++) {
      whole.push(wholePhotoFrame(p.image, bgs[Math.floor(rand() * bgs.length)], 224, rand));
      const s = smallCueFrame(p.image, bgs[Math.floor(rand() * bgs.length)], rand);
      cue.push(s.frame);
      cues.push(s.cue);
      y.push(classes.indexOf(p.cls));
      groups.push(g);
    }
  });
  console.log(
    `${whole.length} + ${cue.length} frames from ${bgs.length} background frames of ${clips.length} clips (${fmt((performance.now() - t0) / 1000, 1)} s)`,
  );

  if (args.includes('--costs')) {
    await mobilenetCosts(cue);
    if (args.includes('--costs-only')) return;
  }
  const rows: string[] = [];
  let chance = '';
  const header =
    '| candidate | grid × channels | weights | (a) whole photo | (b) cue cells, linear | (b) attention head | head peak on cue | extract ms/frame (engine) |';
  rows.push(header, '|---|---|---|---:|---:|---:|---:|---|');
  for (const bb of backbones(shared)) {
    if (only && !only.split(',').some((o) => bb.name.includes(o))) continue;
    let model: Awaited<ReturnType<Backbone['load']>>;
    try {
      model = await bb.load();
    } catch (e) {
      console.log(`${bb.name}: not run (${(e as Error).message})`);
      continue;
    }
    const ta = performance.now();
    const mapsA = await model.run(whole);
    const tb = performance.now();
    const mapsB = await model.run(cue);
    const msPerFrame = (performance.now() - tb) / cue.length;
    await model.dispose();
    console.log(
      `${bb.name}: ${fmt((tb - ta) / whole.length, 0)} / ${fmt(msPerFrame, 0)} ms/frame (${bb.engine}, incl. JS pre/post)`,
    );
    for (const [name, ma] of Object.entries(mapsA)) {
      const mb = mapsB[name];
      const per = ma.h * ma.w * ma.c;
      const pooledA = whole.map((_, i) =>
        meanPool(ma.data.subarray(i * per, (i + 1) * per), ma.h, ma.w, ma.c),
      );
      const cueB = cue.map((_, i) =>
        cuePool(mb.data.subarray(i * per, (i + 1) * per), mb.h, mb.w, mb.c, cues[i]),
      );
      const fa = featureSet(pooledA, y, groups, classes);
      const fb = featureSet(cueB, y, groups, classes);
      const ra = await linearProbe(fa, { seeds });
      const rb = await linearProbe(fb, { seeds });
      const N = mb.h * mb.w;
      const onCue: number[] = [];
      const rh = await crossValidate(
        fb,
        async (train, test, seed) => {
          const r = await trainAttentionHead(mb.data, N, mb.c, fb.y, classes.length, train, test, {
            seed,
            epochs: headEpochs,
          });
          let hit = 0;
          test.forEach((row, i) => {
            if (cueWeights(cues[row], mb.h, mb.w)[r.peak[i]] > 0) hit++;
          });
          onCue.push(hit / test.length);
          return r.pred;
        },
        { seeds },
      );
      const peak = meanStd(onCue);
      const line = `| ${name} | ${mb.h}×${mb.w} × ${mb.c} | ${WEIGHTS[name] ?? bb.name} | ${pct(ra)} | ${pct(rb)} | ${pct(rh)} | ${fmt(100 * peak.mean, 0)} % | ${fmt(msPerFrame, 0)} (${bb.engine}) |`;
      console.log(line);
      console.log(
        `   per seed: a ${ra.perSeed.map((v) => fmt(100 * v, 1)).join(' ')}; b ${rb.perSeed.map((v) => fmt(100 * v, 1)).join(' ')}; head ${rh.perSeed.map((v) => fmt(100 * v, 1)).join(' ')}`,
      );
      rows.push(line);
      chance = `chance (majority class) ${fmt(100 * ra.chance, 1)} %`;
    }
  }
  console.log(
    `\n${rows.join('\n')}\n${chance}; seeds ${seeds.join(',')} × 3 folds over photos; ${fmt((performance.now() - t0) / 1000, 0)} s in all`,
  );
}
