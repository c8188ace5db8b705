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
  /**
   * items whose video file was not found (listed, never fatal). Disjoint from `items`: the whole
   * list is `[...items, ...missing]` (features made earlier may still exist for them).
   */
  missing: DatasetItem[];
  /** folder the videos were looked up under; absent when they were not looked up at all */
  root?: string;
  /** which split of a multi-split dataset this is (1-based, VE-8 has 10) */
  splitNumber?: number;
  /** where the lists came from (list folder, workbook, manifest) */
  source?: string;
  /** non-fatal oddities met while reading */
  warnings?: string[];
}
