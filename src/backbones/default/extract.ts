/**
 * The default pack on one video. One decode (ffmpeg in its own process) hands frames over as
 * they arrive; once every frame of a snippet is in, the snippet joins a group, and each group of
 * `group` complete snippets runs the models (onnxruntime, off the JS thread) and the JS
 * statistics while ffmpeg decodes the next frames.
 */
import type { Frame, Snippet } from '../../video/types.js';
import { FACE_LAYOUT, type StreamTensor } from '../streams.js';
import type { PackInput } from '../types.js';
import type { ObjectMapRunner } from './centernet.js';
import { type FaceRunner, faceVectorOf } from './faces.js';
import { MID_DIM, type MobilenetRunner } from './mobilenet.js';
import type { PoseRunner } from './movenet.js';
import {
  COLOUR_STATS,
  colourStats,
  MOTION_STATS,
  motionStats,
  motionThumbSize,
  POSE_DIM,
  poseDynamics,
} from './stats.js';

/** context = pooled MobileNetV2 mid features + colour statistics; action = pose dynamics + motion statistics */
export const CONTEXT_DIM = MID_DIM + COLOUR_STATS.length;
export const ACTION_DIM = POSE_DIM + MOTION_STATS.length;

/** The default pack's loaded models; null where no wanted stream needs one. */
export interface DefaultModels {
  /** MobileNetV2: the context's mid features, and the object map unless `objectNet` makes it */
  net: MobilenetRunner | null;
  /** CenterNet's backbone: the object map */
  objectNet: ObjectMapRunner | null;
  pose: PoseRunner | null;
  faces: FaceRunner | null;
}

/** Which streams to fill and how. */
export interface VideoRunOptions {
  streams: string[];
  /** MoveNet runs per snippet: 1 = key frame only, 2 = key frame + last clip frame */
  poseFrames: 1 | 2;
  /** size frames are decoded at (the motion thumbnails are smaller) */
  size: { width: number; height: number };
  /** complete snippets per inference group */
  group: number;
}

/**
 * The frames one decode delivers for a video. Indices into `times`: key frames [0, T), then each
 * snippet's clip frames (as motion thumbnails), then each snippet's last clip frame at full size
 * (MoveNet's second pose).
 */
export interface FramePlan {
  times: number[];
  /** snippet each frame belongs to */
  owner: number[];
  /** frames decoded as motion thumbnails */
  thumbs: number[];
  /** per snippet: index of its first clip frame, and how many */
  clipStart: Int32Array;
  clipLen: number[];
  /** per snippet: index of its second pose frame, -1 when none */
  poseLast: Int32Array;
  /** per snippet: frames to wait for before it can run */
  need: number[];
}

export function planFrames(snippets: Snippet[], wantClips: boolean, poseFrames: 1 | 2): FramePlan {
  const T = snippets.length;
  const keyTimes = snippets.map((s) => s.keyTime);
  const clipLen = snippets.map((s) => (wantClips ? s.clipTimes.length : 0));
  const clipStart = new Int32Array(T);
  const times = [...keyTimes];
  const owner: number[] = keyTimes.map((_, t) => t);
  const thumbs: number[] = [];
  for (let t = 0; t < T; t++) {
    clipStart[t] = times.length;
    for (let j = 0; j < clipLen[t]; j++) {
      thumbs.push(times.length);
      times.push(snippets[t].clipTimes[j]);
      owner.push(t);
    }
  }
  const poseLast = new Int32Array(T).fill(-1);
  for (let t = 0; t < T; t++) {
    if (poseFrames !== 2 || clipLen[t] === 0) continue;
    poseLast[t] = times.length;
    times.push(snippets[t].clipTimes[clipLen[t] - 1]);
    owner.push(t);
  }
  const need = clipLen.map((k, t) => 1 + k + (poseLast[t] >= 0 ? 1 : 0));
  return { times, owner, thumbs, clipStart, clipLen, poseLast, need };
}

/** The four streams of one video, filled snippet group by snippet group. */
class VideoStreams {
  readonly object: Float32Array | null;
  readonly context: Float32Array | null;
  readonly action: Float32Array | null;
  readonly face: Float32Array | null;
  /** [H, W, C] of the object map */
  readonly mapShape: readonly number[];
  private mapLen: number;
  /** decoded frames by plan index (filled as they arrive) */
  readonly frames: Frame[];

  constructor(
    private m: DefaultModels,
    private plan: FramePlan,
    streams: string[],
  ) {
    const T = plan.clipLen.length;
    this.mapShape = (m.objectNet ?? m.net)?.mapShape ?? [0];
    this.mapLen = this.mapShape.reduce((a, b) => a * b, 1);
    this.object = streams.includes('object') ? new Float32Array(T * this.mapLen) : null;
    this.context = streams.includes('context') ? new Float32Array(T * CONTEXT_DIM) : null;
    this.action = streams.includes('action') ? new Float32Array(T * ACTION_DIM) : null;
    this.face = streams.includes('face') ? new Float32Array(T * FACE_LAYOUT.size) : null;
    this.frames = new Array(plan.times.length);
  }

  /**
   * The models on a group of complete snippets, then the JS statistics while the models run
   * (onnxruntime runs off the JS thread, so all of it overlaps with the decoding of later frames).
   */
  async runGroup(ts: number[]): Promise<void> {
    const keys = ts.map((t) => this.frames[t]);
    const jobs = [
      this.runNet(ts, keys),
      this.runObjectNet(ts, keys),
      this.runFaces(ts, keys),
      this.runPose(ts),
    ];
    const { clipStart, clipLen } = this.plan;
    for (const t of ts) {
      const clip = this.frames.slice(clipStart[t], clipStart[t] + clipLen[t]);
      if (this.action) this.action.set(motionStats(clip), t * ACTION_DIM + POSE_DIM);
      if (this.context) this.context.set(colourStats(this.frames[t]), t * CONTEXT_DIM + MID_DIM);
    }
    await Promise.all(jobs);
  }

  private async runNet(ts: number[], keys: Frame[]): Promise<void> {
    const { net, objectNet } = this.m;
    if (!net) return;
    const r = await net.run(keys);
    const n = this.mapLen;
    ts.forEach((t, i) => {
      if (!objectNet) this.object?.set(r.map.subarray(i * n, (i + 1) * n), t * n);
      this.context?.set(r.mid.subarray(i * MID_DIM, (i + 1) * MID_DIM), t * CONTEXT_DIM);
    });
  }

  private async runObjectNet(ts: number[], keys: Frame[]): Promise<void> {
    const object = this.object;
    if (!this.m.objectNet || !object) return;
    const maps = await this.m.objectNet.run(keys);
    const n = this.mapLen;
    ts.forEach((t, i) => {
      object.set(maps.subarray(i * n, (i + 1) * n), t * n);
    });
  }

  private async runFaces(ts: number[], keys: Frame[]): Promise<void> {
    const face = this.face;
    if (!this.m.faces || !face) return;
    const dets = await this.m.faces.run(keys);
    ts.forEach((t, i) => {
      face.set(faceVectorOf(dets[i]), t * FACE_LAYOUT.size);
    });
  }

  /** MoveNet on each snippet's key frame and, with two pose frames, its last clip frame. */
  private async runPose(ts: number[]): Promise<void> {
    const action = this.action;
    if (!this.m.pose || !action) return;
    const { poseLast, times } = this.plan;
    const poseIn: Frame[] = [];
    const poseT: number[][] = [];
    for (const t of ts) {
      poseIn.push(this.frames[t]);
      if (poseLast[t] >= 0) poseIn.push(this.frames[poseLast[t]]);
      poseT.push(poseLast[t] >= 0 ? [times[t], times[poseLast[t]]] : [times[t]]);
    }
    const poses = await this.m.pose.run(poseIn);
    let o = 0;
    ts.forEach((t, i) => {
      const n = poseT[i].length;
      action.set(poseDynamics(poses.slice(o, o + n), poseT[i]), t * ACTION_DIM);
      o += n;
    });
  }

  /** The filled streams (in the pack's stream order of old: face, action, object, context). */
  result(): { streams: Record<string, StreamTensor>; warnings: string[] } {
    const T = this.plan.clipLen.length;
    const out: Record<string, StreamTensor> = {};
    const warnings: string[] = [];
    if (this.face) {
      out.face = { shape: [T, FACE_LAYOUT.size], data: this.face };
      let found = 0;
      for (let t = 0; t < T; t++) if (this.face[t * FACE_LAYOUT.size + FACE_LAYOUT.presence] > 0) found++;
      if (found === 0) warnings.push('face: no face found in any key frame (face stream is zero)');
    }
    if (this.action) out.action = { shape: [T, ACTION_DIM], data: this.action };
    if (this.object) out.object = { shape: [T, ...this.mapShape], data: this.object };
    if (this.context) out.context = { shape: [T, CONTEXT_DIM], data: this.context };
    return { streams: out, warnings };
  }
}

/**
 * Decode the plan's frames once, starting `run` on each group of `group` snippets as soon as
 * their frames are in; resolves when every group has run.
 */
async function decodeInGroups(
  input: PackInput,
  plan: FramePlan,
  frames: Frame[],
  o: VideoRunOptions,
  run: (ts: number[]) => Promise<void>,
): Promise<void> {
  const got = new Int32Array(plan.need.length);
  let ready: number[] = [];
  const running: Promise<void>[] = [];
  const launch = () => {
    if (ready.length === 0) return;
    const p = run(ready);
    p.catch(() => {}); // awaited below; never an unhandled rejection meanwhile
    running.push(p);
    ready = [];
  };
  const onFrame = (i: number, f: Frame) => {
    if (frames[i]) return;
    frames[i] = f;
    const t = plan.owner[i];
    if (++got[t] === plan.need[t]) {
      ready.push(t);
      if (ready.length >= o.group) launch();
    }
  };
  try {
    const thumb = plan.thumbs.length
      ? { ...motionThumbSize(o.size.width, o.size.height), indices: plan.thumbs }
      : undefined;
    const decoded = await input.decode(plan.times, { ...o.size, mode: 'stretch', thumb, onFrame });
    // frames a PackInput did not report through onFrame
    decoded.forEach((f, i) => {
      onFrame(i, f);
    });
    launch();
    await Promise.all(running);
  } finally {
    await Promise.allSettled(running);
  }
}

/** The default pack's streams of one video. */
export async function extractDefaultStreams(
  input: PackInput,
  models: DefaultModels,
  o: VideoRunOptions,
): Promise<{ streams: Record<string, StreamTensor>; warnings: string[] }> {
  const plan = planFrames(input.snippets, o.streams.includes('action'), o.poseFrames);
  const video = new VideoStreams(models, plan, o.streams);
  await decodeInGroups(input, plan, video.frames, o, (ts) => video.runGroup(ts));
  return video.result();
}
