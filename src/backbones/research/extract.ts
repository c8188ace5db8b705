/**
 * The research pack on one video: MoViNet's causal pass over the whole video (action), then
 * MobileNetV2 on the key frames (object map, context), then YAMNet's pooled scores (audio, read
 * by its own ffmpeg meanwhile). Everything runs in the calling thread: the TFLite addon cannot
 * live in two JS threads at once.
 */
import type { Frame } from '../../video/types.js';
import type { StreamInfo, StreamTensor } from '../streams.js';
import { assembleTiles, cutTiles, halveFrame } from '../tiles.js';
import type { FeaturePack, PackInput } from '../types.js';
import { readMonoAudio, sharedDecode, streamSquareFrames } from './media.js';
import { MOBILENET_C, MOBILENET_HW, MOBILENET_SIZE, type Mobilenet } from './mobilenet.js';
import { type ClassProb, MOVINET_DIM, MOVINET_SIZE, type MovinetStream, poolSnippets } from './movinet.js';
import { type AudioPoolResult, YAMNET_DIM, type Yamnet } from './yamnet.js';

/** Time spent per backbone on the last video (for the benchmark's overhead ratio). */
export interface ResearchTimings {
  objectMs: number;
  /** 224² images MobileNetV2 ran: 1 + tiles² per key frame (the whole frame and its tiles) */
  objectFrames: number;
  actionMs: number;
  actionFrames: number;
  audioMs: number;
  audioWindows: number;
  totalMs: number;
  /** TFLite threads MoViNet ran with */
  actionThreads: number;
}

export interface ResearchPack extends FeaturePack {
  /** Kinetics-600 top-5 of the last video's whole clip */
  lastActionLabels: ClassProb[];
  lastTimings: ResearchTimings | null;
}

/** The settings that shape one loaded research pack, checked once at load. */
export interface ResearchSettings {
  threads: number;
  actionThreads: number;
  fps: number;
  tiles: number;
  audioHop: number;
  want: Set<string>;
}

export interface ResearchModels {
  movinet: MovinetStream | null;
  yamnet: Yamnet | null;
  mobilenet: Mobilenet | null;
}

/**
 * MobileNetV2 on key frames of side tiles·224: the whole frame at 224² (its pool is the context)
 * and, when the map is wanted and tiles > 1, its tiles (their maps assembled into one).
 */
async function runTiled(
  mobilenet: Mobilenet,
  frames: Frame[],
  tiles: number,
  wantMap: boolean,
): Promise<{ map: Float32Array; pool: Float32Array; inferMs: number; n: number }> {
  const side = MOBILENET_SIZE * tiles;
  if (tiles === 1)
    return mobilenet.run(
      frames.map((f) => f.data),
      side,
    );
  const whole = await mobilenet.run(
    frames.map((f) => halveFrame(f.data, side)),
    MOBILENET_SIZE,
  );
  if (!wantMap) return { map: new Float32Array(0), pool: whole.pool, inferMs: whole.inferMs, n: whole.n };
  const parts = await mobilenet.run(
    frames.flatMap((f) => cutTiles(f.data, side, tiles)),
    MOBILENET_SIZE,
  );
  const H = MOBILENET_HW;
  return {
    map: assembleTiles(parts.map, frames.length, tiles, H, H, MOBILENET_C),
    pool: whole.pool,
    inferMs: whole.inferMs + parts.inferMs,
    n: whole.n + parts.n,
  };
}

/** What one video's extraction fills in as it goes. */
interface VideoRun {
  input: PackInput;
  out: Record<string, StreamTensor>;
  warnings: string[];
  timings: ResearchTimings;
}

/** The audio warnings: no track, silence (whole or in part), and the clip's AudioSet top-3. */
function audioWarnings(
  hasAudio: boolean,
  au: AudioPoolResult,
  T: number,
  topK: (scores: Float32Array, k: number) => Array<{ label: string; score: number }>,
): string[] {
  const w: string[] = [];
  if (!hasAudio) w.push('audio: the video has no audio stream; the audio stream is zero');
  else if (au.silent.every(Boolean)) w.push('audio: the audio track is silent; the audio stream is zero');
  else if (au.silent.some(Boolean))
    w.push(
      `audio: ${au.silent.filter(Boolean).length}/${T} snippets are silent; their audio vectors are zero`,
    );
  if (au.clipMean)
    w.push(
      `audio: YAMNet AudioSet top-3 of the whole clip: ${topK(au.clipMean, 3)
        .map((l) => `${l.label} ${l.score.toFixed(2)}`)
        .join(', ')}`,
    );
  return w;
}

/**
 * The loaded research pack. Everything runs in the calling thread; MoViNet carries its states
 * across awaits (frames arrive asynchronously), so its passes are queued one clip at a time, while
 * the rest may overlap with another video's action pass (onnxruntime runs off the JS thread).
 */
export class LoadedResearchPack implements ResearchPack {
  lastActionLabels: ClassProb[] = [];
  lastTimings: ResearchTimings | null = null;
  private actionQueue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly id: string,
    readonly streams: StreamInfo[],
    private m: ResearchModels,
    private s: ResearchSettings,
  ) {}

  private exclusive<R>(fn: () => Promise<R>): Promise<R> {
    const run = this.actionQueue.then(fn, fn);
    this.actionQueue = run.catch(() => {});
    return run;
  }

  async extract(input: PackInput): Promise<{ streams: Record<string, StreamTensor>; warnings: string[] }> {
    const t0 = performance.now();
    const { movinet, yamnet, mobilenet } = this.m;
    const timings: ResearchTimings = {
      objectMs: 0,
      objectFrames: 0,
      actionMs: 0,
      actionFrames: 0,
      audioMs: 0,
      audioWindows: 0,
      totalMs: 0,
      actionThreads: this.s.actionThreads,
    };
    const v: VideoRun = { input, out: {}, warnings: [], timings };
    // audio is read by its own ffmpeg while the frames are computed
    const audioP: Promise<Float32Array | null> =
      yamnet && input.info.hasAudio
        ? readMonoAudio(input.info.path).catch((e: unknown) => {
            v.warnings.push(`audio: could not read the audio track (${(e as Error).message}); audio is zero`);
            return null;
          })
        : Promise.resolve(null);
    // the whole key frame, stretched onto (tiles·224)² (the grid spans the frame: region [0,0,1,1])
    const side = MOBILENET_SIZE * this.s.tiles;
    const keyOpts = { width: side, height: side, mode: 'stretch' as const };
    const separateKeys = () => {
      const p = input.decode(
        input.snippets.map((sn) => sn.keyTime),
        keyOpts,
      );
      p.catch(() => {}); // awaited below; avoid an unhandled rejection meanwhile
      return p;
    };
    // Key frames are decoded by ffmpeg (another process) while MoViNet computes on this thread;
    // MobileNetV2 runs after MoViNet so that its onnxruntime threads never compete with TFLite's
    // spinning pool.
    let keyFramesP = movinet ? (await this.actionPass(v, keyOpts, separateKeys)).keys : null;
    if (mobilenet) keyFramesP ??= separateKeys();
    if (keyFramesP) await this.mapPass(v, await keyFramesP);
    if (yamnet) this.audioPass(v, yamnet, await audioP);
    timings.totalMs = performance.now() - t0;
    this.lastTimings = timings;
    return { streams: v.out, warnings: v.warnings };
  }

  /**
   * action: one causal MoViNet pass over the whole video at `fps`. When MobileNetV2 is wanted too,
   * one ffmpeg decode feeds both (sharedDecode: the same frames as two separate decodes, half the
   * decoding CPU); returns the key frames' promise then (boxed: an async function would wait for
   * a promise it returns), else null.
   */
  private async actionPass(
    v: VideoRun,
    keyOpts: { width: number; height: number; mode: 'stretch' },
    separateKeys: () => Promise<Frame[]>,
  ): Promise<{ keys: Promise<Frame[]> | null }> {
    const { info, snippets } = v.input;
    const movinet = this.m.movinet as MovinetStream;
    let keys: Promise<Frame[]> | null = null;
    const trace = await this.exclusive(async () => {
      const shared = this.m.mobilenet
        ? await sharedDecode(
            info.path,
            this.s.fps,
            MOVINET_SIZE,
            info,
            snippets.map((sn) => sn.keyTime),
            keyOpts,
          ).catch(() => null)
        : null;
      if (this.m.mobilenet) keys = shared ? shared.keys : separateKeys();
      return movinet.runClip(
        shared ? shared.frames : streamSquareFrames(info.path, this.s.fps, MOVINET_SIZE),
      );
    });
    v.out.action = { shape: [snippets.length, MOVINET_DIM], data: poolSnippets(trace, snippets) }; // [T, 480]
    const top5 = movinet.topK(trace.logits, 5);
    this.lastActionLabels = top5;
    v.warnings.push(
      `action: MoViNet-A0 Kinetics-600 top-5 of the whole clip: ${top5
        .map((l) => `${l.label} ${(100 * l.prob).toFixed(1)}%`)
        .join(', ')}`,
    );
    v.timings.actionMs = trace.inferMs;
    v.timings.actionFrames = trace.times.length;
    return { keys };
  }

  /** object: the tiles' maps side by side; context: the pool of the whole frame at 224² */
  private async mapPass(v: VideoRun, keyFrames: Frame[]): Promise<void> {
    const want = this.s.want;
    const T = v.input.snippets.length;
    const mob = await runTiled(this.m.mobilenet as Mobilenet, keyFrames, this.s.tiles, want.has('object'));
    const HW = MOBILENET_HW * this.s.tiles;
    if (want.has('object')) v.out.object = { shape: [T, HW, HW, MOBILENET_C], data: mob.map }; // [T, 14, 14, 1280]
    if (want.has('context')) v.out.context = { shape: [T, MOBILENET_C], data: mob.pool }; // [T, 1280]
    v.timings.objectMs = mob.inferMs;
    v.timings.objectFrames = mob.n;
  }

  /** audio: YAMNet scores pooled per snippet; zero (with a warning) without audio */
  private audioPass(v: VideoRun, yamnet: Yamnet, samples: Float32Array | null): void {
    const { info, snippets } = v.input;
    const au = yamnet.poolSnippets(samples, snippets, { hop: this.s.audioHop });
    v.out.audio = { shape: [snippets.length, YAMNET_DIM], data: au.scores }; // [T, 521]
    v.warnings.push(
      ...audioWarnings(info.hasAudio && samples !== null, au, snippets.length, (x, k) => yamnet.topK(x, k)),
    );
    v.timings.audioMs = au.inferMs;
    v.timings.audioWindows = au.windows;
  }

  async dispose(): Promise<void> {
    this.m.movinet?.dispose();
    this.m.yamnet?.dispose();
    await this.m.mobilenet?.dispose();
  }
}
