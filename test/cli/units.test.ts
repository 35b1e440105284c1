/** The CLI's pure pieces: the exit-code table, id parsing, the live display's cursor moves. */
import { describe, expect, test } from 'vitest';
import { parseIds } from '../../src/cli/args.js';
import { EXIT, exitCodeFor, UsageError } from '../../src/cli/exit-codes.js';
import { LiveOutput } from '../../src/cli/live.js';
import { type ErrorCode, TokenwireError } from '../../src/index.js';

describe('exit codes', () => {
  const cases: [ErrorCode, number][] = [
    ['invalid_option', 2],
    ['connection_refused', 3],
    ['connection_reset', 3],
    ['connection_error', 3],
    ['dns_error', 3],
    ['http_error', 4],
    ['connect_timeout', 5],
    ['headers_timeout', 5],
    ['first_token_timeout', 5],
    ['idle_timeout', 5],
    ['total_timeout', 5],
    ['stream_truncated', 6],
    ['protocol_error', 6],
    ['server_error', 6],
    ['unsupported', 7],
    ['aborted', 130],
  ];
  test.each(cases)('%s → %i', (code, exit) => {
    expect(exitCodeFor(new TokenwireError(code, { code, phase: 'stream' }))).toBe(exit);
  });
  test('usage errors → 2, anything else → 1', () => {
    expect(exitCodeFor(new UsageError('x'))).toBe(EXIT.usage);
    expect(exitCodeFor(new Error('x'))).toBe(EXIT.unexpected);
    expect(exitCodeFor('x')).toBe(EXIT.unexpected);
  });
});

describe('parseIds', () => {
  test.each([
    ['1,2,3', [1, 2, 3]],
    ['[1, 2, 3]\n', [1, 2, 3]],
    ['1 2  3', [1, 2, 3]],
    ['[7]', [7]],
    ['  42  ', [42]],
  ])('%j → %j', (text, ids) => {
    expect(parseIds(text)).toEqual(ids);
  });
  test.each(['', 'hello', '1,2,x', '1.5', '-1', '[1,2', '1,,2,a'])('%j is not an id list', (text) => {
    expect(parseIds(text)).toBeUndefined();
  });
});

/** A fake terminal stream that records writes. */
function terminal(columns = 20): NodeJS.WriteStream & { out: string } {
  const stream = {
    isTTY: true,
    columns,
    out: '',
    write(chunk: string) {
      stream.out += chunk;
      return true;
    },
  };
  return stream as unknown as NodeJS.WriteStream & { out: string };
}

describe('LiveOutput on one terminal', () => {
  test('the status goes below the text and the cursor comes back to the text end', () => {
    const tty = terminal();
    const live = new LiveOutput({ status: true, notes: true, stdout: tty, stderr: tty });
    live.startStatus(() => 'STATUS');
    live.write('stdout', 'hello');
    live.finish();
    expect(tty.out).toBe(
      '\r\x1b[J\x1b[2mSTATUS\x1b[22m\r' + // waiting: status on the empty line
        '\r\x1b[J' + // erased before the text
        'hello' +
        '\x1b[J\n\x1b[2mSTATUS\x1b[22m\x1b[1A\x1b[6G' + // below, then back to column 6
        '\x1b[J' + // finish: erased
        '\n',
    );
  });

  test('columns follow wrapping and wide characters', () => {
    const tty = terminal(20);
    const live = new LiveOutput({ status: true, notes: false, stdout: tty, stderr: tty });
    live.startStatus(() => 'S');
    live.write('stdout', '01234567890123456789ab');
    expect(tty.out.endsWith('\x1b[1A\x1b[3G')).toBe(true);
    live.write('stdout', '語');
    expect(tty.out.endsWith('\x1b[1A\x1b[5G')).toBe(true);
    live.write('stdout', 'x\ny');
    expect(tty.out.endsWith('\x1b[1A\x1b[2G')).toBe(true);
    live.finish();
  });

  test('notes wait while the text is mid-line, and print after it', () => {
    const tty = terminal();
    const live = new LiveOutput({ status: true, notes: true, stdout: tty, stderr: tty });
    live.startStatus(() => 'S');
    live.write('stdout', 'abc');
    live.note('tokenwire: resume');
    expect(tty.out).not.toContain('resume');
    live.finish();
    expect(tty.out.endsWith('\x1b[1A\x1b[4G\x1b[J\ntokenwire: resume\n')).toBe(true);
  });

  test('without a terminal, text is written as it is and notes at once', () => {
    const pipe = { ...terminal(), isTTY: false } as NodeJS.WriteStream & { out: string };
    pipe.write = (chunk: string) => {
      pipe.out += chunk;
      return true;
    };
    const live = new LiveOutput({ status: true, notes: true, stdout: pipe, stderr: pipe });
    live.startStatus(() => 'S');
    live.write('stdout', 'abc');
    live.note('note');
    live.finish();
    expect(pipe.out).toBe('abcnote\n');
  });
});
