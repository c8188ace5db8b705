/**
 * What the research pack's streams are today, from the stream lines of an installed pack.json
 * (which predate revision 2): the object map sees the whole frame, stretched onto 224².
 * Kept apart from index.ts so `dfan pack list` can describe the pack without loading a backbone.
 */
import type { StreamInfo } from '../../features/types.js';

export const RESEARCH_PACK_ID = 'research';

/** Revision 2 of the research pack: the map stream sees the whole key frame (region [0,0,1,1]). */
export function researchStreamInfo(s: StreamInfo): StreamInfo {
  if (s.kind !== 'map') return s;
  return {
    ...s,
    fit: 'stretch',
    inputAspect: 1,
    description: `${s.description.replace(/\s*\(short side 256, centre crop 224\)/, '')} (whole frame stretched to 224²)`,
  };
}
