/**
 * A pack built from user manifests (`--pack FILE`): each backbone fills its stream.
 *   frame-map    key frame of each snippet → [T, H, W, C] (conv map or patch tokens)
 *   frame-vector key frame of each snippet → [T, C]
 *   clip-map     `input.frames` frames spread over the snippet's clip → [T, H, W, C] (mean over
 *                T'), or [T, T'·H, W, C] with output.time "cells" (StreamInfo.timeSteps = T')
 *   clip-vector  `input.frames` frames spread over the snippet's clip → [T, C]
 * Frames are decoded straight at each backbone's input size and resize mode (one decode per
 * distinct size), so no resizing happens in JS.
 */
import type { Frame } from '../video/types.js';
import { isClipKind, isMapKind, storedTimeSteps } from './output.js';
import { loadPackFile, type ResolvedPack } from './packs/format.js';
import { type BackboneRunner, clipSampleTimes, loadBackbone, type RunnerOptions } from './runner.js';
import type { StreamInfo, StreamTensor } from './streams.js';
import type { BackboneManifest, FeaturePack, PackInput } from './types.js';

export interface ManifestPackOptions extends RunnerOptions {
  /** check sha256 of weights that declare one (default true) */
  verify?: boolean;
  streams?: string[];
}

/** What feature files say about the stream a backbone fills (maps: how the frame was fitted). */
function streamInfoOf(m: BackboneManifest): StreamInfo {
  const info: StreamInfo = {
    name: m.stream,
    kind: isMapKind(m.kind) ? 'map' : 'vector',
    backbone: m.id,
    description: m.description,
  };
  if (info.kind !== 'map') return info;
  const [h, w] = m.input.size;
  const steps = storedTimeSteps(m);
  return { ...info, fit: m.input.crop, inputAspect: w / h, ...(steps > 1 ? { timeSteps: steps } : {}) };
}

export async function loadManifestPack(file: string, opts: ManifestPackOptions = {}): Promise<FeaturePack> {
  const pack: ResolvedPack = await loadPackFile(file, { verify: opts.verify !== false });
  const chosen = opts.streams?.length
    ? pack.backbones.filter((b) => opts.streams?.includes(b.stream))
    : pack.backbones;
  const runners: BackboneRunner[] = [];
  try {
    for (const m of chosen) runners.push(await loadBackbone(m, opts));
  } catch (e) {
    for (const r of runners) await r.dispose();
    throw e;
  }
  const streams = runners.map((r) => streamInfoOf(r.manifest));
  return {
    id: pack.id,
    streams,
    async extract(input: PackInput) {
      const T = input.snippets.length;
      const out: Record<string, StreamTensor> = {};
      const cache = new Map<string, Frame[]>();
      const decodeAt = async (
        times: number[],
        h: number,
        w: number,
        mode: 'crop' | 'letterbox' | 'stretch',
      ) => {
        const key = `${w}x${h}/${mode}/${times.join(',')}`;
        let f = cache.get(key);
        if (!f) {
          f = await input.decode(times, { width: w, height: h, mode });
          cache.set(key, f);
        }
        return f;
      };
      for (const r of runners) {
        const m = r.manifest;
        const [h, w] = m.input.size;
        if (isClipKind(m.kind)) {
          const k = m.input.frames ?? 1;
          const times = input.snippets.flatMap((s) => clipSampleTimes(s.clipTimes, k));
          const frames = await decodeAt(times, h, w, m.input.crop);
          const clips = Array.from({ length: T }, (_, t) => frames.slice(t * k, (t + 1) * k));
          const y = await r.runClips(clips);
          out[m.stream] = { shape: y.shape, data: y.data };
        } else {
          const frames = await decodeAt(
            input.snippets.map((s) => s.keyTime),
            h,
            w,
            m.input.crop,
          );
          const y = await r.runFrames(frames);
          out[m.stream] = { shape: y.shape, data: y.data };
        }
      }
      return { streams: out, warnings: [] };
    },
    async dispose() {
      for (const r of runners) await r.dispose();
    },
  };
}
