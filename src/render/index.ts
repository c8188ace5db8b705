/** Rendering helpers shared by the CLI, reports and the web app: PNG, a bitmap font, image ops. */
export { ADVANCE, GLYPH_H, GLYPH_W, glyph, measureText } from './font.js';
export {
  blit,
  createImage,
  drawText,
  fillRect,
  heatColor,
  overlayHeatmap,
  type Rgb,
  type RgbImage,
  resizeImage,
  type TextStyle,
} from './image.js';
export { decodePng, encodePng, writePng } from './png.js';
export { contactSheet, type SheetOptions, type SheetTile } from './sheet.js';
