// dfan web page: upload → job (SSE progress) → player with temporal strip and spatial overlay.
// Plain browser JavaScript (an ES module), no build step, no network beyond this server.
// The colour ramp is the reports' own (src/render/ramp.ts), served compiled at /ramp.js.
import { heatColor } from '/ramp.js';

const $ = (id) => document.getElementById(id);
// still: the player shows key frames (the browser cannot play the upload, or not yet), at stillTime
const state = { job: null, result: null, enabled: {}, pos: -1, es: null, still: false, stillTime: 0 };

function mmss(s) {
  s = Math.max(0, Math.round(s));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

function tenths(s) {
  const t = Math.max(0, Math.round(s * 10) / 10);
  const m = Math.floor(t / 60);
  return `${m}:${(t - m * 60).toFixed(1).padStart(4, '0')}`;
}

/** a range in m:ss, with tenths when short (both ends never print the same) */
function range(a, b) {
  const f = b - a < 10 || mmss(a) === mmss(b) ? tenths : mmss;
  return `${f(a)}–${f(b)}`;
}

function showError(msg) {
  const e = $('error');
  e.textContent = msg;
  e.hidden = !msg;
}

function setStatus(text, fraction) {
  $('status').hidden = false;
  $('status-text').textContent = text;
  if (fraction !== undefined) $('progress-bar').style.width = `${Math.round(fraction * 100)}%`;
}

function bannerText(model) {
  if (!model) return '';
  if (model.kind === 'zero-shot')
    return `Zero-shot face-expression model (${model.name}) — not trained on video emotion. It reads faces only; videos without faces get a uniform answer.`;
  if (model.kind === 'untrained') return `UNTRAINED model (${model.name}): outputs are meaningless.`;
  return `Trained DFAN run: ${model.name}`;
}

function setBanner(el, model) {
  el.textContent = bannerText(model);
  el.className = `banner ${model ? model.kind : ''}`;
  el.hidden = !model;
}

async function loadInfo() {
  try {
    const info = await (await fetch('/api/info')).json();
    setBanner($('banner'), info.model);
    $('limits').textContent = `up to ${info.limits.maxUploadMB} MB · mp4, mov, mkv, webm, avi · kept ${info.limits.ttlMinutes} min`;
  } catch {
    /* the page still works without it */
  }
}

function remember(id) {
  if (id) {
    localStorage.setItem('dfan.job', id);
    if (location.hash !== `#job=${id}`) history.replaceState(null, '', `#job=${id}`);
  } else {
    localStorage.removeItem('dfan.job');
    history.replaceState(null, '', location.pathname);
  }
}

function upload(file) {
  showError('');
  $('go').disabled = true;
  setStatus(`uploading ${file.name}…`, 0);
  const fd = new FormData();
  fd.append('video', file, file.name);
  const xhr = new XMLHttpRequest();
  xhr.open('POST', '/api/jobs');
  xhr.responseType = 'json';
  xhr.upload.onprogress = (e) => {
    if (e.lengthComputable) setStatus(`uploading ${file.name}… ${Math.round((100 * e.loaded) / e.total)} %`, (0.3 * e.loaded) / e.total);
  };
  xhr.onload = () => {
    $('go').disabled = false;
    const body = xhr.response || {};
    if (xhr.status >= 400) {
      const retry = xhr.getResponseHeader('Retry-After');
      showError(`${body.message || body.error || `upload failed (${xhr.status})`}${retry ? ` — retry in ${retry} s` : ''}`);
      $('status').hidden = true;
      return;
    }
    follow(body);
  };
  xhr.onerror = () => {
    $('go').disabled = false;
    showError('upload failed: the server did not answer');
  };
  xhr.send(fd);
}

function follow(job) {
  state.job = job;
  remember(job.id);
  if (job.status === 'done') return showResult(job);
  if (job.status === 'error') return showFailure(job);
  if (state.es) state.es.close();
  const es = new EventSource(`/api/jobs/${job.id}/events`);
  state.es = es;
  const onJob = (ev) => {
    const j = JSON.parse(ev.data);
    state.job = j;
    if (j.status === 'done') {
      es.close();
      showResult(j);
    } else if (j.status === 'error') {
      es.close();
      showFailure(j);
    } else {
      setStatus(`${j.status === 'queued' ? 'waiting in the queue' : j.stage}… ${Math.round(j.progress * 100)} %`, 0.3 + 0.7 * j.progress);
    }
  };
  es.addEventListener('progress', onJob);
  es.addEventListener('done', onJob);
  es.addEventListener('error', (ev) => {
    if (ev.data) return onJob(ev);
    // connection lost: fall back to polling once
    es.close();
    setTimeout(() => resume(job.id), 1000);
  });
}

function showFailure(job) {
  $('status').hidden = true;
  showError(`analysis failed: ${job.error || 'unknown error'}`);
  remember(null);
}

async function resume(id) {
  const r = await fetch(`/api/jobs/${encodeURIComponent(id)}`);
  if (r.status === 404) {
    remember(null);
    showError('that job is gone (results are kept for a limited time): upload the video again');
    return;
  }
  follow(await r.json());
}

function showResult(job) {
  const p = job.result;
  state.result = p;
  $('status').hidden = true;
  $('result').hidden = false;
  $('video-name').textContent = `${p.video}${job.cached ? ' (cached result)' : ''}`;
  setBanner($('model-banner'), p.model);
  const warns = $('warnings');
  warns.replaceChildren(...(p.warnings || []).map((w) => Object.assign(document.createElement('li'), { textContent: w })));

  // emotion bars ("Class" when the run was trained on other classes: the server says which)
  $('bars-title').textContent = job.labelsAre === 'class' ? 'Class' : 'Emotion';
  $('bars').replaceChildren(
    ...p.labels.map((l) => {
      const row = document.createElement('div');
      row.className = 'bar-row';
      const name = Object.assign(document.createElement('span'), { textContent: l.label });
      const track = document.createElement('div');
      track.className = 'bar-track';
      const fill = document.createElement('div');
      fill.className = 'bar-fill';
      fill.style.width = `${(l.prob * 100).toFixed(1)}%`;
      track.append(fill);
      const v = Object.assign(document.createElement('span'), { className: 'v', textContent: `${(l.prob * 100).toFixed(1)} %` });
      row.append(name, track, v);
      return row;
    }),
  );

  // key moments
  $('moments').replaceChildren(
    ...(p.keyMoments || []).map((k) => {
      const li = document.createElement('li');
      li.textContent = `${range(k.start, k.end)} · ${(k.weight * 100).toFixed(0)} % of the focus`;
      li.addEventListener('click', () => seek(k.start));
      return li;
    }),
  );

  // stream toggles
  const streams = Object.keys(p.spatial || {});
  state.enabled = {};
  const toggles = $('toggles');
  toggles.replaceChildren();
  for (const s of streams) {
    state.enabled[s] = true;
    const label = document.createElement('label');
    const box = Object.assign(document.createElement('input'), { type: 'checkbox', checked: true });
    box.dataset.stream = s;
    box.addEventListener('change', () => {
      state.enabled[s] = box.checked;
      draw(true);
    });
    const info = (p.spatialStreams || []).find((x) => x.name === s);
    label.title = info ? info.description : s;
    label.append(box, ` ${s} focus`);
    toggles.append(label);
  }
  $('where-info').textContent = (p.spatialStreams || [])
    .map((s) => `${s.name}: ${s.gridSize[0]}×${s.gridSize[1]} grid over ${s.spans || 'the whole frame'} · ${s.description}`)
    .join(' · ');

  state.stillTime = p.keyMoments?.[0]?.start ?? 0;
  setPlayer(job);
  buildStrip();
  draw(true);
}

/** The video when the browser plays it (as uploaded, or converted by the server), else key frames. */
function setPlayer(job) {
  const playback = job.playback || 'original';
  if (playback === 'original' || playback === 'converted') {
    state.still = false;
    $('still').hidden = true;
    $('player-note').hidden = true;
    const video = $('player');
    video.hidden = false;
    video.src = `/api/jobs/${job.id}/video`;
    return;
  }
  if (playback === 'converting') {
    showStill('Your browser cannot play this video as uploaded: the server is converting it. Key frames meanwhile.');
    setTimeout(() => watchPlayback(job.id), 1500);
  } else {
    showStill(`${job.playbackNote || 'Your browser cannot play this video'}: key frames shown instead.`);
  }
}

/** Poll the job until the server's converted copy is ready (or the conversion failed). */
async function watchPlayback(id) {
  if (state.job?.id !== id || !state.still) return;
  try {
    const r = await fetch(`/api/jobs/${encodeURIComponent(id)}`);
    if (r.ok) {
      const job = await r.json();
      if (job.playback !== 'converting') return setPlayer(job);
    }
  } catch {
    /* try again */
  }
  setTimeout(() => watchPlayback(id), 1500);
}

function showStill(note) {
  state.still = true;
  const video = $('player');
  video.removeAttribute('src');
  video.load();
  video.hidden = true;
  $('still').hidden = false;
  $('player-note').textContent = note;
  $('player-note').hidden = false;
  showFrame(state.stillTime);
}

/** The key frame of the snippet at time t (the server decodes it from the upload). */
function showFrame(t) {
  state.stillTime = t;
  const pos = snippetAt(t);
  const first = Object.values(state.result.spatial || {})[0];
  const src = `/api/jobs/${state.job.id}/frames/${first ? first[pos].snippet : pos}.jpg`;
  const img = $('still');
  if (img.getAttribute('src') !== src) img.src = src;
}

function buildStrip() {
  const p = state.result;
  const strip = $('strip');
  const dur = p.duration || 1;
  const max = Math.max(...p.snippets.map((s) => s.weight), 1e-9);
  const key = new Set((p.keyMoments || []).flatMap((k) => k.snippets));
  const first = Object.values(p.spatial || {})[0];
  strip.replaceChildren(
    ...p.snippets.map((s, i) => {
      const c = document.createElement('div');
      c.className = 'cell';
      const snippetIndex = first ? first[i].snippet : i;
      if (key.has(snippetIndex)) c.classList.add('key');
      const v = s.weight / max;
      c.style.left = `${(100 * s.start) / dur}%`;
      c.style.width = `calc(${(100 * (s.end - s.start)) / dur}% - 1px)`;
      c.style.height = `${Math.max(8, v * 100)}%`;
      const [r, g, b] = heatColor(v);
      c.style.background = `rgb(${r},${g},${b})`;
      c.title = `${range(s.start, s.end)}: ${(s.weight * 100).toFixed(1)} % of the focus`;
      c.dataset.index = String(i);
      return c;
    }),
  );
}

function seek(t) {
  if (state.still) {
    showFrame(t);
    draw(true);
    return;
  }
  const v = $('player');
  v.currentTime = Math.max(0, Math.min(t + 0.01, (v.duration || state.result.duration) - 0.05));
  draw(true);
}

function snippetAt(t) {
  const sn = state.result.snippets;
  for (let i = 0; i < sn.length; i++) if (t >= sn[i].start && t < sn[i].end) return i;
  return t >= (sn[sn.length - 1]?.end ?? 0) ? sn.length - 1 : 0;
}

/** Place the canvas exactly over the picture (the <video> letterboxes inside its box). */
function fitOverlay() {
  const video = $('player');
  const still = $('still');
  const canvas = $('overlay');
  const shown = state.still ? still : video;
  const bw = shown.clientWidth;
  const bh = shown.clientHeight;
  const vw = (state.still ? still.naturalWidth : video.videoWidth) || state.result.width || 16;
  const vh = (state.still ? still.naturalHeight : video.videoHeight) || state.result.height || 9;
  const scale = Math.min(bw / vw, bh / vh);
  const w = Math.round(vw * scale);
  const h = Math.round(vh * scale);
  canvas.style.left = `${Math.round((bw - w) / 2)}px`;
  canvas.style.top = `${Math.round((bh - h) / 2)}px`;
  canvas.style.width = `${w}px`;
  canvas.style.height = `${h}px`;
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
    return true;
  }
  return false;
}

function draw(force) {
  if (!state.result) return;
  const t = state.still ? state.stillTime : $('player').currentTime || 0;
  const pos = snippetAt(t);
  const d = state.result.duration || 1;
  $('playhead').style.left = `${(100 * t) / d}%`;
  $('now').textContent = `${mmss(t)} · snippet ${pos + 1}/${state.result.snippets.length} · ${(state.result.snippets[pos].weight * 100).toFixed(1)} % focus`;
  const resized = fitOverlay();
  if (!force && !resized && pos === state.pos) return;
  state.pos = pos;
  const canvas = $('overlay');
  const ctx = canvas.getContext('2d');
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  for (const [stream, grids] of Object.entries(state.result.spatial || {})) {
    if (!state.enabled[stream] || !grids[pos]) continue;
    const grid = grids[pos].grid;
    const gh = grid.length;
    const gw = grid[0].length;
    const flat = grid.flat();
    const max = Math.max(...flat);
    const min = Math.min(...flat);
    if (max - min < 1e-9) continue; // uniform: nothing to point at
    const small = document.createElement('canvas');
    small.width = gw;
    small.height = gh;
    const sctx = small.getContext('2d');
    const img = sctx.createImageData(gw, gh);
    for (let i = 0; i < gh; i++)
      for (let j = 0; j < gw; j++) {
        const v = (grid[i][j] - min) / (max - min);
        const [r, g, b] = heatColor(v);
        const o = (i * gw + j) * 4;
        img.data[o] = r;
        img.data[o + 1] = g;
        img.data[o + 2] = b;
        img.data[o + 3] = Math.round(255 * 0.6 * v);
      }
    sctx.putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = 'high';
    // the grid spans `region` of the frame (fractions; a centre crop is narrower than the frame)
    const [x0, y0, x1, y1] = grids[pos].region || [0, 0, 1, 1];
    ctx.drawImage(
      small,
      x0 * canvas.width,
      y0 * canvas.height,
      (x1 - x0) * canvas.width,
      (y1 - y0) * canvas.height,
    );
  }
  canvas.dataset.snippet = String(pos);
  $('where-now').textContent = Object.entries(state.result.spatial || {})
    .map(([stream, grids]) => (grids[pos]?.where ? `${stream}: ${grids[pos].where}` : ''))
    .filter(Boolean)
    .join(' · ');
}

function loop() {
  draw(false);
  requestAnimationFrame(loop);
}

function init() {
  loadInfo();
  const input = $('file');
  const drop = $('drop');
  input.addEventListener('change', () => {
    $('go').disabled = !input.files.length;
    if (input.files.length) drop.querySelector('span').textContent = input.files[0].name;
  });
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    if (e.dataTransfer.files.length) {
      input.files = e.dataTransfer.files;
      input.dispatchEvent(new Event('change'));
    }
  });
  $('form').addEventListener('submit', (e) => {
    e.preventDefault();
    if (input.files.length) upload(input.files[0]);
  });
  $('again').addEventListener('click', () => {
    $('result').hidden = true;
    $('player').removeAttribute('src');
    $('player').hidden = false;
    $('still').hidden = true;
    $('still').removeAttribute('src');
    $('player-note').hidden = true;
    state.still = false;
    state.result = null;
    remember(null);
    window.scrollTo(0, 0);
  });
  $('strip-wrap').addEventListener('click', (e) => {
    if (!state.result) return;
    const rect = $('strip-wrap').getBoundingClientRect();
    const t = ((e.clientX - rect.left) / rect.width) * (state.result.duration || 0);
    const i = snippetAt(t);
    seek(state.result.snippets[i].start);
  });
  $('player').addEventListener('loadedmetadata', () => draw(true));
  $('still').addEventListener('load', () => draw(true));
  // a video the server thought playable that this browser cannot decode: key frames instead
  $('player').addEventListener('error', () => {
    if (state.result && !state.still && $('player').getAttribute('src'))
      showStill('Your browser could not play this video: key frames shown instead.');
  });
  window.addEventListener('resize', () => draw(true));
  const fromHash = /^#job=([A-Za-z0-9_-]+)$/.exec(location.hash);
  const id = fromHash ? fromHash[1] : localStorage.getItem('dfan.job');
  if (id) resume(id);
  requestAnimationFrame(loop);
}

document.addEventListener('DOMContentLoaded', init);
