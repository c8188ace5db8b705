/** src/render: PNG round trip, bitmap font, image ops, the heatmap and its ramp, contact sheets, and `dfan snippets --sheet`. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  blit,
  contactSheet,
  createImage,
  decodePng,
  drawText,
  encodePng,
  glyph,
  HEAT_STOPS,
  heatColor,
  measureText,
  overlayHeatmap,
  resizeImage,
  strokeRect,
} from '../../src/render/index.js';
import { runCliSync } from '../helpers/cli.js';
import { testDir } from '../helpers/temp.js';
import { colourClip, meanRgb, nearestColour, PALETTE } from './fixtures.js';

const dir = testDir('dfan-video-');

test('PNG encode → decode is lossless (RGB)', () => {
  const w = 37;
  const h = 11;
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7919) % 256;
  const back = decodePng(encodePng({ width: w, height: h, data }));
  assert.deepEqual([back.width, back.height], [w, h]);
  assert.deepEqual(back.data, data);
  assert.throws(() => encodePng({ width: 2, height: 2, data: new Uint8Array(5) }));
});

test('bitmap font: every letter and digit has its own glyph, accents fall back to the base letter', () => {
  const chars = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  const seen = new Set<string>();
  for (const ch of chars) {
    const g = glyph(ch);
    assert.ok(
      g.some((v) => v === 1),
      ch,
    );
    seen.add(g.join(''));
  }
  assert.ok(seen.size >= chars.length - 3, 'glyphs are distinct (O/0-like pairs aside)');
  assert.equal(
    glyph(' ').reduce((a, b) => a + b, 0),
    0,
  );
  assert.deepEqual(glyph('é'), glyph('e'));
  assert.deepEqual(glyph('Ü'), glyph('U'));
  assert.notDeepEqual(glyph('\u4e2d'), glyph(' '), 'unknown characters draw a box');
  assert.deepEqual(measureText('12.5s', 2), { width: (5 * 6 - 1) * 2, height: 14 });
});

test('drawText puts ink exactly where the glyph says', () => {
  const img = createImage(20, 10);
  drawText(img, '1', 2, 1, { color: [255, 0, 0] });
  const g = glyph('1');
  for (let y = 0; y < 7; y++)
    for (let x = 0; x < 5; x++) {
      const r = img.data[((y + 1) * 20 + (x + 2)) * 3];
      assert.equal(r, g[y * 5 + x] ? 255 : 0, `(${x},${y})`);
    }
});

test('resize keeps a flat image flat and shrinks a 2-colour split sensibly', () => {
  const flat = resizeImage(createImage(100, 60, [10, 200, 30]), 17, 9);
  assert.deepEqual(meanRgb(flat.data, 17), [10, 200, 30]);
  const split = createImage(64, 32, [0, 0, 255]);
  blit(split, createImage(32, 32, [255, 0, 0]), 0, 0);
  const s = resizeImage(split, 8, 4);
  assert.ok(s.data[0] > 200 && s.data[2] < 50, 'left stays red');
  assert.ok(s.data[7 * 3 + 2] > 200, 'right stays blue');
});

test('heat map overlay: the peak cell turns warm, the low cell stays near the picture, a flat grid only dims', () => {
  const img = createImage(40, 40, [128, 128, 128]);
  const grid = [
    [0, 0],
    [0, 1],
  ];
  const out = overlayHeatmap(img, grid);
  const hot = meanRgb(out.data, 40, 30, 30, 10, 10);
  const cold = meanRgb(out.data, 40, 0, 0, 10, 10);
  assert.ok(hot[0] > hot[2] + 40 && hot[1] > 128, `hot ${hot}: the ramp's yellow end`);
  const shift = (c: number[]) => Math.abs(c[0] - 128) + Math.abs(c[1] - 128) + Math.abs(c[2] - 128);
  assert.ok(shift(cold) < shift(hot), `cold ${cold} moves less than hot ${hot}`);
  assert.deepEqual(img.data[0], 128, 'the input is not changed');
  // a flat focus points nowhere: every pixel is dimmed alike
  const flat = overlayHeatmap(img, [[0.5, 0.5]]);
  assert.ok(
    flat.data.every((v, i) => v === flat.data[i % 3] && v < 128),
    'every pixel dimmed alike',
  );
  // the grid lies over its region only: outside it the frame is dimmed like a flat grid
  const inRegion = overlayHeatmap(img, grid, [0.5, 0, 1, 1]);
  assert.deepEqual(meanRgb(inRegion.data, 40, 0, 0, 10, 40), meanRgb(flat.data, 40, 0, 0, 10, 40));
  assert.deepEqual(heatColor(2), heatColor(1));
  assert.deepEqual(heatColor(Number.NaN), heatColor(0));
  assert.deepEqual(heatColor(0), [...HEAT_STOPS[0]]);
  assert.deepEqual(heatColor(1), [...HEAT_STOPS[HEAT_STOPS.length - 1]]);
  // ordered: brighter towards the hot end (the ramp reads in grey too)
  const luma = (c: number[]) => 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
  for (let v = 0.1; v <= 1; v += 0.1) assert.ok(luma(heatColor(v)) > luma(heatColor(v - 0.1)), `at ${v}`);
});

test('strokeRect outlines a box (dashed on request) and leaves the inside alone', () => {
  const img = createImage(20, 12);
  strokeRect(img, { x: 2, y: 3, w: 10, h: 6 }, [0, 255, 0], 1);
  const at = (x: number, y: number) => [...img.data.slice((y * 20 + x) * 3, (y * 20 + x) * 3 + 3)];
  for (const [x, y] of [
    [2, 3],
    [11, 3],
    [2, 8],
    [11, 8],
    [6, 3],
    [2, 5],
  ])
    assert.deepEqual(at(x, y), [0, 255, 0], `edge (${x},${y})`);
  assert.deepEqual(at(6, 5), [0, 0, 0], 'inside');
  assert.deepEqual(at(1, 3), [0, 0, 0], 'outside');
  const dashed = createImage(20, 12);
  strokeRect(dashed, { x: 0, y: 0, w: 20, h: 12 }, [255, 255, 255], 1, 3);
  const top = Array.from({ length: 20 }, (_, x) => dashed.data[x * 3]);
  assert.deepEqual(top.slice(0, 7), [255, 255, 255, 0, 0, 0, 255]);
});

test('contact sheet: grid geometry, tiles in place, labels drawn', () => {
  // red, lime, blue, white, then black
  const colours = [...PALETTE.map(([, rgb]) => rgb), [0, 0, 0] as [number, number, number]];
  const tiles = colours.map((rgb) => ({ image: createImage(20, 10, rgb), label: 'X' }));
  const sheet = contactSheet(tiles, { columns: 2, gap: 2, title: 'T' });
  const titleH = 7 + 2 * 2 + 2;
  assert.equal(sheet.width, 2 * 20 + 3 * 2);
  assert.equal(sheet.height, titleH + 3 * 10 + 4 * 2);
  // tile 3 (blue) is row 1, col 0; its top-right corner pixel (away from the label) is blue
  const x = 2 + 19;
  const y = titleH + 2 + (10 + 2) + 0;
  assert.deepEqual(
    [...sheet.data.slice((y * sheet.width + x) * 3, (y * sheet.width + x) * 3 + 3)],
    [0, 0, 255],
  );
  assert.throws(() => contactSheet([]));
});

test('dfan snippets --sheet writes a PNG whose tiles show the colours at the key times', () => {
  const clip = colourClip(dir);
  const out = join(dir, 'sheet.png');
  const r = runCliSync(['snippets', clip, '-T', '4', '--sheet', out, '--size', '32']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /contact sheet: .*sheet\.png/);
  assert.match(r.stdout, /^ *4 +3\.000 +4\.000 +3\.500/m);
  const png = decodePng(readFileSync(out));
  // 4 tiles in one row of 32 px with 4 px gaps, under a title line
  assert.equal(png.width, 4 * 32 + 5 * 4);
  const want = ['red', 'lime', 'blue', 'white'];
  const y = png.height - 4 - 30; // a row near the top of the tiles, above the label
  for (let i = 0; i < 4; i++) {
    const x = 4 + i * 36 + 24;
    assert.equal(nearestColour(meanRgb(png.data, png.width, x, y, 4, 4)), want[i], `tile ${i}`);
  }
});
