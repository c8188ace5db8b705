/**
 * What a focus dataset of `dfan demo` is: its spec (sizes, timing, frame shapes) and defaults, a
 * video's ground truth as truth.json holds it, the material it was made from, and a video's plan
 * (its truth plus how its pixels are made).
 */
export interface FrameShape {
  width: number;
  height: number;
  /** share of the videos with this frame size */
  share: number;
}

export interface FocusSpec {
  classes: number;
  perClass: number;
  /** seconds */
  duration: number;
  fps: number;
  /** snippets the features will use (the cue spans 2 of them) */
  T: number;
  testFraction: number;
  seed: number;
  /** frame sizes; the cue box is 1/4 × 1/4 of the frame sides */
  frames: FrameShape[];
  /** share of cues shown as a card (cut-out on a plain backdrop filling the box) */
  cardShare: number;
}

export const DEFAULT_FOCUS: FocusSpec = {
  classes: 4,
  perClass: 36,
  duration: 16,
  fps: 10,
  T: 16,
  testFraction: 1 / 3,
  seed: 0,
  frames: [
    { width: 384, height: 216, share: 0.45 },
    { width: 320, height: 240, share: 0.4 },
    { width: 216, height: 384, share: 0.15 },
  ],
  cardShare: 0.5,
};

export interface FocusVideo {
  key: string;
  label: string;
  split: 'train' | 'test';
  /** path relative to the dataset folder */
  file: string;
  /** cue interval (s) and box (pixels of the frame): the box is 1/4 × 1/4 of the frame sides */
  cue: { start: number; end: number; x: number; y: number; w: number; h: number };
  frame: { width: number; height: number };
  /** the photo drawn inside the box (its fitted rectangle; a card fills the whole box) */
  photo: { path: string; x: number; y: number; w: number; h: number; card: boolean };
  /** the footage: source file, start second in it, mirrored or not */
  footage: { path: string; start: number; hflip: boolean };
}

export interface FocusMaterial {
  photos: {
    source: string;
    /** per class: photos kept, and how many of them went to train / test */
    perClass: Record<
      string,
      { kept: number; train: number; test: number; rejected: number; skipped: number }
    >;
    /** k when test videos show the training photos (k per class); absent when photos are held out */
    shared?: number;
  };
  footage: { description: string; train: string[]; test: string[] };
}

export interface FocusDataset {
  dir: string;
  manifest: string;
  classes: string[];
  videos: FocusVideo[];
  spec: FocusSpec;
  material: FocusMaterial;
}

/** A video as planned: its truth, plus how its background and card are drawn. */
export interface Planned extends FocusVideo {
  /** background: zoom over the cover size, crop position (0–1) */
  bg: { zoom: number; fx: number; fy: number };
  colour: string;
  loop: boolean;
}
