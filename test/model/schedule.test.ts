/** The training schedule rule: steps whatever the size, validation only when it can mean something. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_TRAIN } from '../../src/model/config.js';
import { planSchedule, trailingMean } from '../../src/model/schedule.js';

test('a 96-video set: no validation slice, ≥ 600 steps, weights averaged, and the note says why', () => {
  const s = planSchedule(DEFAULT_TRAIN, 96);
  assert.equal(s.carveValidation, false);
  assert.equal(s.select, false);
  assert.equal(s.patience, 0);
  assert.ok(s.epochs * Math.ceil(96 / 32) >= 600, `${s.epochs} epochs`);
  assert.ok(s.averageLast > 1);
  assert.match(s.note, /too small to choose an epoch/);
});

test('an Ekman-6-sized split: validation carved, 30 epochs already give ≥ 600 steps', () => {
  const s = planSchedule(DEFAULT_TRAIN, 819);
  assert.equal(s.carveValidation, true);
  assert.equal(s.select, true);
  assert.equal(s.epochs, 30);
  assert.ok(s.patience >= 8);
  assert.match(s.note, /82 videos carved/);
});

test('5,000 videos: 30 epochs; a dataset val split is used when big enough and only reported when not', () => {
  assert.equal(planSchedule(DEFAULT_TRAIN, 5000).epochs, 30);
  const own = planSchedule(DEFAULT_TRAIN, 200, { hasOwnValidation: 60 });
  assert.equal(own.carveValidation, false);
  assert.equal(own.select, true);
  const small = planSchedule(DEFAULT_TRAIN, 200, { hasOwnValidation: 12 });
  assert.equal(small.select, false);
  assert.match(small.note, /only reported/);
});

test('explicit settings win: --epochs, --patience (0 = never stop early), --min-validation 0', () => {
  assert.equal(planSchedule({ ...DEFAULT_TRAIN, patience: 0 }, 819).patience, 0);
  const s = planSchedule({ ...DEFAULT_TRAIN, epochs: 12, patience: 3, minValidation: 0 }, 96);
  assert.equal(s.epochs, 12);
  assert.equal(s.select, true);
  assert.equal(s.patience, 3);
  assert.equal(planSchedule({ ...DEFAULT_TRAIN, valFraction: 0 }, 5000).select, false);
});

test('trailingMean smooths over the window', () => {
  assert.equal(trailingMean([1, 0, 1, 1], 0, 3), 1);
  assert.equal(trailingMean([1, 0, 1, 1], 3, 3), 2 / 3);
});
