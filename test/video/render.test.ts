/** src/render: PNG round trip, bitmap font, image ops, contact sheets, and `dfan snippets --sheet`. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
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
  heatColor,
  measureText,
  overlayHeatmap,
  resizeImage,
} from '../../src/render/index.js';
import { projectRoot } from '../../src/version.js';
import { testDir } from '../helpers/temp.js';
import { colourClip, meanRgb, nearestColour, PALETTE } from './fixtures.js';

const dir = testDir('dfan-video-');

test('PNG encode → decode is lossless (RGB)', () => {
  const w = 37;
  const h = 11;
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7919) % 256;
  const back = decodePng(encodePng(w, h, data));
  assert.deepEqual([back.width, back.height], [w, h]);
  assert.deepEqual(back.data, data);
  assert.throws(() => encodePng(2, 2, new Uint8Array(5)));
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

test('heat map overlay: hot cells turn warm, cold cells stay close to the picture, zero grid is a no-op', () => {
  const img = createImage(40, 40, [128, 128, 128]);
  const grid = [
    [0, 0],
    [0, 1],
  ];
  const out = overlayHeatmap(img, grid, 0.6);
  const hot = meanRgb(out.data, 40, 30, 30, 10, 10);
  const cold = meanRgb(out.data, 40, 0, 0, 10, 10);
  assert.ok(hot[0] > hot[2] + 40, `hot ${hot}`);
  assert.ok(
    Math.abs(cold[0] - 128) + Math.abs(cold[1] - 128) < Math.abs(hot[0] - 128) + Math.abs(hot[1] - 128),
  );
  assert.deepEqual(overlayHeatmap(img, [[0, 0]]).data, img.data);
  assert.deepEqual(heatColor(2), heatColor(1));
  assert.ok(heatColor(0)[2] > heatColor(0)[0], 'cold end is blue');
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
  const r = spawnSync(
    process.execPath,
    [
      join(projectRoot(), 'dist', 'src', 'cli.js'),
      'snippets',
      clip,
      '-T',
      '4',
      '--sheet',
      out,
      '--size',
      '32',
    ],
    { encoding: 'utf8' },
  );
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
