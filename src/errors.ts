/**
 * Typed, user-facing errors. Every error dfan raises on purpose is a DfanError: it names the
 * file (when there is one), says what was wrong and what to do. The CLI prints it on one line
 * and exits with `exitCode`; stack traces only with --debug.
 */
export type DfanErrorCode =
  | 'NOT_FOUND' // path does not exist
  | 'IS_DIRECTORY' // a file was expected
  | 'EMPTY_FILE'
  | 'NOT_A_VIDEO' // ffprobe found no video stream or could not read the container
  | 'NO_VIDEO_STREAM' // e.g. audio-only file
  | 'ZERO_LENGTH' // container with no frames / duration 0
  | 'CORRUPT' // truncated or corrupt stream
  | 'FFMPEG_MISSING'
  | 'FFMPEG_FAILED'
  | 'BAD_ARGUMENT' // a CLI flag or API argument is invalid
  | 'BAD_MANIFEST' // dataset / backbone / pack manifest is invalid
  | 'BAD_FEATURES' // feature file truncated, foreign or inconsistent
  | 'MODEL_MISSING' // weights / pack not installed
  | 'CHECKSUM' // sha256 mismatch
  | 'INTERRUPTED'
  | 'SOME_FAILED' // a batch finished but some items failed
  | 'MATERIAL_MISSING' // the demo's real photos or footage are not on this machine
  | 'QUEUE_UNAVAILABLE' // the job queue's Redis cannot be reached (dfan --queue)
  | 'INTERNAL';

export class DfanError extends Error {
  readonly code: DfanErrorCode;
  readonly file?: string;
  readonly hint?: string;
  readonly exitCode: number;

  constructor(
    code: DfanErrorCode,
    message: string,
    opts: { file?: string; hint?: string; cause?: unknown; exitCode?: number } = {},
  ) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = 'DfanError';
    this.code = code;
    this.file = opts.file;
    this.hint = opts.hint;
    this.exitCode = opts.exitCode ?? (code === 'BAD_ARGUMENT' ? 2 : 1);
  }

  /** One line for the terminal: `<file>: <message> — <hint>` */
  oneLine(): string {
    const where = this.file ? `${this.file}: ` : '';
    const hint = this.hint ? ` (${this.hint})` : '';
    return `${where}${this.message}${hint}`;
  }
}

export function isDfanError(e: unknown): e is DfanError {
  return e instanceof DfanError;
}

/** Turn any thrown value into a one-line message (for batch failure lists). */
export function describeError(e: unknown): string {
  if (e instanceof DfanError) return e.oneLine();
  if (e instanceof Error) return e.message.split('\n')[0] ?? String(e);
  return String(e);
}
