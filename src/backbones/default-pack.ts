/**
 * The default pack: only weights that `npm install` brings (nsfwjs, @vladmandic/human), nothing
 * downloaded. Every stream is labelled for what it is:
 *   object  [T,7,7,1280]  nsfwjs MobileNetV2 `out_relu` map of the key frame
 *   context [T,404]       pooled ImageNet mid-level features + colour/brightness statistics (not a scene model)
 *   action  [T,111]       body-pose dynamics (MoveNet) + motion statistics of the clip frames (not Kinetics)
 *   face    [T,12]        most prominent face: presence, box, 7 expression probabilities (FACE_LAYOUT)
 *
 * One decode per video: key frames and clip frames in a single ffmpeg pass at one size (short
 * side 256, aspect kept); the 224² crop for MobileNetV2, MoveNet's 192² letterbox and the small
 * motion thumbnails are made in JS. MobileNetV2 and MoveNet (both converted to ONNX, onnxruntime
 * runs off the JS thread) run while the faces (tfjs-wasm, on the JS thread) are computed.
 */
import { DfanError } from '../errors.js';
import { FACE_LAYOUT, type StreamInfo, type StreamTensor } from '../features/types.js';
import { DFAN_VERSION } from '../version.js';
import type { Frame, VideoInfo } from '../video/types.js';
import { type FaceRunner, loadFaceRunner } from './faces.js';
import { detectFaces, type FaceDetection, humanVersion } from './human.js';
import {
  loadMobilenet,
  MAP_LAYER,
  MAP_LAYERS,
  type MapLayer,
  MID_DIM,
  MID_LAYER,
  type MobilenetRunner,
  nsfwjsVersion,
} from './mobilenet.js';
import { loadPoseRunner, type PoseRunner } from './movenet.js';
import { COLOUR_STATS, colourStats, MOTION_STATS, motionStats, POSE_DIM, poseDynamics } from './stats.js';
import type { FeaturePack, PackInput } from './types.js';

export const DEFAULT_STREAMS = ['object', 'context', 'action', 'face'] as const;
export const CONTEXT_DIM = MID_DIM + COLOUR_STATS.length;
export const ACTION_DIM = POSE_DIM + MOTION_STATS.length;
export const DEFAULT_PACK_ID = `default@${DFAN_VERSION}`;

export interface DefaultPackOptions {
  /** subset of object, context, action, face (default: all) */
  streams?: string[];
  /**
   * engine of MobileNetV2 (object, context), MoveNet (action) and the face models: 'auto' = ONNX
   * conversion, tfjs if it fails
   */
  engine?: 'auto' | 'onnx' | 'tfjs';
  /**
   * onnxruntime intra-op threads (default 1: MobileNetV2 + MoveNet on one core take about as long
   * as the faces on the JS thread, so the two overlap on a 2-core machine without oversubscribing)
   */
  threads?: number;
  batchSize?: number;
  /** MoveNet runs per snippet: 1 = key frame only, 2 = key frame + last clip frame (default) */
  poseFrames?: 1 | 2;
  /** cache of the converted ONNX file */
  cacheDir?: string;
  /**
   * object map layer: out_relu [7,7,1280] (default) or block_13_expand_relu [14,14,576] (finer
   * grid, closer to ImageNet features: only blocks 11-12 of it were fine-tuned)
   */
  objectLayer?: MapLayer;
  /** short side of decoded frames (default 256) */
  shortSide?: number;
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
  objectLayer: MapLayer = MAP_LAYER,
  faceEngine = engine,
): Record<string, StreamInfo> {
  const [mh, mw, mc] = MAP_LAYERS[objectLayer];
  const nv = nsfwjsVersion();
  const hv = humanVersion();
  return {
    object: {
      name: 'object',
      kind: 'map',
      backbone: `nsfwjs-mobilenet_v2@${nv}/${objectLayer} (${engine})`,
      description: `MobileNetV2 ${objectLayer} map [${mh},${mw},${mc}] of the key frame (224² centre crop); ImageNet weights up to block 10, blocks 11-16 fine-tuned by nsfwjs on 5 content classes (drawing, hentai, neutral, porn, sexy): not a pure ImageNet object map`,
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

/** The face vector (FACE_LAYOUT) of one frame (tfjs-wasm): the most prominent face, zeros when none. */
export async function faceVector(frame: Frame): Promise<Float32Array> {
  return faceVectorOf(await detectFaces(frame));
}

/** The face vector (FACE_LAYOUT) of a frame's detections (most prominent first), zeros when none. */
export function faceVectorOf(faces: FaceDetection[]): Float32Array {
  const v = new Float32Array(FACE_LAYOUT.size);
  const f = faces[0];
  if (!f) return v;
  v[FACE_LAYOUT.presence] = f.score;
  FACE_LAYOUT.box.forEach((k, i) => {
    v[k] = f.box[i];
  });
  FACE_LAYOUT.expressions.forEach((k, i) => {
    v[k] = f.expressions[i];
  });
  return v;
}

export async function loadDefaultPack(opts: DefaultPackOptions = {}): Promise<FeaturePack> {
  const streams = resolveStreams(opts.streams);
  const poseFrames = opts.poseFrames ?? 2;
  const needNet = streams.includes('object') || streams.includes('context');
  const net: MobilenetRunner | null = needNet
    ? await loadMobilenet({
        engine: opts.engine ?? 'auto',
        threads: opts.threads ?? 1,
        batchSize: opts.batchSize,
        cacheDir: opts.cacheDir,
        mapLayer: opts.objectLayer,
      })
    : null;
  const pose: PoseRunner | null = streams.includes('action')
    ? await loadPoseRunner({
        engine: opts.engine ?? 'auto',
        threads: opts.threads ?? 1,
        batchSize: opts.batchSize,
        cacheDir: opts.cacheDir,
      })
    : null;
  const faces: FaceRunner | null = streams.includes('face')
    ? await loadFaceRunner({
        engine: opts.engine ?? 'auto',
        threads: opts.threads ?? 1,
        batchSize: opts.batchSize,
        cacheDir: opts.cacheDir,
      })
    : null;
  const infos = defaultStreamInfos(
    net?.engine ?? 'none',
    poseFrames,
    pose?.engine ?? 'none',
    opts.objectLayer,
    faces?.engine ?? 'none',
  );
  const wantAction = streams.includes('action');
  const wantFace = streams.includes('face');

  return {
    id: DEFAULT_PACK_ID,
    streams: streams.map((s) => infos[s]),
    async extract(input: PackInput) {
      const T = input.snippets.length;
      const size = decodeSize(input.info, opts.shortSide ?? 256);
      const keyTimes = input.snippets.map((s) => s.keyTime);
      const clipTimes = wantAction ? input.snippets.flatMap((s) => s.clipTimes) : [];
      const frames = await input.decode([...keyTimes, ...clipTimes], { ...size, mode: 'stretch' });
      const keys = frames.slice(0, T);
      const clips: Frame[][] = [];
      for (let t = 0, o = T; t < T && wantAction; t++) {
        const k = input.snippets[t].clipTimes.length;
        clips.push(frames.slice(o, o + k));
        o += k;
      }
      const out: Record<string, StreamTensor> = {};
      const warnings: string[] = [];

      // MobileNetV2 and MoveNet on onnxruntime's threads while the JS thread runs faces
      const netJob = net ? net.run(keys) : null;
      const poseIn: Frame[] = [];
      const poseT: number[][] = [];
      for (let t = 0; t < T && wantAction; t++) {
        const clip = clips[t];
        const two = poseFrames === 2 && clip.length > 0;
        poseIn.push(keys[t]);
        if (two) poseIn.push(clip[clip.length - 1]);
        poseT.push(two ? [keyTimes[t], input.snippets[t].clipTimes[clip.length - 1]] : [keyTimes[t]]);
      }
      const poseJob = pose && wantAction ? pose.run(poseIn) : null;

      const faceJob = faces && wantFace ? faces.run(keys) : null;

      if (faceJob) {
        const data = new Float32Array(T * FACE_LAYOUT.size);
        let found = 0;
        const dets = await faceJob;
        for (let t = 0; t < T; t++) {
          const v = faceVectorOf(dets[t]);
          if (v[FACE_LAYOUT.presence] > 0) found++;
          data.set(v, t * FACE_LAYOUT.size);
        }
        out.face = { shape: [T, FACE_LAYOUT.size], data };
        if (found === 0) warnings.push('face: no face found in any key frame (face stream is zero)');
      }
      if (wantAction) {
        const data = new Float32Array(T * ACTION_DIM);
        for (let t = 0; t < T; t++) data.set(motionStats(clips[t]), t * ACTION_DIM + POSE_DIM);
        const poses = await (poseJob as Promise<Float32Array[]>);
        for (let t = 0, o = 0; t < T; t++) {
          const n = poseT[t].length;
          data.set(poseDynamics(poses.slice(o, o + n), poseT[t]), t * ACTION_DIM);
          o += n;
        }
        out.action = { shape: [T, ACTION_DIM], data };
      }
      if (netJob) {
        const r = await netJob;
        if (streams.includes('object'))
          out.object = { shape: [T, ...(net as MobilenetRunner).mapShape], data: r.map };
        if (streams.includes('context')) {
          const data = new Float32Array(T * CONTEXT_DIM);
          for (let t = 0; t < T; t++) {
            data.set(r.mid.subarray(t * MID_DIM, (t + 1) * MID_DIM), t * CONTEXT_DIM);
            data.set(colourStats(keys[t]), t * CONTEXT_DIM + MID_DIM);
          }
          out.context = { shape: [T, CONTEXT_DIM], data };
        }
      }
      return { streams: out, warnings };
    },
    async dispose() {
      await net?.dispose();
      await pose?.dispose();
      await faces?.dispose();
    },
  };
}
