/**
 * The CLI reads integers and numbers as decimal text only: `Number()` alone would take
 * `1e3` as 1000, `0x10` as 16 and `99999999999999999999` as 100000000000000000000 (not
 * that integer), and send them.
 */
import { describe, expect, test } from 'vitest';
import { int, num } from '../../src/cli/args.js';
import { UsageError } from '../../src/cli/exit-codes.js';
import { runCli } from './run-cli.js';

describe.concurrent('tokenwire complete with a malformed integer is a usage error (exit 2), nothing sent', () => {
  test.each(['1e3', '0x10', '99999999999999999999', '1.0', '0b1', ' '])('--max-tokens %j', async (value) => {
    // Port 9 on loopback: were anything sent, the exit code would be 3 (connection refused).
    const result = await runCli([
      'complete',
      '--base-url',
      'http://127.0.0.1:9',
      '--tokens',
      '1',
      '--max-tokens',
      value,
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`invalid value for --max-tokens: ${JSON.stringify(value)}`);
  });
});

describe('int and num', () => {
  const usage = (fn: () => unknown) => expect(fn).toThrow(UsageError);
  test.each([
    '1e3',
    '0x10',
    '0o7',
    '0b1',
    '99999999999999999999',
    '9007199254740992',
    '1.5',
    '',
    'Infinity',
    '+',
    '1 2',
  ])('int rejects %j', (raw) => usage(() => int({ n: raw }, 'n', Number.NEGATIVE_INFINITY)));
  test.each([
    ['0', 0],
    ['7', 7],
    [' 12 ', 12],
    ['+3', 3],
    ['-5', -5],
    ['9007199254740991', 9007199254740991],
  ])('int takes %j', (raw, value) => expect(int({ n: raw }, 'n', Number.NEGATIVE_INFINITY)).toBe(value));
  test('int keeps its minimum', () => {
    usage(() => int({ n: '0' }, 'n', 1));
    expect(int({ n: '1' }, 'n', 1)).toBe(1);
  });
  test.each(['0x1', '1e', 'Infinity', '-Infinity', 'NaN', '', '.', '1..2', '1e999'])(
    'num rejects %j',
    (raw) => usage(() => num({ n: raw }, 'n')),
  );
  test.each([
    ['0.7', 0.7],
    ['.5', 0.5],
    ['1.', 1],
    ['-1', -1],
    ['1e-3', 0.001],
  ])('num takes %j', (raw, value) => expect(num({ n: raw }, 'n')).toBe(value));
});
