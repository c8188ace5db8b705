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
  /** size as displayed (width/height swapped when rotation is 90/270) */
  displayWidth: number;
  displayHeight: number;
  codec: string;
  hasAudio: boolean;
  audioCodec: string | null;
  /** file size in bytes */
  size: number;
}

/** How a frame is fitted into the requested size. */
export type ResizeMode = 'crop' | 'letterbox' | 'stretch';

export interface DecodeOptions {
  width: number;
  height: number;
  /** default 'crop' (centre-crop after scaling the short side) */
  mode?: ResizeMode;
}

/** One decoded frame: packed RGB24, row-major, `width*height*3` bytes. */
export interface Frame {
  /** the requested timestamp (seconds) */
  time: number;
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
