/**
 * End to end in headless Chromium (Debian's /usr/bin/chromium driven by playwright-core): start
 * `dfan serve` on a loopback port, upload a clip through the page, wait for the result, check the
 * emotion bars, the temporal strip, the heatmap overlay and that a refresh keeps the job; save a
 * screenshot (path printed). Also opens an HTML report with the network blocked: its images load.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type RunningServer, startServer } from '../../src/app/serve.js';
import { needShared, sharedPath } from '../helpers/shared.js';
import { writeFakePack } from './fake-pack.js';
import { makeClip } from './helpers.js';

const CHROMIUM = process.env.DFAN_CHROMIUM ?? '/usr/bin/chromium';
const noChromium = existsSync(CHROMIUM) ? false : `skipped: ${CHROMIUM} is absent (apt-get install chromium)`;
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dfan-app-browser-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function launch(profile: string) {
  const { chromium } = await import('playwright-core');
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1280, height: 900 },
  });
}

test('web page: upload → progress → player, emotion bars, temporal strip, overlay; refresh keeps the job', {
  skip: noChromium,
  timeout: 150_000,
}, async (t) => {
  // the real default model on a real face clip when ../shared is here; else a generated clip + fake pack
  const real = !needShared('media/single_face.mp4');
  const clip = real ? sharedPath('media/single_face.mp4') : makeClip(dir, 'clip.mp4', 'white', 2, '320x240');
  let server: RunningServer;
  try {
    server = await startServer({
      host: '127.0.0.1',
      port: 0,
      model: 'default',
      pack: real ? undefined : await writeFakePack(dir),
      workDir: join(dir, 'work'),
      warm: false, // the page is under test, not the start-up; the first job loads the models
    });
  } catch (e) {
    if (/MODEL_MISSING|not available in this build/.test(String(e))) {
      t.skip(`default pack not available: ${String(e)}`);
      return;
    }
    throw e;
  }
  const ctx = await launch(join(dir, 'profile'));
  try {
    const page = await ctx.newPage();
    const external: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(server.url) && !r.url().startsWith('data:') && !r.url().startsWith('blob:'))
        external.push(r.url());
    });
    await page.goto(server.url);
    await page.waitForSelector('#banner:not([hidden])');
    assert.match(String(await page.textContent('#banner')), /Zero-shot face-expression model/);
    await page.setInputFiles('#file', clip);
    await page.click('#go');
    await page.waitForSelector('#result:not([hidden])', { timeout: 120_000 });
    assert.match(page.url(), /#job=[A-Za-z0-9_-]{22}$/);
    assert.match(String(await page.textContent('#model-banner')), /not trained on video emotion/);
    assert.equal(await page.locator('#bars .bar-row').count(), 6);
    assert.equal(await page.textContent('#bars-title'), 'Emotion');
    // the temporal strip: one cell per snippet, laid out under the timeline
    const cells = page.locator('#strip .cell');
    assert.equal(await cells.count(), 16);
    const box = await page.locator('#strip-wrap').boundingBox();
    assert.ok(box && box.width > 300 && box.height > 20, JSON.stringify(box));
    // wait for the video's metadata, then seek through a strip click and check the overlay
    await page.waitForFunction(
      () => (document.getElementById('player') as HTMLVideoElement).readyState >= 1,
      null,
      {
        timeout: 30_000,
      },
    );
    await cells.nth(12).click();
    await page.waitForFunction(
      () => (document.getElementById('player') as HTMLVideoElement).currentTime > 0.5,
    );
    await page.waitForFunction(() => document.getElementById('overlay')?.dataset.snippet === '12');
    const overlay = await page.evaluate(() => {
      const c = document.getElementById('overlay') as HTMLCanvasElement;
      const d = c.getContext('2d')?.getImageData(0, 0, c.width, c.height).data ?? new Uint8ClampedArray();
      let lit = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] > 20) lit++;
      const r = c.getBoundingClientRect();
      return { w: c.width, h: c.height, lit, visible: r.width > 0 && r.height > 0 };
    });
    assert.ok(overlay.visible && overlay.w > 100 && overlay.h > 50, JSON.stringify(overlay));
    assert.ok(overlay.lit > overlay.w * overlay.h * 0.02, `overlay lit pixels: ${JSON.stringify(overlay)}`);
    assert.ok(overlay.lit < overlay.w * overlay.h, 'the heatmap is a focus, not a flat fill');
    assert.match(String(await page.textContent('#where-now')), /^face: (centre|upper|middle|lower)/);
    // stream toggle hides the overlay
    await page.uncheck('#toggles input[data-stream="face"]');
    const hidden = await page.evaluate(() => {
      const c = document.getElementById('overlay') as HTMLCanvasElement;
      const d = c.getContext('2d')?.getImageData(0, 0, c.width, c.height).data ?? new Uint8ClampedArray();
      let lit = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] > 0) lit++;
      return lit;
    });
    assert.equal(hidden, 0);
    await page.check('#toggles input[data-stream="face"]');
    const shot = join(tmpdir(), 'dfan-web-screenshot.png');
    await page.screenshot({ path: shot, fullPage: true });
    t.diagnostic(`screenshot: ${shot}`);
    console.log(`# screenshot of the web page: ${shot}`);
    // a refresh does not lose the job
    await page.reload();
    await page.waitForSelector('#result:not([hidden])', { timeout: 20_000 });
    assert.equal(await page.locator('#strip .cell').count(), 16);
    assert.deepEqual(external, [], 'the page made no request outside the server');
  } finally {
    await ctx.close();
    await server.close();
  }
});

test('HTML report: opens in Chromium with no request beyond the file, every image decodes', {
  skip: noChromium,
  timeout: 120_000,
}, async () => {
  const { runPredict } = await import('../../src/app/cli-predict.js');
  const clip = makeClip(dir, 'report-clip.mp4', 'white', 2, '320x240');
  const out = join(dir, 'report.html');
  const failed = await runPredict([clip], {
    model: 'default',
    json: false,
    html: out,
    top: 3,
    pack: await writeFakePack(dir),
    out: () => {},
    err: () => {},
  });
  assert.equal(failed, 0);
  const ctx = await launch(join(dir, 'profile-report'));
  try {
    const page = await ctx.newPage();
    const requests: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith('data:')) requests.push(r.url());
    });
    await page.goto(`file://${out}`);
    const images = await page.evaluate(() =>
      Array.from(document.images).map((i) => ({ ok: i.complete && i.naturalWidth > 0, cls: i.className })),
    );
    assert.ok(images.length >= 2, `images: ${images.length}`);
    assert.ok(
      images.every((i) => i.ok),
      JSON.stringify(images),
    );
    assert.equal(await page.locator('svg rect.snippet').count(), 16);
    assert.equal(await page.locator('table.probs tr').count(), 6);
    assert.deepEqual(requests, [`file://${out}`]);
  } finally {
    await ctx.close();
  }
});
