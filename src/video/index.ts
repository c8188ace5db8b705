/** The video stage: find ffmpeg, probe, decode frames at times, sample snippets. */

export { decodeFrameStream, decodeFrames } from './decode.js';
export { type DecodePlan, planDecode, resizeFilter, selectExpr } from './decode-plan.js';
export { decodeArgs } from './decode-run.js';
export { checkInputFile, type FfmpegPaths, ffmpegInput, findFfmpeg } from './ffmpeg.js';
export { clearProbeCaches, frameTimes, probe } from './probe.js';
export { sampleSnippets, snippetTimes } from './snippets.js';
export type { DecodeOptions, Frame, ResizeMode, Snippet, VideoInfo } from './types.js';
