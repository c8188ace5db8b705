/**
 * Which part of the displayed frame a map stream's grid spans (Region, src/backbones/streams.ts).
 * New feature files carry it per video; older ones were made with a centre crop onto a square.
 */
import { gridRegion } from '../backbones/preprocess.js';
import type { Region, StreamInfo } from '../backbones/streams.js';

/** The region of a map stream for a frame of width×height (display pixels). */
export function mapRegion(
  info: Pick<StreamInfo, 'fit' | 'inputAspect' | 'region'>,
  width: number,
  height: number,
): Region {
  if (info.region) return info.region;
  const aspect = info.inputAspect ?? 1;
  return gridRegion(width, height, aspect, 1, info.fit ?? 'crop');
}

/** Stream infos with each map stream's region for this frame size filled in. */
export function withRegions(streams: StreamInfo[], width: number, height: number): StreamInfo[] {
  return streams.map((s) =>
    s.kind === 'map' && !s.region && s.fit ? { ...s, region: mapRegion(s, width, height) } : s,
  );
}
