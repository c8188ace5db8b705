/** Contact sheets: a grid of labelled thumbnails with an optional title line. */
import { measureText } from './font.js';
import { blit, createImage, drawText, type Rgb, type RgbImage, resizeImage } from './image.js';

export interface SheetTile {
  image: RgbImage;
  /** drawn on the tile's lower-left corner, e.g. "#3 2.50s" */
  label?: string;
}

export interface SheetOptions {
  /** tiles per row (default: ceil(sqrt(n)), at most 8) */
  columns?: number;
  /** thumbnail width in pixels (default: the first tile's width); height keeps the aspect ratio */
  tileWidth?: number;
  /** a line of text above the grid */
  title?: string;
  gap?: number;
  background?: Rgb;
  /** font scale for labels (default 1 for tiles < 200 px wide, else 2) */
  labelScale?: number;
}

export function contactSheet(tiles: SheetTile[], opts: SheetOptions = {}): RgbImage {
  if (tiles.length === 0) throw new Error('contactSheet: no tiles');
  const n = tiles.length;
  const cols = Math.max(1, Math.min(n, opts.columns ?? Math.min(8, Math.ceil(Math.sqrt(n)))));
  const rows = Math.ceil(n / cols);
  const first = tiles[0].image;
  const tw = Math.max(8, Math.round(opts.tileWidth ?? first.width));
  const th = Math.max(8, Math.round((tw * first.height) / first.width));
  const gap = opts.gap ?? 4;
  const scale = opts.labelScale ?? (tw < 200 ? 1 : 2);
  const titleScale = Math.max(1, scale);
  const titleH = opts.title ? measureText(opts.title, titleScale).height + 2 * gap + 2 : 0;
  const W = cols * tw + (cols + 1) * gap;
  const H = titleH + rows * th + (rows + 1) * gap;
  const sheet = createImage(W, H, opts.background ?? [24, 24, 24]);
  if (opts.title)
    drawText(sheet, opts.title, gap + 1, gap + 1, { scale: titleScale, color: [235, 235, 235] });
  tiles.forEach((t, i) => {
    const x = gap + (i % cols) * (tw + gap);
    const y = titleH + gap + Math.floor(i / cols) * (th + gap);
    const img = t.image.width === tw && t.image.height === th ? t.image : resizeImage(t.image, tw, th);
    blit(sheet, img, x, y);
    if (t.label) {
      const lh = measureText(t.label, scale).height;
      drawText(sheet, t.label, x + 2 * scale, y + th - lh - 2 * scale, {
        scale,
        color: [255, 255, 255],
        background: [0, 0, 0],
        backgroundAlpha: 0.6,
      });
    }
  });
  return sheet;
}
