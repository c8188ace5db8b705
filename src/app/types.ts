/** The prediction contract (DESIGN.md): what `dfan predict --json` prints and the server returns. */

export interface LabelProb {
  label: string;
  prob: number;
}

export interface SnippetWeight {
  start: number;
  end: number;
  weight: number;
}

export interface SpatialGrid {
  snippet: number;
  /** [H][W], sums to 1 */
  grid: number[][];
}

export interface ModelDescriptor {
  /** e.g. "zero-shot-face-expression" or the run folder name */
  name: string;
  /** 'zero-shot' | 'trained' | 'untrained' — always shown to users */
  kind: 'zero-shot' | 'trained' | 'untrained';
  description: string;
}

export interface Prediction {
  video: string;
  duration: number;
  model: ModelDescriptor;
  labels: LabelProb[]; // sorted by prob, descending
  snippets: SnippetWeight[]; // temporal focus, weights sum to 1
  spatial: Record<string, SpatialGrid[]>;
  warnings?: string[];
}
