/**
 * Whether a model's labels are emotions: the heading the terminal, the HTML report and the web
 * page put over the probabilities ("emotion", or "class" for a run trained on other classes, e.g.
 * the demo's animal / food / plant / vehicle).
 */
import { VE8_CLASSES } from '../data/ve8-splits.js';
import { FACE_EXPRESSIONS } from '../features/types.js';
import { EKMAN6 } from './zero-shot.js';

/** Emotion words, lower case: Ekman-6, VideoEmotion-8, face expressions, Mikels' 8, polarity. */
const EMOTION_WORDS = new Set(
  [
    ...EKMAN6,
    ...VE8_CLASSES,
    ...FACE_EXPRESSIONS,
    ...['amusement', 'awe', 'contentment', 'excitement', 'happiness'],
    ...['positive', 'negative', 'contempt'],
  ].map((w) => w.toLowerCase()),
);

/** "emotion" when every label is an emotion word, else "class". */
export function labelsHeading(labels: Array<{ label: string }>): 'emotion' | 'class' {
  return labels.length > 0 && labels.every((l) => EMOTION_WORDS.has(l.label.trim().toLowerCase()))
    ? 'emotion'
    : 'class';
}
