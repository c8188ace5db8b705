import type { Command } from 'commander';

const EXAMPLES = `
Reads the container headers with ffprobe (never decodes the whole file, so it is fast on long
videos) and prints one row per video: duration, frame rate (nominal / average — they differ on
variable-frame-rate files), frame count when the container says so, coded size and display
rotation, codec, audio. Bad files get a one-line error that names them; with several videos the
others are still probed and the exit code is 1.

Examples:
  $ dfan probe clip.mp4
  $ dfan probe ../shared/media/*.mp4
  $ dfan probe "Fear/[HD]Scary(2)^x=1.wmv" --json

ffmpeg: the system ffmpeg/ffprobe on PATH is used, else the npm packages @ffmpeg-installer/ffmpeg
and @ffprobe-installer/ffprobe; DFAN_FFMPEG / DFAN_FFPROBE choose the binaries explicitly.`;

function fmtDuration(s: number): string {
  if (s < 60) return `${s.toFixed(2)} s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s - h * 3600 - m * 60;
  return `${h ? `${h}:${String(m).padStart(2, '0')}` : m}:${sec.toFixed(2).padStart(5, '0')}`;
}

export function register(program: Command): void {
  program
    .command('probe')
    .description('what ffprobe sees in a video: duration, fps, frames, size, rotation, codec, audio')
    .argument('<video...>', 'one or more video files')
    .option('--json', 'print a JSON array of VideoInfo objects')
    .addHelpText('after', EXAMPLES)
    .action(async (videos: string[], opts: { json?: boolean }) => {
      const { probe } = await import('../video/index.js');
      const { describeError, DfanError } = await import('../errors.js');
      const results: Array<{ path: string; info?: Awaited<ReturnType<typeof probe>>; error?: unknown }> = [];
      for (const v of videos) {
        try {
          results.push({ path: v, info: await probe(v) });
        } catch (e) {
          results.push({ path: v, error: e });
        }
      }
      const failed = results.filter((r) => r.error);
      if (videos.length === 1 && failed.length === 1) throw failed[0].error;
      if (opts.json) {
        const out = results.map((r) =>
          r.info
            ? r.info
            : {
                path: r.path,
                error: describeError(r.error),
                code: r.error instanceof DfanError ? r.error.code : 'INTERNAL',
              },
        );
        process.stdout.write(`${JSON.stringify(videos.length === 1 ? out[0] : out, null, 2)}\n`);
      } else {
        const head = ['video', 'duration', 'fps (avg)', 'frames', 'size', 'rot', 'codec', 'audio'];
        const rows = results
          .filter((r) => r.info)
          .map(({ info: i }) => {
            const x = i!;
            return [
              x.path,
              fmtDuration(x.duration),
              `${+x.fps.toFixed(3)} (${+x.avgFps.toFixed(3)})`,
              x.frameCount === null ? '?' : String(x.frameCount),
              `${x.width}×${x.height}${x.rotation ? ` → ${x.displayWidth}×${x.displayHeight}` : ''}`,
              `${x.rotation}°`,
              x.codec,
              x.hasAudio ? (x.audioCodec ?? 'yes') : 'none',
            ];
          });
        if (rows.length) {
          const w = head.map((h, k) => Math.max([...h].length, ...rows.map((r) => [...r[k]].length)));
          const line = (r: string[]) =>
            r
              .map((c, k) => c + ' '.repeat(w[k] - [...c].length))
              .join('  ')
              .trimEnd();
          process.stdout.write(`${line(head)}\n${rows.map(line).join('\n')}\n`);
        }
      }
      for (const f of failed) process.stderr.write(`dfan: ${describeError(f.error)}\n`);
      if (failed.length) process.exitCode = 1;
    });
}
