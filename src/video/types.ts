/** Contracts of the video stage: what probe, decode and snippet sampling hand downstream. */

export interface VideoInfo {
  path: string;
  /** seconds (container duration, or the video stream's when the container has none) */
  duration: number;
  /** nominal frame rate (r_frame_rate) */
  fps: number;
  /** average frame rate (avg_frame_rate); differs from fps on variable-frame-rate files */
  avgFps: number;
  /** number of frames when the container says so (never computed by decoding) */
  frameCount: number | null;
  /** coded size */
  width: number;
  height: number;
  /** display rotation in degrees (0, 90, 180, 270) from metadata; decode honours it */
  rotation: number;
  /** size as displayed: width × sample aspect ratio, then swapped when rotation is 90/270 */
  displayWidth: number;
  displayHeight: number;
  codec: string;
  hasAudio: boolean;
  audioCodec: string | null;
  /** file size in bytes */
  size: number;
  /** presentation time of the first frame in the container (decode times are relative to it) */
  startTime?: number;
  /** sample (pixel) aspect ratio; 1 for square pixels. Decode resizes as displayed. */
  sar?: number;
  /** container format as ffprobe names it, e.g. 'mov,mp4,m4a,3gp,3g2,mj2' */
  format?: string;
}

/** How a frame is fitted into the requested size. */
export type ResizeMode = 'crop' | 'letterbox' | 'stretch';

export interface DecodeOptions {
  width: number;
  height: number;
  /** default 'crop' (centre-crop after scaling the short side) */
  mode?: ResizeMode;
  /** called with one-line warnings (e.g. a truncated stream); default: printed to stderr */
  onWarning?: (message: string) => void;
  /** kill ffmpeg when it produces no output for this long (default 60000 ms) */
  idleTimeoutMs?: number;
  /** decoder threads (ffmpeg -threads; default: ffmpeg's choice) */
  threads?: number;
  /**
   * called with each frame as soon as ffmpeg delivers it (in order of increasing time; `index`
   * is its position in `times`), before `decodeFrames` resolves: lets a caller start work on
   * early frames while later ones are decoded
   */
  onFrame?: (index: number, frame: Frame) => void;
  /**
   * a second, smaller size from the same ffmpeg pass: the frames at these positions of `times`
   * come as `thumb.width`×`thumb.height` (stretched, area-averaged), all others at width×height.
   * For cheap per-frame statistics over many frames (motion), where converting and piping full
   * frames would cost more than the statistics. A time wanted at both sizes is listed twice.
   */
  thumb?: { width: number; height: number; indices: number[] };
}

/** One decoded frame: packed RGB24, row-major, `width*height*3` bytes. */
export interface Frame {
  /** the requested timestamp (seconds) */
  time: number;
  /** presentation time (seconds from the video's start) of the decoded frame shown at `time` */
  pts?: number;
  width: number;
  height: number;
  data: Uint8Array; // [H, W, 3]
}

/** One of T uniform segments of a video (TSN style). */
export interface Snippet {
  index: number;
  /** seconds */
  start: number;
  end: number;
  /** the key frame time for 2-D backbones (segment centre) */
  keyTime: number;
  /** K frame times around the key frame for motion / clip backbones */
  clipTimes: number[];
}
