/**
 * End to end in headless Chromium (Debian's /usr/bin/chromium driven by playwright-core): start
 * `dfan serve` on a loopback port, upload a clip through the page, wait for the result, check the
 * emotion bars, the temporal strip, the heatmap overlay and that a refresh keeps the job; save a
 * screenshot (path printed). An MPEG-4 Part 2 AVI (which no browser plays) plays through the
 * server's converted copy; when no copy can be made, the page shows the key frames instead. Also
 * opens an HTML report with the network blocked: its images load.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { frameImage } from '../../src/app/predict.js';
import { checkVideoFile, type RunningServer, startServer } from '../../src/app/serve.js';
import { buildServer } from '../../src/app/server.js';
import { ZERO_SHOT_DESCRIPTOR } from '../../src/app/zero-shot.js';
import { probe } from '../../src/video/probe.js';
import { ffmpeg } from '../helpers/ffmpeg.js';
import { needShared, sharedPath } from '../helpers/shared.js';
import { testDir } from '../helpers/temp.js';
import { writeFakePack } from './fake-pack.js';
import { fakePrediction, makeClip } from './helpers.js';

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

const dir = testDir('dfan-app-browser-');

/** `dfan serve` on a loopback port: the real default model, or (no ../shared) the fake pack. */
async function startPageServer(real: boolean): Promise<RunningServer> {
  return startServer({
    host: '127.0.0.1',
    port: 0,
    model: 'default',
    pack: real ? undefined : await writeFakePack(dir),
    workDir: join(dir, `work-${Math.random().toString(36).slice(2)}`),
    warm: false, // the page is under test, not the start-up; the first job loads the models
  });
}

/** The heatmap canvas: its size, whether it shows, and how many of its pixels are more opaque than `alpha`. */
async function overlayPixels(page: Page, alpha: number) {
  return page.evaluate((min) => {
    const c = document.getElementById('overlay') as HTMLCanvasElement;
    const d = c.getContext('2d')?.getImageData(0, 0, c.width, c.height).data ?? new Uint8ClampedArray();
    let lit = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > min) lit++;
    const r = c.getBoundingClientRect();
    return { w: c.width, h: c.height, lit, visible: r.width > 0 && r.height > 0 };
  }, alpha);
}

/** Upload a file through the page's form and wait for the result to show. */
async function analyse(page: Page, file: string): Promise<void> {
  await page.setInputFiles('#file', file);
  await page.click('#go');
  await page.waitForSelector('#result:not([hidden])', { timeout: 120_000 });
}

/** Click snippet i's cell of the temporal strip; wait until the overlay shows that snippet. */
async function seekToSnippet(page: Page, i: number): Promise<void> {
  await page.locator('#strip .cell').nth(i).click();
  await page.waitForFunction((n) => document.getElementById('overlay')?.dataset.snippet === n, String(i));
}

/** A page in a fresh Chromium profile for `fn`; then the browser closes, and `also` (a server) after it. */
async function withPage(
  profile: string,
  fn: (page: Page) => Promise<void>,
  also?: { close(): Promise<unknown> },
) {
  try {
    const ctx = await launch(join(dir, profile));
    try {
      await fn(await ctx.newPage());
    } finally {
      await ctx.close();
    }
  } finally {
    await also?.close();
  }
}

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
  // the default model comes with `npm ci`: when it cannot load, that is a failure, not a skip
  const server = await startPageServer(real);
  await withPage(
    'profile',
    async (page) => {
      const external: string[] = [];
      page.on('request', (r) => {
        if (!r.url().startsWith(server.url) && !r.url().startsWith('data:') && !r.url().startsWith('blob:'))
          external.push(r.url());
      });
      await page.goto(server.url);
      await page.waitForSelector('#banner:not([hidden])');
      assert.match(String(await page.textContent('#banner')), /Zero-shot face-expression model/);
      await analyse(page, clip);
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
      await seekToSnippet(page, 12);
      await page.waitForFunction(
        () => (document.getElementById('player') as HTMLVideoElement).currentTime > 0.5,
      );
      const overlay = await overlayPixels(page, 20);
      assert.ok(overlay.visible && overlay.w > 100 && overlay.h > 50, JSON.stringify(overlay));
      assert.ok(overlay.lit > overlay.w * overlay.h * 0.02, `overlay lit pixels: ${JSON.stringify(overlay)}`);
      assert.ok(overlay.lit < overlay.w * overlay.h, 'the heatmap is a focus, not a flat fill');
      assert.match(String(await page.textContent('#where-now')), /^face: (centre|upper|middle|lower)/);
      // stream toggle hides the overlay
      await page.uncheck('#toggles input[data-stream="face"]');
      assert.equal((await overlayPixels(page, 0)).lit, 0);
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
    },
    server,
  );
});

/** The player's picture now: mean brightness and spread of its pixels (0 = black). */
async function playerPixels(page: Page): Promise<{ mean: number; spread: number; width: number }> {
  return page.evaluate(() => {
    const v = document.getElementById('player') as HTMLVideoElement;
    const c = document.createElement('canvas');
    c.width = v.videoWidth;
    c.height = v.videoHeight;
    const ctx = c.getContext('2d');
    if (!ctx || !c.width) return { mean: 0, spread: 0, width: 0 };
    ctx.drawImage(v, 0, 0);
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    let sum = 0;
    let sq = 0;
    for (let i = 0; i < d.length; i += 4) {
      const y = (d[i] + d[i + 1] + d[i + 2]) / 3;
      sum += y;
      sq += y * y;
    }
    const n = d.length / 4;
    return { mean: sum / n, spread: Math.sqrt(Math.max(0, sq / n - (sum / n) ** 2)), width: c.width };
  });
}

test('web page: an MPEG-4 Part 2 AVI upload is converted in the background and plays (not a black player)', {
  skip: noChromium,
  timeout: 180_000,
}, async () => {
  const real = !needShared('media/single_face.mp4');
  const source = real
    ? sharedPath('media/single_face.mp4')
    : makeClip(dir, 'avi-source.mp4', 'white', 2, '320x240');
  const avi = join(dir, 'camera.avi');
  ffmpeg(['-i', source, '-c:v', 'mpeg4', '-q:v', '5', '-c:a', 'libmp3lame', '-b:a', '96k', avi]);
  assert.equal((await probe(avi)).codec, 'mpeg4');
  const server = await startPageServer(real);
  await withPage(
    'profile-avi',
    async (page) => {
      await page.goto(server.url);
      await analyse(page, avi);
      const id = /#job=([A-Za-z0-9_-]{22})$/.exec(page.url())?.[1];
      assert.ok(id, page.url());
      // the player gets the converted copy once it is there (key frames until then)
      await page.waitForFunction(
        () => {
          const v = document.getElementById('player') as HTMLVideoElement;
          return !v.hidden && v.readyState >= 2 && v.videoWidth > 0;
        },
        null,
        { timeout: 60_000 },
      );
      const job = await page.evaluate(async (jobId) => (await fetch(`/api/jobs/${jobId}`)).json(), id);
      assert.equal(job.playback, 'converted');
      const type = await page.evaluate(
        async (jobId) =>
          (await fetch(`/api/jobs/${jobId}/video`, { method: 'HEAD' })).headers.get('content-type'),
        id,
      );
      assert.equal(type, 'video/mp4');
      assert.equal(await page.isHidden('#still'), true);
      // seek through the strip and look at the picture: decoded frames, not a black box
      await seekToSnippet(page, 8);
      await page.waitForFunction(() => {
        const v = document.getElementById('player') as HTMLVideoElement;
        return v.currentTime > 0.5 && v.readyState >= 2;
      });
      const px = await playerPixels(page);
      assert.ok(px.width > 0 && px.mean > 20 && px.spread > 5, `player picture: ${JSON.stringify(px)}`);
    },
    server,
  );
});

test('web page: when no copy can be made, the player shows the key frames with the focus over them', {
  skip: noChromium,
  timeout: 120_000,
}, async () => {
  const avi = join(dir, 'stills.avi');
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=320x240:d=2:r=10', '-c:v', 'mpeg4', '-q:v', '5', avi]);
  const { app } = await buildServer({
    runner: async (job) => fakePrediction(job.name),
    model: ZERO_SHOT_DESCRIPTOR,
    checkVideo: checkVideoFile,
    convert: async () => {
      throw new Error('no H.264 encoder in this ffmpeg');
    },
    frame: frameImage,
    workDir: join(dir, 'work-stills'),
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  await withPage(
    'profile-stills',
    async (page) => {
      await page.goto(url);
      await analyse(page, avi);
      await page.waitForSelector('#player-note:not([hidden])', { timeout: 30_000 });
      assert.match(
        String(await page.textContent('#player-note')),
        /no H\.264 encoder.*key frames shown instead/,
      );
      assert.equal(await page.isHidden('#player'), true);
      const still = async () =>
        page.evaluate(() => {
          const img = document.getElementById('still') as HTMLImageElement;
          return { src: img.getAttribute('src'), w: img.naturalWidth, shown: !img.hidden };
        });
      await page.waitForFunction(
        () => (document.getElementById('still') as HTMLImageElement).naturalWidth > 0,
      );
      const first = await still();
      assert.ok(first.shown && first.w === 320, JSON.stringify(first));
      // the strip still seeks: another snippet's key frame, and its focus drawn over it
      await seekToSnippet(page, 3);
      assert.match(String((await still()).src), /\/frames\/3\.jpg$/);
      assert.ok((await overlayPixels(page, 20)).lit > 0, 'the spatial focus is drawn over the key frame');
    },
    app,
  );
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
  await withPage('profile-report', async (page) => {
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
  });
});
