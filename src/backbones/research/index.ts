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
 * How one video runs: ./extract.ts.
 */
import { join } from 'node:path';
import { DfanError } from '../../errors.js';
import { readInstallable } from '../packs/format.js';
import { assertFilesPresent, requireInstalled } from '../packs/installed.js';
import type { StreamInfo } from '../streams.js';
import { defaultTfliteThreads, loadTfliteAddon } from '../tflite.js';
import {
  LoadedResearchPack,
  type ResearchModels,
  type ResearchPack,
  type ResearchSettings,
} from './extract.js';
import { MOBILENET_HW, MOBILENET_SIZE, Mobilenet } from './mobilenet.js';
import { MovinetStream } from './movinet.js';
import { Yamnet } from './yamnet.js';

export type { ResearchPack, ResearchTimings } from './extract.js';

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

/** Load the research pack (installed, or from `opts.dir`). */
export async function loadResearchPack(opts: ResearchOptions = {}): Promise<ResearchPack> {
  const { dir, version, streams } = await packFolder(opts);
  const s = researchSettings(opts, streams);
  const models = await loadModels(dir, s, opts.batchSize);
  const mine = streams.filter((st) => s.want.has(st.name)).map((st) => fullFrame(st, s.tiles));
  return new LoadedResearchPack(researchPackId(version, s), mine, models, s);
}
