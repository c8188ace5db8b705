/**
 * The research pack: stronger frozen backbones from the installed `research` pack
 * (`dfan pack install <folder-or-URL> --id research`, see docs/packs.md):
 *   object  [T,14,14,1280] MobileNetV2 int8 ImageNet maps of the 2×2 tiles of each snippet's
 *                        key frame (stretched whole to 448², cut into four 224² tiles, the four
 *                        7×7 maps put back in place; `tiles: 1` = one 7×7 map of the frame at 224²)
 *   context [T,1280]     global average of the ImageNet map of the whole key frame at 224² (no
 *                        Places365 model exists here)
 *   action  [T,480]      MoViNet-A0-Stream Kinetics-600 head-pool change over the snippet (5 fps stream)
 *   audio   [T,521]      YAMNet AudioSet scores pooled per snippet (zero + warning when silent / no audio)
 * Everything runs in the calling thread: the TFLite addon cannot live in two JS threads at once.
 */
import { join } from 'node:path';
import { DfanError } from '../../errors.js';
import type { Frame } from '../../video/types.js';
import { readInstallable } from '../packs/format.js';
import { assertFilesPresent, requireInstalled } from '../packs/installed.js';
import type { StreamInfo, StreamTensor } from '../streams.js';
import { defaultTfliteThreads, loadTfliteAddon } from '../tflite.js';
import { assembleTiles, cutTiles, halveFrame } from '../tiles.js';
import type { FeaturePack, PackInput } from '../types.js';
import { readMonoAudio, sharedDecode, streamSquareFrames } from './media.js';
import { MOBILENET_C, MOBILENET_HW, MOBILENET_SIZE, Mobilenet } from './mobilenet.js';
import { type ClassProb, MOVINET_DIM, MOVINET_SIZE, MovinetStream, poolSnippets } from './movinet.js';
import { type AudioPoolResult, YAMNET_DIM, Yamnet } from './yamnet.js';

export const RESEARCH_PACK_ID = 'research';
/**
 * Revision of the research pack's numbers within an installed version (part of the pack id): 2 =
 * key frames are stretched whole onto the 224² input (was: short side 256, centre crop 224);
 * 3 = the object map is tiled 2×2 (14×14 from 448²) and the context is the 224² view's pool.
 */
export const RESEARCH_PACK_REVISION = 3;
/** Tiles per side of the object map (DFAN_RESEARCH_TILES): 2 = 14×14 of the frame at 448². */
export const RESEARCH_TILES = 2;

/**
 * The map stream sees the whole key frame stretched (region [0,0,1,1]) since revision 2, tiled
 * since revision 3; its description says so whatever the installed pack.json of an older dfan says.
 */
function fullFrame(s: StreamInfo, tiles: number): StreamInfo {
  if (s.kind !== 'map') return s;
  const side = MOBILENET_HW * tiles;
  const how =
    tiles === 1
      ? 'whole frame stretched to 224²'
      : `whole frame stretched to ${MOBILENET_SIZE * tiles}², ${tiles}×${tiles} tiles of 224², their 7×7 maps put side by side`;
  return {
    ...s,
    description: `MobileNetV2-1.0 int8 trained on ImageNet-1k: last conv map ${side}x${side}x1280 of the snippet key frame (${how})`,
    fit: 'stretch',
    inputAspect: 1,
  };
}

/** The tiles option, else DFAN_RESEARCH_TILES, else 2; only 1 and 2 are offered. */
export function researchTiles(opt?: number): number {
  const raw =
    opt ?? (process.env.DFAN_RESEARCH_TILES ? Number(process.env.DFAN_RESEARCH_TILES) : RESEARCH_TILES);
  if (raw !== 1 && raw !== 2)
    throw new DfanError('BAD_ARGUMENT', `research pack tiles must be 1 or 2, got ${raw}`, {
      hint: 'DFAN_RESEARCH_TILES=1 gives one 7×7 map of the frame at 224², 2 (default) a 14×14 map from 2×2 tiles',
    });
  return raw;
}

export interface ResearchOptions {
  /** load from this folder instead of the installed pack (it must hold pack.json or the raw files) */
  dir?: string;
  /** frames per second fed to MoViNet (default 5) */
  actionFps?: number;
  /**
   * TFLite threads for MoViNet (default: DFAN_TFLITE_THREADS, else 2 on an idle machine and 1 on
   * a busy one — see defaultTfliteThreads). 2 threads run ~1.5× faster than 1 on an idle 2-core
   * machine, but 4–6× SLOWER when the cores are oversubscribed (TFLite's pool spins).
   */
  actionThreads?: number;
  /** onnxruntime threads for MobileNetV2 (default 2) */
  threads?: number;
  /** MobileNetV2 batch size (default 16) */
  batchSize?: number;
  /** subset of object, context, action, audio (default: all) */
  streams?: string[];
  /** YAMNet hop in seconds (default 0.975: windows tile the audio) */
  audioHop?: number;
  /** object map tiles per side (default DFAN_RESEARCH_TILES, else 2: 14×14 from 448²) */
  tiles?: number;
}

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

const FALLBACK_STREAMS: StreamInfo[] = [
  {
    name: 'object',
    kind: 'map',
    backbone: 'mobilenetv2-12-int8-imagenet/feat_map_1280x7x7',
    description: 'MobileNetV2 int8 ImageNet-1k map of the key frame',
  },
  {
    name: 'context',
    kind: 'vector',
    backbone: 'mobilenetv2-12-int8-imagenet/feat_pool_1280',
    description: 'global ImageNet descriptor of the key frame (not a scene model)',
  },
  {
    name: 'action',
    kind: 'vector',
    backbone: 'movinet-a0-stream-int8-k600/state_head_pool_buffer',
    description: 'MoViNet-A0-Stream Kinetics-600 head-pool change over the snippet',
  },
  {
    name: 'audio',
    kind: 'vector',
    backbone: 'yamnet-audioset/scores',
    description: 'YAMNet AudioSet scores pooled per snippet',
  },
];

async function packFolder(
  opts: ResearchOptions,
): Promise<{ dir: string; version: string; streams: StreamInfo[] }> {
  if (opts.dir) {
    try {
      const p = await readInstallable(join(opts.dir, 'pack.json'));
      return { dir: opts.dir, version: p.version, streams: p.streams };
    } catch (e) {
      if (e instanceof DfanError && e.code !== 'NOT_FOUND') throw e;
      return { dir: opts.dir, version: 'dev', streams: FALLBACK_STREAMS };
    }
  }
  const p = await requireInstalled(RESEARCH_PACK_ID);
  await assertFilesPresent(p);
  return { dir: p.dir, version: p.pack.version, streams: p.pack.streams };
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

/** The settings that shape one loaded research pack, checked once at load. */
interface ResearchSettings {
  threads: number;
  actionThreads: number;
  fps: number;
  tiles: number;
  audioHop: number;
  want: Set<string>;
}

function researchSettings(opts: ResearchOptions, streams: StreamInfo[]): ResearchSettings {
  const fps = opts.actionFps ?? 5;
  if (!(fps > 0 && fps <= 30))
    throw new DfanError('BAD_ARGUMENT', `action fps must be in (0, 30], got ${fps}`);
  const tiles = researchTiles(opts.tiles);
  const known = streams.map((s) => s.name);
  const want = new Set(opts.streams?.length ? opts.streams : known);
  for (const s of want)
    if (!known.includes(s))
      throw new DfanError('BAD_ARGUMENT', `the research pack has no stream "${s}"`, {
        hint: `its streams: ${known.join(', ')}`,
      });
  const actionThreads = opts.actionThreads ?? defaultTfliteThreads();
  return { threads: opts.threads ?? 2, actionThreads, fps, tiles, audioHop: opts.audioHop ?? 0.975, want };
}

/** Settings that change the numbers are part of the id (and so of the feature store's config hash). */
function researchPackId(version: string, s: ResearchSettings): string {
  const tiles = s.tiles !== RESEARCH_TILES ? `+tiles${s.tiles}` : '';
  const fps = s.fps !== 5 ? `+fps${s.fps}` : '';
  const hop = s.audioHop !== 0.975 ? `+hop${s.audioHop}` : '';
  return `${RESEARCH_PACK_ID}@${version}+r${RESEARCH_PACK_REVISION}${tiles}${fps}${hop}`;
}

interface ResearchModels {
  movinet: MovinetStream | null;
  yamnet: Yamnet | null;
  mobilenet: Mobilenet | null;
}

async function loadModels(dir: string, s: ResearchSettings, batchSize?: number): Promise<ResearchModels> {
  // TFLite first: when the optional engine is missing, say so before loading anything else
  if (s.want.has('action') || s.want.has('audio')) loadTfliteAddon();
  return {
    movinet: s.want.has('action') ? await MovinetStream.load(dir, { threads: s.actionThreads }) : null,
    // YAMNet is small: one thread is faster than two here (20 vs 26 ms per window)
    yamnet: s.want.has('audio') ? await Yamnet.load(dir, { threads: 1 }) : null,
    mobilenet:
      s.want.has('object') || s.want.has('context')
        ? await Mobilenet.load(dir, { threads: s.threads, batchSize })
        : null,
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
class LoadedResearchPack implements ResearchPack {
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

/** Load the research pack (installed, or from `opts.dir`). */
export async function loadResearchPack(opts: ResearchOptions = {}): Promise<ResearchPack> {
  const { dir, version, streams } = await packFolder(opts);
  const s = researchSettings(opts, streams);
  const models = await loadModels(dir, s, opts.batchSize);
  const mine = streams.filter((st) => s.want.has(st.name)).map((st) => fullFrame(st, s.tiles));
  return new LoadedResearchPack(researchPackId(version, s), mine, models, s);
}
