/**
 * Extraction against the PyTorch peer (bench/peers/extract_torch.py): the real clips of
 * ../shared/media, T = 16 key frames each, MobileNetV2's 7×7×1280 map. The peer writes its
 * network (seeded weights) to ONNX; dfan runs that file as a one-backbone pack (`dfan extract
 * --pack`: probe, frame timestamps, decode, onnxruntime, hash, feature file). The peer is handed
 * the frames dfan picks (its ffmpeg `select` expression, so it skips dfan's timestamp scan) and
 * decodes them with the same ffmpeg and the same scale/crop filter; the benchmark checks that
 * both feature maps agree. Clip by clip, interleaved: dfan and the peer on one thread, then both
 * on every core.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadManifestPack } from '../../src/backbones/manifest-pack.js';
import type { FeaturePack } from '../../src/backbones/types.js';
import { extractVideo } from '../../src/features/extract.js';
import { writeFeatures } from '../../src/features/store.js';
import { projectRoot } from '../../src/version.js';
import {
  clearProbeCaches,
  decodeFrames,
  findFfmpeg,
  probe,
  sampleSnippets,
  selectExpr,
} from '../../src/video/index.js';
import { IMAGENET, rgbInput } from '../../test/backbones/helpers.js';
import { relErr } from '../../test/helpers/numeric.js';
import { sharedPath } from '../../test/helpers/shared.js';
import { cpuSeconds, fmt, medianRange, medianWallCpu, type Timing } from '../util.js';
import { PythonPeer } from './python.js';

const SIZE = 224;
const T = 16;

export interface ExtractRows {
  clips: string[];
  /** per round: seconds for all clips */
  dfan1: Timing;
  torch1: Timing;
  dfanAll: Timing;
  torchAll: Timing;
  /** largest |dfan − peer| over the feature maps, relative to the largest |peer| value */
  agreement: number;
}

/** The clips of ../shared/media (DFAN_SHARED overrides ../shared), or null when absent. */
function sharedClips(): string[] | null {
  const dir = sharedPath('media');
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith('.mp4'))
      .sort()
      .map((f) => join(dir, f));
  } catch {
    return null;
  }
}

function packFile(dir: string, onnx: string): string {
  const file = join(dir, 'pack.json');
  const pack = {
    id: 'peer-mobilenetv2@1',
    backbones: [
      {
        id: 'mobilenetv2-peer/map',
        stream: 'object',
        kind: 'frame-map',
        engine: 'onnx',
        weights: onnx,
        input: rgbInput({ size: [SIZE, SIZE], ...IMAGENET }),
        output: { name: 'features', shape: [1280, 7, 7] },
        licence: 'none (seeded random weights, written by the benchmark)',
        description:
          'MobileNetV2-1.0 as bench/peers/extract_torch.py defines it: the last 1x1 convolution map',
      },
    ],
  };
  writeFileSync(file, JSON.stringify(pack, null, 2));
  return file;
}

/** dfan's frames for a clip as an ffmpeg select expression over absolute timestamps. */
async function selectOf(clip: string): Promise<string> {
  const info = await probe(clip);
  const keys = sampleSnippets(info.duration, T, 8, info.fps > 0 ? info.fps : undefined).map((s) => s.keyTime);
  const frames = await decodeFrames(clip, keys, { width: SIZE, height: SIZE, mode: 'crop' });
  const start = info.startTime ?? 0;
  const pts = [...new Set(frames.map((f) => (f.pts ?? f.time) + start))].sort((a, b) => a - b);
  return selectExpr(pts, 1e-3);
}

/** A .npy file of float32 values (little-endian, C order). */
function readNpy(path: string): Float32Array {
  const b = readFileSync(path);
  const headerLen = b.readUInt16LE(8);
  const start = 10 + headerLen;
  return new Float32Array(b.buffer.slice(b.byteOffset + start, b.byteOffset + b.length));
}

async function dfanClip(pack: FeaturePack, clip: string, out: string) {
  clearProbeCaches(); // every run pays for probing and the timestamp scan, as a new video does
  const c0 = cpuSeconds();
  const t0 = performance.now();
  const vf = await extractVideo(clip, pack, { T });
  await writeFeatures(out, vf);
  return { wall: (performance.now() - t0) / 1000, cpu: cpuSeconds() - c0, map: vf.streams.object.data };
}

interface PeerAnswer {
  wall: number;
  cpu: number;
  frames: number;
}

type Sums = Record<'dfan1' | 'torch1' | 'dfanAll' | 'torchAll', [number, number]>;

/** Largest |dfan − peer| over one clip's maps, relative to the largest |peer| value. */
function disagreement(peer: Float32Array, dfan: Float32Array): number {
  return peer.length === dfan.length ? relErr(dfan, peer) : Number.POSITIVE_INFINITY;
}

interface Setup {
  clips: string[];
  dir: string;
  peer: PythonPeer;
  packs: { one: FeaturePack; all: FeaturePack };
  selects: Map<string, string>;
  threads: number;
}

/** One round over every clip: dfan and the peer on one thread, then both on every core. */
async function extractRound(x: Setup, checkAgreement: boolean): Promise<{ sums: Sums; agreement: number }> {
  const sums: Sums = { dfan1: [0, 0], torch1: [0, 0], dfanAll: [0, 0], torchAll: [0, 0] };
  let agreement = 0;
  for (const [i, clip] of x.clips.entries()) {
    const out = join(x.dir, `clip${i}`);
    const ask = (threads: number) =>
      x.peer.ask<PeerAnswer>({ clip, select: x.selects.get(clip), out: `${out}.npy`, threads });
    const d1 = await dfanClip(x.packs.one, clip, `${out}.safetensors`);
    const p1 = await ask(1);
    const dA = await dfanClip(x.packs.all, clip, `${out}.safetensors`);
    const pA = await ask(x.threads);
    for (const [k, t] of [
      ['dfan1', d1],
      ['torch1', p1],
      ['dfanAll', dA],
      ['torchAll', pA],
    ] as const) {
      sums[k][0] += t.wall;
      sums[k][1] += t.cpu;
    }
    // same network, same frames: the maps agree up to float rounding
    if (checkAgreement) agreement = Math.max(agreement, disagreement(readNpy(`${out}.npy`), d1.map));
  }
  return { sums, agreement };
}

export async function extractionPeers(o: {
  rounds: number;
  log: (line: string) => void;
}): Promise<ExtractRows | null> {
  const clips = sharedClips();
  if (!clips?.length) {
    o.log('extraction peer skipped: no clips in ../shared/media (set DFAN_SHARED)');
    return null;
  }
  const threads = cpus().length;
  const dir = mkdtempSync(join(tmpdir(), 'dfan-peers-'));
  const onnx = join(dir, 'mobilenetv2_map.onnx');
  const { ffmpeg } = findFfmpeg();
  const script = join(projectRoot(), 'bench', 'peers', 'extract_torch.py');
  const peer = new PythonPeer(script, ['--export', onnx, '--ffmpeg', ffmpeg]);
  try {
    const ready = await peer.next<{ error?: string; torch: string; params: number }>();
    if (ready.error) {
      o.log(`extraction peer skipped: ${ready.error}`);
      return null;
    }
    const file = packFile(dir, onnx);
    const packs = {
      one: await loadManifestPack(file, { threads: 1 }),
      all: await loadManifestPack(file, { threads }),
    };
    o.log(
      `${clips.length} clips, T ${T}, MobileNetV2-1.0 (${ready.params} parameters) → 7×7×1280; ffmpeg ${ffmpeg}`,
    );
    const selects = new Map<string, string>();
    for (const clip of clips) selects.set(clip, await selectOf(clip));
    const setup: Setup = { clips, dir, peer, packs, selects, threads };
    const rows: ExtractRows = {
      clips,
      dfan1: { wall: [], cpu: [] },
      torch1: { wall: [], cpu: [] },
      dfanAll: { wall: [], cpu: [] },
      torchAll: { wall: [], cpu: [] },
      agreement: 0,
    };
    for (let round = 0; round <= o.rounds; round++) {
      const { sums, agreement } = await extractRound(setup, round === 0);
      if (round === 0) rows.agreement = agreement;
      const line = Object.entries(sums)
        .map(([k, [w, c]]) => `${k} ${fmt(w)} / ${fmt(c)}`)
        .join(', ');
      o.log(
        `  ${round ? `round ${round}` : 'warm-up'} (s for the ${clips.length} clips, wall / CPU): ${line}`,
      );
      if (!round) continue;
      for (const k of ['dfan1', 'torch1', 'dfanAll', 'torchAll'] as const) {
        rows[k].wall.push(sums[k][0]);
        rows[k].cpu.push(sums[k][1]);
      }
    }
    await packs.one.dispose();
    await packs.all.dispose();
    return rows;
  } finally {
    await peer.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const per = (a: Timing, b: Timing, key: 'wall' | 'cpu') => a[key].map((x, i) => x / b[key][i]);

export function extractTable(r: ExtractRows, threads: number): string[] {
  const best = r.torch1.wall.map((x, i) => Math.min(x, r.torchAll.wall[i]));
  return [
    `| s for ${r.clips.length} clips (median wall / CPU) | 1 thread | ${threads} threads | dfan ÷ PyTorch, wall (1 / ${threads} threads) | dfan ÷ PyTorch, CPU (1 / ${threads} threads) | dfan (best) ÷ best PyTorch, wall |`,
    '|---|---:|---:|---:|---:|---:|',
    `| dfan | ${medianWallCpu(r.dfan1)} | ${medianWallCpu(r.dfanAll)} | ${medianRange(per(r.dfan1, r.torch1, 'wall'))} / ${medianRange(per(r.dfanAll, r.torchAll, 'wall'))} | ${medianRange(per(r.dfan1, r.torch1, 'cpu'))} / ${medianRange(per(r.dfanAll, r.torchAll, 'cpu'))} | **${medianRange(r.dfan1.wall.map((x, i) => Math.min(x, r.dfanAll.wall[i]) / best[i]))}** |`,
    `| PyTorch peer | ${medianWallCpu(r.torch1)} | ${medianWallCpu(r.torchAll)} | | | |`,
  ];
}
