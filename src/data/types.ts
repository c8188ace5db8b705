/** Dataset contracts shared by readers (generic manifest, folder per class, VE-8, Ekman-6). */
export type SplitName = 'train' | 'val' | 'test';

export interface DatasetItem {
  /**
   * Stable key of the item, also the feature-store key. Generic manifest: the `video` column as
   * written; folder per class: path relative to the root; VE-8: `Class/name`; Ekman-6: `class/id`.
   */
  key: string;
  /** absolute path of the video, or null when it was not found on disk */
  video: string | null;
  label: string;
  split: SplitName;
}

export interface Dataset {
  name: string;
  classes: string[]; // in class-index order
  items: DatasetItem[];
  /** items whose video file was not found (listed, never fatal) */
  missing: DatasetItem[];
}
