/**
 * The default pack: only weights that `npm install` brings (nsfwjs, @vladmandic/human), nothing
 * downloaded. Every stream is labelled for what it is:
 *   object  [T,16,16,120] COCO-trained MobileNetV3 backbone of human's CenterNet detector
 *                         (`expanded_conv_14/add`) on the whole key frame stretched to 512²
 *                         (chosen by the probe in docs/probe.md)
 *   context [T,404]       pooled ImageNet mid-level features + colour/brightness statistics (not a scene model)
 *   action  [T,111]       body-pose dynamics (MoveNet) + motion statistics of the clip frames (not Kinetics)
 *   face    [T,12]        most prominent face: presence, box, 7 expression probabilities (FACE_LAYOUT)
 *
 * One decode per video, in a worker thread that hands frames over as they arrive (onFrame): one
 * ffmpeg pass gives the key frames and each snippet's last clip frame (MoveNet's second pose) at
 * short side 256, aspect kept, and all clip frames as 64-wide thumbnails for the motion
 * statistics (converting and piping them at full size cost more than the statistics).
 * MobileNetV2, the face models and MoveNet (all converted to ONNX) run on each group of complete
 * snippets while ffmpeg decodes the next frames. The 224² fit for MobileNetV2, MoveNet's 192²
 * letterbox and the face crops are made in JS.
 */
import { DfanError } from '../../errors.js';
import { DFAN_VERSION } from '../../version.js';
import type { VideoInfo } from '../../video/types.js';
import type { MapFit, StreamInfo } from '../streams.js';
import type { FeaturePack, PackInput } from '../types.js';
import { CENTERNET_LAYER, CENTERNET_SHAPE, loadCenternet } from './centernet.js';
import { type DefaultModels, extractDefaultStreams } from './extract.js';
import { loadFaceRunner } from './faces.js';
import { humanVersion } from './human.js';
import {
  loadMobilenet,
  MAP_FIT,
  MAP_LAYERS,
  type MapLayer,
  MID_DIM,
  MID_LAYER,
  nsfwjsVersion,
} from './mobilenet.js';
import { loadPoseRunner } from './movenet.js';
import { COLOUR_STATS, MOTION_STATS, POSE_DIM } from './stats.js';

/** Where the object map comes from: human's CenterNet backbone, or a layer of nsfwjs's MobileNetV2. */
export type ObjectLayer = 'centernet' | MapLayer;
/** The default object map (chosen by measurement: docs/probe.md). */
export const OBJECT_LAYER: ObjectLayer = 'centernet';

export const DEFAULT_STREAMS = ['object', 'context', 'action', 'face'] as const;
/**
 * Revision of the default pack's feature values within a dfan version (part of the pack id, so of
 * every feature file's config hash: a store never mixes files of two revisions). 2: motion
 * statistics read ffmpeg's area-averaged thumbnails instead of JS-resampled 256p frames.
 * 3: the object map is human's CenterNet backbone [16,16,120] (COCO) of the whole frame stretched
 * onto the input (was nsfwjs `out_relu` [7,7,1280] of a centre crop: no object identity, and blind
 * to the sides of a wide frame); MobileNetV2 stops at block 10 (the context stream's layer).
 */
export const DEFAULT_PACK_REVISION = 3;
export const DEFAULT_PACK_ID = `default@${DFAN_VERSION}+r${DEFAULT_PACK_REVISION}`;

export interface DefaultPackOptions {
  /** subset of object, context, action, face (default: all) */
  streams?: string[];
  /**
   * engine of MobileNetV2 (object, context), MoveNet (action) and the face models: 'auto' = ONNX
   * conversion, tfjs if it fails
   */
  engine?: 'auto' | 'onnx' | 'tfjs';
  /**
   * onnxruntime intra-op threads (default: DFAN_ORT_THREADS, else 2). Idle threads sleep (no
   * spinning, src/backbones/onnx.ts), so a second thread uses the core ffmpeg leaves free without
   * fighting it: measured with another job on one of the 2 cores, 2 threads gave the same or a
   * slightly lower wall time than 1 (640×360 2.82–3.15 s vs 2.87–3.71; 720p 4.11–4.95 vs
   * 4.93–5.26) for 3–10 % more CPU
   */
  threads?: number;
  batchSize?: number;
  /** MoveNet runs per snippet: 1 = key frame only, 2 = key frame + last clip frame (default) */
  poseFrames?: 1 | 2;
  /** cache of the converted ONNX file */
  cacheDir?: string;
  /**
   * object map layer: block_10_expand_relu [14,14,384] (default, ImageNet weights),
   * block_13_expand_relu [14,14,576] (blocks 11-12 fine-tuned by nsfwjs) or out_relu [7,7,1280]
   * (blocks 11-16 fine-tuned); measured in docs/probe.md
   */
  objectLayer?: ObjectLayer;
  /** how key frames meet the 224² input: stretch (default, the whole frame), letterbox or crop */
  objectFit?: MapFit;
  /** short side of decoded frames (default 256) */
  shortSide?: number;
  /**
   * snippets per inference group (default 2): the backbones start on a group as soon as its
   * frames are decoded, while ffmpeg decodes the next ones; small groups shorten the inference
   * left after the last frame (720p, same load: 4.78 s with 2, 4.94 with 4, 4.94 with 16)
   */
  streamGroup?: number;
}

/** onnxruntime threads of the default pack: DFAN_ORT_THREADS when set (≥ 1), else 2. */
export function defaultThreads(): number {
  const n = Number(process.env.DFAN_ORT_THREADS);
  return Number.isInteger(n) && n >= 1 ? n : 2;
}

/** Frame size with the given short side and the display aspect ratio (even sides, long side ≤ 2.5×). */
export function decodeSize(
  info: Pick<VideoInfo, 'displayWidth' | 'displayHeight'>,
  shortSide = 256,
): { width: number; height: number } {
  const w = info.displayWidth || 16;
  const h = info.displayHeight || 9;
  const even = (x: number) => Math.max(2, Math.round(x / 2) * 2);
  const ratio = Math.min(2.5, Math.max(w, h) / Math.min(w, h));
  const long = even(shortSide * ratio);
  return w >= h ? { width: long, height: shortSide } : { width: shortSide, height: long };
}

export function defaultStreamInfos(
  engine: string,
  poseFrames = 2,
  poseEngine = engine,
  objectLayer: ObjectLayer = OBJECT_LAYER,
  faceEngine = engine,
  objectFit: MapFit = MAP_FIT,
  objectEngine = engine,
): Record<string, StreamInfo> {
  const tuned =
    objectLayer === 'centernet' || objectLayer === 'block_10_expand_relu'
      ? 'ImageNet weights (nsfwjs fine-tuned only the blocks after it)'
      : `ImageNet weights up to block 10, blocks 11-${objectLayer === 'out_relu' ? 16 : 13} fine-tuned by nsfwjs on 5 content classes (drawing, hentai, neutral, porn, sexy): not a pure ImageNet object map`;
  const fitWords = {
    stretch: 'whole frame stretched to 224²',
    letterbox: 'whole frame letterboxed into 224²',
    crop: '224² centre crop',
  }[objectFit];
  const nv = nsfwjsVersion();
  const hv = humanVersion();
  return {
    object: {
      name: 'object',
      kind: 'map',
      ...objectWords(objectLayer, objectEngine, fitWords, tuned, nv, hv),
      fit: objectFit,
      inputAspect: 1,
    },
    context: {
      name: 'context',
      kind: 'vector',
      backbone: `nsfwjs-mobilenet_v2@${nv}/${MID_LAYER}+colour-stats`,
      description: `global context, NOT a scene (Places) model: average-pooled MobileNetV2 ${MID_LAYER} (${MID_DIM}, ImageNet weights) + ${COLOUR_STATS.length} colour/brightness/texture statistics of the key frame`,
    },
    action: {
      name: 'action',
      kind: 'vector',
      backbone: `human@${hv}/movenet-lightning (${poseEngine})+motion-stats`,
      description: `NOT a Kinetics action model: MoveNet Lightning body-pose shape and dynamics (${poseFrames === 2 ? 'key frame to last clip frame' : 'key frame only'}, ${POSE_DIM}) + motion statistics of the snippet's clip frames (frame differences, 4x4 motion grid, brightness and colour-grid change, ${MOTION_STATS.length})`,
    },
    face: {
      name: 'face',
      kind: 'vector',
      backbone: `human@${hv}/blazeface+facemesh+emotion (${faceEngine})`,
      description:
        'most prominent face in the key frame (BlazeFace detector, face mesh to reject false detections, 7-class emotion model; @vladmandic/human): presence (detector confidence), box x,y,w,h in [0,1], probabilities angry, disgust, fear, happy, sad, surprise, neutral; zeros when no face',
    },
  };
}

/** The object map's backbone id and description, for what it really is. */
function objectWords(
  layer: ObjectLayer,
  engine: string,
  fitWords: string,
  tuned: string,
  nv: string,
  hv: string,
): { backbone: string; description: string } {
  if (layer === 'centernet') {
    const [h, w, c] = CENTERNET_SHAPE;
    return {
      backbone: `human@${hv}/centernet/${CENTERNET_LAYER} (${engine})`,
      description: `COCO-trained object detector backbone (MobileNetV3 of @vladmandic/human's CenterNet): ${CENTERNET_LAYER.split('/').slice(-2).join('/')} map [${h},${w},${c}] of the key frame (${fitWords.replace('224²', '512²')}); knows the 80 COCO object classes, not scenes and not ImageNet`,
    };
  }
  const [mh, mw, mc] = MAP_LAYERS[layer];
  return {
    backbone: `nsfwjs-mobilenet_v2@${nv}/${layer} (${engine})`,
    description: `MobileNetV2 ${layer} map [${mh},${mw},${mc}] of the key frame (${fitWords}); ${tuned}`,
  };
}

export function resolveStreams(streams: string[] | undefined): string[] {
  if (!streams || streams.length === 0) return [...DEFAULT_STREAMS];
  for (const s of streams) {
    if (!(DEFAULT_STREAMS as readonly string[]).includes(s)) {
      throw new DfanError('BAD_ARGUMENT', `the default pack has no stream "${s}"`, {
        hint: `choose from ${DEFAULT_STREAMS.join(', ')}`,
      });
    }
  }
  return DEFAULT_STREAMS.filter((s) => streams.includes(s));
}

/**
 * The object map's layer and fit: the options, else DFAN_OBJECT_LAYER / DFAN_OBJECT_FIT (so that
 * `dfan extract`, its worker processes and the demo can be switched for a measurement), else the
 * defaults.
 */
export function objectChoice(opts: DefaultPackOptions): { layer: ObjectLayer; fit: MapFit } {
  const layer = opts.objectLayer ?? process.env.DFAN_OBJECT_LAYER ?? OBJECT_LAYER;
  const fit = opts.objectFit ?? process.env.DFAN_OBJECT_FIT ?? MAP_FIT;
  if (!(layer in MAP_LAYERS) && layer !== 'centernet')
    throw new DfanError('BAD_ARGUMENT', `unknown object layer "${layer}"`, {
      hint: `choose from centernet, ${Object.keys(MAP_LAYERS).join(', ')} (DFAN_OBJECT_LAYER)`,
    });
  if (!['stretch', 'letterbox', 'crop'].includes(fit))
    throw new DfanError('BAD_ARGUMENT', `unknown object fit "${fit}"`, {
      hint: 'choose from stretch, letterbox, crop (DFAN_OBJECT_FIT)',
    });
  return { layer: layer as ObjectLayer, fit: fit as MapFit };
}

/** The models the wanted streams need (MobileNetV2 also for a MobileNetV2 object map). */
async function loadModels(
  opts: DefaultPackOptions,
  streams: string[],
  layer: ObjectLayer,
  fit: MapFit,
): Promise<DefaultModels> {
  const centre = layer === 'centernet';
  const wantObject = streams.includes('object');
  const needNet = (wantObject && !centre) || streams.includes('context');
  const runnerOpts = {
    engine: opts.engine ?? 'auto',
    threads: opts.threads ?? defaultThreads(),
    batchSize: opts.batchSize,
    cacheDir: opts.cacheDir,
  };
  return {
    net: needNet ? await loadMobilenet({ ...runnerOpts, mapLayer: centre ? MID_LAYER : layer, fit }) : null,
    objectNet: wantObject && centre ? await loadCenternet({ ...runnerOpts, fit }) : null,
    pose: streams.includes('action') ? await loadPoseRunner(runnerOpts) : null,
    faces: streams.includes('face') ? await loadFaceRunner(runnerOpts) : null,
  };
}

export async function loadDefaultPack(opts: DefaultPackOptions = {}): Promise<FeaturePack> {
  const { layer, fit } = objectChoice(opts);
  const streams = resolveStreams(opts.streams);
  const poseFrames = opts.poseFrames ?? 2;
  const models = await loadModels(opts, streams, layer, fit);
  const { net, objectNet, pose, faces } = models;
  const infos = defaultStreamInfos(
    net?.engine ?? 'none',
    poseFrames,
    pose?.engine ?? 'none',
    layer,
    faces?.engine ?? 'none',
    fit,
    (objectNet ?? net)?.engine ?? 'none',
  );
  // a non-default layer or fit makes other numbers: its own id, so stores never mix them
  const id = `${DEFAULT_PACK_ID}${layer !== OBJECT_LAYER ? `+${layer}` : ''}${fit !== MAP_FIT ? `+${fit}` : ''}`;
  return {
    id,
    streams: streams.map((s) => infos[s]),
    extract: (input: PackInput) =>
      extractDefaultStreams(input, models, {
        streams,
        poseFrames,
        size: decodeSize(input.info, opts.shortSide ?? 256),
        group: opts.streamGroup ?? 2,
      }),
    async dispose() {
      await net?.dispose();
      await objectNet?.dispose();
      await pose?.dispose();
      await faces?.dispose();
    },
  };
}
