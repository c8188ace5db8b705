/** Rendering shared by the CLI, the reports and the web page: PNG, a bitmap font, image ops, heatmaps. */
export { ADVANCE, GLYPH_H, GLYPH_W, glyph, measureText } from './font.js';
export { type GridSpan, overlayHeatmap, sampleGrid } from './heatmap.js';
export {
  blit,
  createImage,
  drawText,
  fillRect,
  type Rgb,
  type RgbImage,
  resizeImage,
  strokeRect,
  type TextStyle,
} from './image.js';
export { decodePng, encodePng, pngDataUri, writePng } from './png.js';
export { HEAT_STOPS, heatColor } from './ramp.js';
export { contactSheet, type SheetOptions, type SheetTile } from './sheet.js';
