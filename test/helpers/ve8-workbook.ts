/**
 * A generated VE-8 10-split workbook in the layout dfan infers for
 * VideoEmotionDataset-TrainTestSplits.xlsx (src/data/ve8-splits.ts), over a small VE-8-like set.
 */
import ExcelJS from 'exceljs';
import { VE8_CLASSES } from '../../src/data/ve8-splits.js';
import { rng, shuffle } from '../../src/util/random.js';

/** A VE-8-like set: per class a few videos, one basename under two classes. */
export function fakeVideos(): Array<{ id: number; path: string; cls: string; stem: string }> {
  const out: Array<{ id: number; path: string; cls: string; stem: string }> = [];
  let id = 0;
  VE8_CLASSES.forEach((cls, k) => {
    for (let j = 0; j < 6; j++) {
      id++;
      const stem =
        cls === 'Fear' && j === 0
          ? 'same_name_700'
          : cls === 'Disgust' && j === 0
            ? 'same_name_700'
            : `${cls}_v${j}`;
      out.push({
        id,
        cls,
        stem,
        path: `VideoEmotionDataset${k + 1}-${cls}/${j % 2 ? 'flickr' : 'youtube'}/${stem}.mp4`,
      });
    }
  });
  return out;
}

/**
 * The inferred layout of VideoEmotionDataset-TrainTestSplits.xlsx: sheet 1 = numbered video
 * index with "Video Name and Directory"; sheet 2 = "Split k" over Train/Test column pairs.
 */
export async function writeInferredWorkbook(
  file: string,
  videos: ReturnType<typeof fakeVideos>,
  nSplits: number,
) {
  const wb = new ExcelJS.Workbook();
  const idx = wb.addWorksheet('Videos');
  idx.addRow(['No.', 'Video Name and Directory']);
  idx.addRow([]); // the pandas reader skips row index 0: a blank/sub-header row
  for (const v of videos) idx.addRow([v.id, v.path]);
  const sp = wb.addWorksheet('Splits');
  const header: string[] = [];
  const sub: string[] = [];
  const columns: number[][] = [];
  const random = rng(42);
  for (let s = 1; s <= nSplits; s++) {
    header.push(`Split ${s}`, '');
    sub.push('Train', 'Test');
    const train: number[] = [];
    const test: number[] = [];
    for (const cls of VE8_CLASSES) {
      const ids = shuffle(
        videos.filter((v) => v.cls === cls).map((v) => v.id),
        random,
      );
      test.push(...ids.slice(0, 2));
      train.push(...ids.slice(2));
    }
    columns.push(train, test);
  }
  sp.addRow(header);
  sp.addRow(sub);
  const rows = Math.max(...columns.map((c) => c.length));
  for (let r = 0; r < rows; r++) sp.addRow(columns.map((c) => (r < c.length ? c[r] : null)));
  for (let s = 0; s < nSplits; s++) sp.mergeCells(1, 2 * s + 1, 1, 2 * s + 2);
  await wb.xlsx.writeFile(file);
  return columns;
}
