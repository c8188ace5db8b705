import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseNumber } from '../../src/commands/numbers.js';
import { isDfanError } from '../../src/errors.js';
import { runCliSync } from '../helpers/cli.js';

const badArgument = (message: RegExp) => (e: unknown) =>
  isDfanError(e) && e.code === 'BAD_ARGUMENT' && message.test(e.message);

test('parseNumber: integers by default, ranges inclusive, the message names option, range and value', () => {
  assert.equal(parseNumber('--top', '3', { min: 1 }), 3);
  assert.equal(parseNumber('-T', '256', { min: 1, max: 256 }), 256);
  assert.equal(parseNumber('--seed', '-4'), -4);
  assert.equal(parseNumber('--lr', '1e-3', { integer: false }), 0.001);
  assert.throws(
    () => parseNumber('-T', '0', { min: 1, max: 256 }),
    badArgument(/^-T must be an integer from 1 to 256 \(got "0"\)$/),
  );
  assert.throws(
    () => parseNumber('--top', '2.5', { min: 1 }),
    badArgument(/--top must be an integer ≥ 1 \(got "2.5"\)/),
  );
  assert.throws(
    () => parseNumber('--lr', 'abc', { integer: false }),
    badArgument(/--lr must be a number \(got "abc"\)/),
  );
  // Number('') is 0 and Number('Infinity') is finite-looking text: neither is a value
  assert.throws(() => parseNumber('--grace', '', { min: 0 }), badArgument(/--grace/));
  assert.throws(() => parseNumber('--lr', 'Infinity', { integer: false }), badArgument(/--lr/));
});

test('a bad number on any command is a usage error (exit 2) naming the option, never an "unexpected error"', () => {
  const cases: string[][] = [
    ['train', '--features', 'f', '--dataset', 'd.csv', '--out', 'r', '--lr', 'abc'],
    ['train', '--features', 'f', '--dataset', 'd.csv', '--out', 'r', '--split', '0'],
    ['eval', '--run', 'r', '--dataset', 'd.csv', '--split-number', 'x'],
    ['predict', 'clip.mp4', '--top', '0'],
    ['demo', '--seed', '1.5'],
    ['queue', 'status', '--recent', 'many'],
  ];
  for (const args of cases) {
    const r = runCliSync(args);
    const option = args.find((a, i) => a.startsWith('-') && i === args.length - 2) ?? '';
    assert.equal(r.status, 2, `dfan ${args.join(' ')}: exit ${r.status}, stderr ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`${option} must be`), `dfan ${args.join(' ')}: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /unexpected error/);
  }
});
