import type { Command } from 'commander';
import { DfanError } from '../errors.js';
import type { ResizeMode, Snippet, VideoInfo } from '../video/types.js';
import { parseNumber, parseOptionalNumber } from './numbers.js';

const EXAMPLES = `
The video is cut into T uniform segments (TSN style, deterministic). Each snippet has a key
frame at the segment centre (what the 2-D backbones see) and K clip frames around it, one video
frame apart (what the motion backbone sees). The frame used for a time t is the one on screen
at t, chosen by presentation timestamp (correct on variable-frame-rate files).

--sheet writes a contact sheet PNG of the key frames, each labelled with its snippet number and
time, decoded exactly as the models will see them (--mode crop = centre-crop, like the
backbones; letterbox shows the whole picture).

Examples:
  $ dfan snippets clip.mp4
  $ dfan snippets clip.mp4 -T 8 --sheet sheet.png
  $ dfan snippets clip.mp4 --sheet sheet.png --size 224 --mode letterbox
  $ dfan snippets clip.mp4 -T 16 -K 8 --json > snippets.json`;

/** The options of `dfan snippets`, parsed and checked. */
interface SnippetsOptions {
  T: number;
  K: number;
  json: boolean;
  sheet?: string;
  size: number;
  mode: ResizeMode;
  columns?: number;
}

export function register(program: Command): void {
  program
    .command('snippets')
    .description(
      'the T snippets (key frame + K clip frames) sampled from a video; --sheet draws the key frames',
    )
    .argument('<video>', 'a video file')
    .option('-T, --snippets <T>', 'number of snippets (segments)', '16')
    .option('-K, --clip <K>', 'clip frames per snippet', '8')
    .option('--json', 'print the snippets (and the video info) as JSON')
    .option('--sheet <out.png>', 'write a contact sheet of the key frames, labelled with their times')
    .option('--size <px>', 'thumbnail size on the sheet (square, as the model sees it)', '160')
    .option('--mode <mode>', 'resize mode for the sheet: crop | letterbox | stretch', 'crop')
    .option('--columns <n>', 'thumbnails per row on the sheet (default: about square)')
    .addHelpText('after', EXAMPLES)
    .action(async (video: string, raw: Record<string, string | boolean | undefined>) =>
      snippetsCommand(video, snippetsOptions(raw)),
    );
}

function snippetsOptions(raw: Record<string, string | boolean | undefined>): SnippetsOptions {
  const T = parseNumber('-T', String(raw.snippets), { min: 1, max: 1000 });
  const K = parseNumber('-K', String(raw.clip), { min: 1, max: 256 });
  const size = parseNumber('--size', String(raw.size), { min: 16, max: 1024 });
  const columns = parseOptionalNumber('--columns', raw.columns as string | undefined, { min: 1, max: 100 });
  const mode = String(raw.mode);
  if (!['crop', 'letterbox', 'stretch'].includes(mode)) {
    throw new DfanError('BAD_ARGUMENT', `--mode must be crop, letterbox or stretch, got "${mode}"`);
  }
  return {
    T,
    K,
    json: !!raw.json,
    sheet: raw.sheet as string | undefined,
    size,
    mode: mode as ResizeMode,
    columns,
  };
}

/** `dfan snippets`: the table (or JSON) of the snippets, and the contact sheet when asked. */
async function snippetsCommand(video: string, o: SnippetsOptions): Promise<void> {
  const { probe, sampleSnippets } = await import('../video/index.js');
  const info = await probe(video);
  const snippets = sampleSnippets(info.duration, o.T, o.K, info.fps > 0 ? info.fps : undefined);
  const sheetNote = o.sheet ? await writeKeyFrameSheet(video, info, snippets, o, o.sheet) : '';
  if (o.json) {
    const { T, K } = o;
    process.stdout.write(
      `${JSON.stringify({ video, info, T, K, snippets, sheet: o.sheet ?? null }, null, 2)}\n`,
    );
    return;
  }
  process.stdout.write(snippetsTable(video, info, snippets, o.T, o.K));
  if (sheetNote) process.stdout.write(`${sheetNote}\n`);
}

/** Decodes the key frames as the models see them and writes them as one labelled PNG; returns the note. */
async function writeKeyFrameSheet(
  video: string,
  info: VideoInfo,
  snippets: Snippet[],
  o: SnippetsOptions,
  out: string,
): Promise<string> {
  const { decodeFrames } = await import('../video/index.js');
  const { contactSheet, writePng } = await import('../render/index.js');
  const { basename } = await import('node:path');
  const { T, size, mode } = o;
  const times = snippets.map((s) => s.keyTime);
  const frames = await decodeFrames(video, times, { width: size, height: size, mode }, info);
  const sheet = contactSheet(
    frames.map((f, i) => ({ image: f, label: `#${i + 1} ${f.time.toFixed(2)}s` })),
    {
      columns: o.columns ?? Math.min(T, T <= 4 ? T : T <= 16 ? 4 : 8),
      title: `${basename(video)}  ${info.duration.toFixed(2)}s  T=${T} key frames (${mode} ${size}x${size})`,
    },
  );
  try {
    writePng(out, sheet);
  } catch (e) {
    throw new DfanError('BAD_ARGUMENT', `cannot write the sheet: ${(e as Error).message.split('\n')[0]}`, {
      file: out,
      hint: 'choose a writable path for --sheet',
    });
  }
  return `contact sheet: ${out} (${sheet.width}×${sheet.height}, ${T} key frames)`;
}

/** The one-line summary and the table of snippets (start, end, key time, clip span). */
function snippetsTable(video: string, info: VideoInfo, snippets: Snippet[], T: number, K: number): string {
  const f = (x: number) => x.toFixed(3);
  const step = K > 1 ? snippets[0].clipTimes[1] - snippets[0].clipTimes[0] : 0;
  const summary =
    `${video}: ${info.duration.toFixed(3)} s, ${+info.fps.toFixed(3)} fps, ${info.displayWidth}×${info.displayHeight}; ` +
    `T=${T} snippets of ${(info.duration / T).toFixed(3)} s, K=${K} clip frames ${(step * 1000).toFixed(1)} ms apart\n`;
  const head = ['#', 'start', 'end', 'key', 'clip'];
  const rows = snippets.map((s) => [
    String(s.index + 1),
    f(s.start),
    f(s.end),
    f(s.keyTime),
    `${f(s.clipTimes[0])}–${f(s.clipTimes[s.clipTimes.length - 1])}`,
  ]);
  const w = head.map((h, k) => Math.max(h.length, ...rows.map((r) => r[k].length)));
  const line = (r: string[]) => r.map((c, k) => c.padStart(w[k])).join('  ');
  return `${summary}${line(head)}\n${rows.map(line).join('\n')}\n`;
}
