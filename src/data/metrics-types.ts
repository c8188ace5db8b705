/** The metrics contract (DESIGN.md), written by `dfan eval` and `dfan metrics`. */
export interface Metrics {
  accuracy: number;
  n: number;
  classes: string[];
  perClass: Record<string, { recall: number; precision: number; n: number }>;
  /** rows = true class, columns = predicted, in `classes` order */
  confusion: number[][];
}
