/**
 * The predict engine shared by `dfan predict` and `dfan serve`: a model (zero-shot default or
 * a trained run) plus the feature pack it needs, loaded once and kept warm. Only the streams the
 * model reads are requested from the pack.
 */
import { basename } from 'node:path';
import type { FeaturePack } from '../backbones/types.js';
import { DfanError } from '../errors.js';
import type { Region, VideoFeatures } from '../features/types.js';
import { encodePng, overlayHeatmap, pngDataUri } from '../render/index.js';
import { toPrediction } from './explain.js';
import type { ReportFrame } from './report.js';
import type { Prediction, Predictor, ProgressFn } from './types.js';
import { zeroShotPredictor } from './zero-shot.js';

export interface PredictEngineOptions {
  /** 'default' (zero-shot) or a trained run folder */
  model?: string;
  /** override the pack the model asks for (a pack JSON / module; tests use a fake pack) */
  pack?: string;
  T?: number;
  K?: number;
}

/** Load the model: 'default' → zero-shot; anything else → a trained DFAN run folder. */
export async function loadPredictor(
  model = 'default',
  opts: { T?: number; K?: number } = {},
): Promise<Predictor> {
  if (model === 'default' || model === 'zero-shot') return zeroShotPredictor({ T: opts.T, K: opts.K });
  const { runPredictor } = await import('./run-model.js');
  return runPredictor(model);
}

export class PredictEngine {
  private packP: Promise<FeaturePack> | null = null;
  private constructor(
    readonly predictor: Predictor,
    private readonly packSpec: string,
  ) {}

  static async create(opts: PredictEngineOptions = {}): Promise<PredictEngine> {
    const predictor = await loadPredictor(opts.model ?? 'default', { T: opts.T, K: opts.K });
    if (opts.T) predictor.T = opts.T;
    if (opts.K) predictor.K = opts.K;
    return new PredictEngine(predictor, opts.pack ?? predictor.pack);
  }

  /** Load the pack now (the server does it at start so the first job is warm). */
  async warm(): Promise<FeaturePack> {
    if (!this.packP) {
      this.packP = (async () => {
        const { resolvePack } = await import('../features/extract.js');
        return resolvePack(this.packSpec, { streams: this.predictor.streams });
      })();
      this.packP.catch(() => {
        this.packP = null;
      });
    }
    return this.packP;
  }

  async features(path: string, onProgress?: ProgressFn): Promise<VideoFeatures> {
    onProgress?.('loading models', 0.02);
    const pack = await this.warm();
    onProgress?.('extracting features', 0.1);
    const { extractVideo } = await import('../features/extract.js');
    const streams = this.predictor.streams.filter((s) => pack.streams.some((p) => p.name === s));
    const missing = this.predictor.streams.filter((s) => !streams.includes(s));
    if (missing.length > 0) {
      throw new DfanError('BAD_FEATURES', `pack "${pack.id}" makes no ${missing.join(', ')} stream`, {
        hint: `the model ${this.predictor.descriptor.name} needs ${this.predictor.streams.join(', ')}`,
      });
    }
    if (!onProgress) return extractVideo(path, pack, { T: this.predictor.T, K: this.predictor.K, streams });
    // packs report no progress: mark the decode, then creep towards 0.88 while the backbones run
    let fraction = 0.15;
    let timer: NodeJS.Timeout | undefined;
    const watched: FeaturePack = {
      id: pack.id,
      streams: pack.streams,
      dispose: () => pack.dispose(),
      extract: (input) =>
        pack.extract({
          ...input,
          decode: async (times, o) => {
            onProgress('decoding frames', fraction);
            const frames = await input.decode(times, o);
            fraction = Math.max(fraction, 0.35);
            onProgress('running the models', fraction);
            timer ??= setInterval(() => {
              fraction += (0.88 - fraction) * 0.06;
              onProgress('running the models', fraction);
            }, 250);
            return frames;
          },
        }),
    };
    try {
      return await extractVideo(path, watched, { T: this.predictor.T, K: this.predictor.K, streams });
    } finally {
      clearInterval(timer);
    }
  }

  /** Video file → Prediction (the display name defaults to the file's base name). */
  async predictFile(
    path: string,
    opts: { name?: string; onProgress?: ProgressFn } = {},
  ): Promise<Prediction> {
    const t0 = performance.now();
    // the displayed size, probed alongside the extraction (which probes on its own)
    const { probe } = await import('../video/probe.js');
    const infoP = probe(path);
    infoP.catch(() => {}); // the extraction reports an unreadable file first
    const features = await this.features(path, opts.onProgress);
    opts.onProgress?.('model', 0.9);
    const out = await this.predictor.predict(features);
    const info = await infoP;
    const p = toPrediction(opts.name ?? path, features, out, this.predictor, {
      width: info.displayWidth,
      height: info.displayHeight,
      elapsed: (performance.now() - t0) / 1000,
    });
    opts.onProgress?.('done', 1);
    return p;
  }

  async dispose(): Promise<void> {
    const p = this.packP;
    this.packP = null;
    if (p) await (await p).dispose();
    await this.predictor.dispose?.();
  }
}

/** Frame size for display: `width` wide at the displayed aspect ratio (even numbers). */
function displaySize(info: { displayWidth: number; displayHeight: number }, width: number): [number, number] {
  const w = Math.min(width, info.displayWidth) & ~1;
  const h = Math.max(2, Math.round((w * info.displayHeight) / info.displayWidth) & ~1);
  return [w, h];
}

/** Key frames of the key moments with each stream's spatial focus overlaid (for the HTML report). */
export async function reportFrames(
  path: string,
  p: Prediction,
  opts: { width?: number; max?: number } = {},
): Promise<ReportFrame[]> {
  const { probe } = await import('../video/probe.js');
  const { decodeFrames } = await import('../video/decode.js');
  const info = await probe(path);
  const [w, h] = displaySize(info, opts.width ?? 480);
  const streams = Object.keys(p.spatial);
  const indexOf = (snippet: number) => (p.spatial[streams[0]] ?? []).findIndex((g) => g.snippet === snippet);
  // the strongest snippet of each key moment, strongest moment first
  const picks: number[] = [];
  for (const k of p.keyMoments ?? []) {
    const best = [...k.snippets].sort(
      (a, b) => (p.snippets[indexOf(b)]?.weight ?? 0) - (p.snippets[indexOf(a)]?.weight ?? 0),
    )[0];
    if (best !== undefined && !picks.includes(best)) picks.push(best);
  }
  // a flat focus has no key moment: still show the middle snippet's frame
  if (picks.length === 0 && p.snippets.length > 0) {
    const mid = Math.floor(p.snippets.length / 2);
    picks.push(p.spatial[streams[0]]?.[mid]?.snippet ?? mid);
  }
  const chosen = picks.slice(0, opts.max ?? 3);
  if (chosen.length === 0) return [];
  const times = chosen.map((s) => {
    const sn = p.snippets[Math.max(0, indexOf(s))];
    return (sn.start + sn.end) / 2;
  });
  const frames = await decodeFrames(path, times, { width: w, height: h, mode: 'stretch' }, info);
  return frames.map((f, i) => {
    const pos = Math.max(0, indexOf(chosen[i]));
    const overlays: Record<string, string> = {};
    for (const s of streams) {
      const g = p.spatial[s][pos];
      if (g) overlays[s] = pngDataUri(overlayHeatmap(f, g.grid, g.region));
    }
    return {
      snippet: chosen[i],
      time: times[i],
      plain: pngDataUri(f),
      overlays,
    };
  });
}

/** One frame as JPEG/PNG for the server (PNG with the grid overlaid when one is given). */
export async function frameImage(
  path: string,
  time: number,
  format: 'jpg' | 'png',
  grid?: number[][],
  region?: Region,
): Promise<Buffer> {
  const { probe } = await import('../video/probe.js');
  const { decodeFrames } = await import('../video/decode.js');
  const info = await probe(path);
  const [w, h] = displaySize(info, 640);
  if (format === 'jpg' && !grid) {
    const { findFfmpeg, runCollect, ffmpegInput } = await import('../video/ffmpeg.js');
    const res = await runCollect(
      findFfmpeg().ffmpeg,
      [
        '-v',
        'error',
        '-ss',
        time.toFixed(3),
        '-i',
        ffmpegInput(path),
        '-frames:v',
        '1',
        '-vf',
        `scale=${w}:${h}`,
        '-f',
        'image2pipe',
        '-c:v',
        'mjpeg',
        '-q:v',
        '4',
        '-',
      ],
      30_000,
    );
    if (res.code === 0 && res.stdout.length > 0) return res.stdout;
    throw new DfanError('FFMPEG_FAILED', 'could not grab the frame', { file: basename(path) });
  }
  const [f] = await decodeFrames(path, [time], { width: w, height: h, mode: 'stretch' }, info);
  return encodePng(grid ? overlayHeatmap(f, grid, region) : f);
}
