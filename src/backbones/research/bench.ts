/**
 * Bare-inference timing of the research pack's backbones on one video (decode and audio read
 * happen before timing starts): bench/extract.ts divides the pipeline time by these figures to
 * report the overhead as a ratio. Same result shape as the default pack's `benchBackbones`.
 */
import type { BackboneTiming } from '../bench.js';
import { timePerItem } from '../bench.js';
import { defaultTfliteThreads } from '../tflite.js';

export interface ResearchBenchOptions {
  /** research pack folder (default: the installed pack) */
  dir?: string;
  repeats?: number;
  /** snippets (key frames for MobileNetV2), default 16 */
  T?: number;
  actionFps?: number;
  actionThreads?: number;
  threads?: number;
  batchSize?: number;
}

export interface ResearchBench {
  backbones: BackboneTiming[];
  /** bare inference for the whole video at these settings (sum over backbones), ms */
  perVideoMs: number;
  duration: number;
}

/**
 * Time MobileNetV2 (per key frame), MoViNet (per 5-fps frame, states carried as in extraction)
 * and YAMNet (per 0.975-s window) on `video`. A video without audio is timed on noise.
 */
export async function benchResearchBackbones(
  video: string,
  opts: ResearchBenchOptions = {},
): Promise<ResearchBench> {
  const { probe, decodeFrames, sampleSnippets } = await import('../../video/index.js');
  const { requireInstalled } = await import('../../packs/cache.js');
  const { streamSquareFrames, readMonoAudio } = await import('./media.js');
  const { Mobilenet, MOBILENET_DECODE } = await import('./mobilenet.js');
  const { MovinetStream, MOVINET_SIZE } = await import('./movinet.js');
  const { Yamnet, YAMNET_WINDOW } = await import('./yamnet.js');
  const dir = opts.dir ?? (await requireInstalled('research')).dir;
  const repeats = opts.repeats ?? 3;
  const fps = opts.actionFps ?? 5;
  const info = await probe(video);
  const snippets = sampleSnippets(info.duration, opts.T ?? 16, 8, info.fps);
  const keyFrames = await decodeFrames(
    video,
    snippets.map((s) => s.keyTime),
    { width: MOBILENET_DECODE, height: MOBILENET_DECODE, mode: 'crop' },
    info,
  );
  const clipFrames: Uint8Array[] = [];
  for await (const f of streamSquareFrames(video, fps, MOVINET_SIZE)) clipFrames.push(f.data);
  let audio = info.hasAudio ? await readMonoAudio(video) : null;
  if (!audio || audio.length < YAMNET_WINDOW) {
    audio = new Float32Array(Math.max(YAMNET_WINDOW, Math.round(info.duration * 16000)));
    for (let i = 0; i < audio.length; i++) audio[i] = 0.1 * Math.sin(i * 0.173) * Math.cos(i * 0.0031);
  }
  const windows: number[] = [];
  for (let s = 0; s + YAMNET_WINDOW <= audio.length; s += YAMNET_WINDOW) windows.push(s);
  if (windows.length === 0) windows.push(0);

  const out: BackboneTiming[] = [];
  const mob = await Mobilenet.load(dir, { threads: opts.threads, batchSize: opts.batchSize });
  try {
    const r = await timePerItem(keyFrames.length, repeats, () =>
      mob.run(
        keyFrames.map((f) => f.data),
        MOBILENET_DECODE,
      ),
    );
    out.push({
      backbone: 'mobilenetv2-12-int8 (onnx)',
      streams: ['object', 'context'],
      msPerFrame: r.ms,
      cpuMsPerFrame: r.cpu,
      frames: keyFrames.length,
    });
  } finally {
    await mob.dispose();
  }
  const actionThreads = opts.actionThreads ?? defaultTfliteThreads();
  const mov = await MovinetStream.load(dir, { threads: actionThreads });
  try {
    const r = await timePerItem(clipFrames.length, repeats, () => {
      mov.reset();
      for (const f of clipFrames) mov.step(f);
    });
    out.push({
      backbone: `movinet-a0-stream-int8 (tflite, ${actionThreads} thread${actionThreads > 1 ? 's' : ''}, ${fps} fps)`,
      streams: ['action'],
      msPerFrame: r.ms,
      cpuMsPerFrame: r.cpu,
      frames: clipFrames.length,
    });
  } finally {
    mov.dispose();
  }
  const yam = await Yamnet.load(dir, { threads: 1 });
  try {
    const samples = audio;
    const r = await timePerItem(windows.length, repeats, () => {
      for (const s of windows) yam.window(samples, s);
    });
    out.push({
      backbone: `yamnet (tflite, 1 thread${info.hasAudio ? '' : ', timed on noise: no audio'})`,
      streams: ['audio'],
      msPerFrame: r.ms,
      cpuMsPerFrame: r.cpu,
      frames: windows.length,
    });
  } finally {
    yam.dispose();
  }
  return {
    backbones: out,
    perVideoMs: out.reduce((s, b) => s + b.msPerFrame * b.frames, 0),
    duration: info.duration,
  };
}
