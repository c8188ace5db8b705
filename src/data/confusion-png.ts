/**
 * Confusion matrix as a PNG: rows = true class, columns = predicted, each cell coloured by the
 * row-normalised rate (recall on the diagonal) and labelled with its count.
 */
import {
  createImage,
  drawText,
  fillRect,
  heatColor,
  measureText,
  type RgbImage,
  writePng,
} from '../render/index.js';
import type { Metrics } from './metrics-types.js';

export function confusionImage(m: Metrics, title = ''): RgbImage {
  const k = m.classes.length;
  const scale = 2;
  const cell = Math.max(34, 12 * scale + 10);
  const rowLabel = (i: number) => `${i + 1} ${m.classes[i]}`.slice(0, 16);
  const labelW = Math.max(...m.classes.map((_, i) => measureText(rowLabel(i), scale).width)) + 14;
  const titleH = title ? 10 * scale + 8 : 0;
  const headH = 10 * scale + 10; // column index row
  const legendH = 18;
  const legend = `acc ${(100 * m.accuracy).toFixed(1)}% n=${m.n} rows=true cols=pred`;
  const width = Math.max(
    labelW + k * cell + 10,
    measureText(title, scale).width + 20,
    measureText(legend, 1).width + 10,
  );
  const height = titleH + headH + k * cell + legendH + 10;
  const img = createImage(width, height, [255, 255, 255]);
  if (title) drawText(img, title, 8, 6, { color: [0, 0, 0], scale });
  const x0 = labelW;
  const y0 = titleH + headH;
  // column headers: class numbers (names are in the legend below, they rarely fit)
  for (let j = 0; j < k; j++) {
    const t = String(j + 1);
    drawText(img, t, x0 + j * cell + (cell - measureText(t, scale).width) / 2, titleH + 4, {
      color: [60, 60, 60],
      scale,
    });
  }
  for (let i = 0; i < k; i++) {
    const rowN = m.confusion[i].reduce((a, b) => a + b, 0);
    const name = rowLabel(i);
    drawText(img, name, 4, y0 + i * cell + (cell - 7 * scale) / 2, { color: [0, 0, 0], scale });
    for (let j = 0; j < k; j++) {
      const n = m.confusion[i][j];
      const rate = rowN > 0 ? n / rowN : 0;
      const c = rowN > 0 ? heatColor(rate) : ([235, 235, 235] as [number, number, number]);
      fillRect(img, x0 + j * cell, y0 + i * cell, cell - 1, cell - 1, c);
      const t = String(n);
      const bright = c[0] * 0.3 + c[1] * 0.59 + c[2] * 0.11 > 140;
      drawText(
        img,
        t,
        x0 + j * cell + (cell - measureText(t, scale).width) / 2,
        y0 + i * cell + (cell - 7 * scale) / 2,
        {
          color: bright ? [0, 0, 0] : [255, 255, 255],
          scale,
        },
      );
    }
    // the diagonal gets a black frame
    const d = x0 + i * cell;
    fillRect(img, d, y0 + i * cell, cell - 1, 2, [0, 0, 0]);
    fillRect(img, d, y0 + (i + 1) * cell - 3, cell - 1, 2, [0, 0, 0]);
  }
  // legend: accuracy line
  const ly = y0 + k * cell + 8;
  drawText(img, legend, 4, ly, {
    color: [0, 0, 0],
    scale: 1,
  });
  return img;
}

export function writeConfusionPng(path: string, m: Metrics, title = ''): void {
  writePng(path, confusionImage(m, title));
}
