/**
 * The one colour ramp of dfan's pictures (focus heatmaps, temporal strips, confusion matrices),
 * inferno-like: dark purple → red → orange → pale yellow, perceptually ordered and readable in
 * grey. This module imports nothing, so the web page loads the compiled file as it is
 * (`dfan serve` serves it at /ramp.js): the page and the reports colour with the same stops.
 */

/** Inferno-like stops at 0, 0.2, …, 1 (sRGB). */
export const HEAT_STOPS: ReadonlyArray<readonly [number, number, number]> = [
  [0, 0, 4],
  [66, 10, 104],
  [147, 38, 103],
  [221, 81, 58],
  [252, 165, 10],
  [252, 255, 164],
];

/** The ramp's colour for v in [0, 1] (clamped; NaN is 0), piecewise linear, rounded to bytes. */
export function heatColor(v: number): [number, number, number] {
  const t = Number.isFinite(v) ? Math.max(0, Math.min(1, v)) : 0;
  const x = t * (HEAT_STOPS.length - 1);
  const i = Math.min(HEAT_STOPS.length - 2, Math.floor(x));
  const f = x - i;
  const a = HEAT_STOPS[i];
  const b = HEAT_STOPS[i + 1];
  return [
    Math.round(a[0] + (b[0] - a[0]) * f),
    Math.round(a[1] + (b[1] - a[1]) * f),
    Math.round(a[2] + (b[2] - a[2]) * f),
  ];
}
