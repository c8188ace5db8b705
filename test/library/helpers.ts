/** Holding the library's answers beside the CLI's (test/helpers/cli.ts runs the CLI). */

/** A Prediction as JSON without `elapsed`, the one field that differs between two runs of one clip. */
export function timeless(p: object): object {
  const { elapsed: _elapsed, ...rest } = JSON.parse(JSON.stringify(p)) as { elapsed?: number };
  return rest;
}
