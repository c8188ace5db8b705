/**
 * The native engine's parameters: plain Float32Arrays under the names of paramSpecs (dfan.ts:
 * spatial.object.W, temporal.Q, …). Which ones a unit reads comes from the resolved architecture
 * (architecture.ts); a name the architecture promises but the values lack is an error, never a
 * signal to skip a term.
 */

export type Params = Record<string, Float32Array>;

/** The parameter `name` (one the resolved architecture declares). */
export function param(p: Params, name: string): Float32Array {
  const a = p[name];
  if (!a) throw new Error(`native engine: missing parameter ${name}`);
  return a;
}
