/** The video stage: find ffmpeg, probe, decode frames at times, sample snippets. */

export {
  type DecodePlan,
  decodeArgs,
  decodeFrameStream,
  decodeFrames,
  planDecode,
  resizeFilter,
  selectExpr,
} from './decode.js';
export { checkInputFile, type FfmpegPaths, ffmpegInput, findFfmpeg } from './ffmpeg.js';
export { clearProbeCaches, frameTimes, probe } from './probe.js';
export { sampleSnippets, snippetTimes } from './snippets.js';
export type { DecodeOptions, Frame, ResizeMode, Snippet, VideoInfo } from './types.js';
