/** fast-check generators of SSE byte streams, for the parser's property tests. */
import fc from 'fast-check';

const utf8 = (text: string): Buffer => Buffer.from(text, 'utf8');

/** Characters that stress the parser: colons, spaces, NUL, multi-byte UTF-8, a BOM, digits. */
const valueChar = fc.constantFrom(
  'a',
  'z',
  '0',
  '7',
  ' ',
  ':',
  '\0',
  '\t',
  '{',
  '"',
  'é',
  '語',
  '😀',
  '\uFEFF',
);
const textValue = fc.array(valueChar, { maxLength: 8 }).map((chars) => utf8(chars.join('')));
/** Arbitrary bytes (invalid UTF-8 included) except line endings, which would end the value. */
const rawValue = fc
  .uint8Array({ maxLength: 6 })
  .map((bytes) => Buffer.from(bytes.filter((byte) => byte !== 0x0a && byte !== 0x0d)));

const terminator = fc.constantFrom('\n', '\r\n', '\r').map(utf8);

interface LineOptions {
  /** Include the non-standard `error:` field. */
  errorField: boolean;
  /** Include byte values that are not valid UTF-8. */
  invalidUtf8: boolean;
}

function value(options: LineOptions): fc.Arbitrary<Buffer> {
  return options.invalidUtf8
    ? fc.oneof({ arbitrary: textValue, weight: 4 }, { arbitrary: rawValue, weight: 1 })
    : textValue;
}

/** A non-blank line: a field (known, unknown, with or without colon/space), a comment or a retry. */
function nonBlankLine(options: LineOptions): fc.Arbitrary<Buffer> {
  const names = ['data', 'data', 'data', 'event', 'id', 'retry', 'foo', 'dat', 'Data', 'datax'];
  if (options.errorField) names.push('error', 'error');
  const field = fc
    .record({
      name: fc.constantFrom(...names),
      separator: fc.constantFrom('', ':', ': ', ':  '),
      value: value(options),
    })
    // A line without a colon is the field name alone.
    .map(({ name, separator, value }) =>
      separator === '' ? utf8(name) : Buffer.concat([utf8(name), utf8(separator), value]),
    );
  const comment = value(options).map((text) => Buffer.concat([utf8(':'), text]));
  const retry = fc
    .tuple(fc.constantFrom('retry:', 'retry: '), fc.stringMatching(/^[0-9]{1,20}$/))
    .map(([prefix, digits]) => utf8(prefix + digits));
  return fc.oneof(
    { arbitrary: field, weight: 6 },
    { arbitrary: comment, weight: 1 },
    { arbitrary: retry, weight: 1 },
  );
}

/** Any stream: optional BOM, lines with any endings, blank lines anywhere, an optional unterminated last line. */
export function anyStream(options: Partial<LineOptions> = {}): fc.Arbitrary<Buffer> {
  const lineOptions: LineOptions = { errorField: true, invalidUtf8: true, ...options };
  const line = fc.oneof(
    { arbitrary: nonBlankLine(lineOptions), weight: 3 },
    { arbitrary: fc.constant(Buffer.alloc(0)), weight: 1 },
  );
  return fc
    .record({
      bom: fc.boolean(),
      lines: fc.array(fc.tuple(line, terminator), { maxLength: 30 }),
      last: fc.option(nonBlankLine(lineOptions), { nil: undefined }),
    })
    .map(({ bom, lines, last }) =>
      Buffer.concat([
        bom ? Buffer.from([0xef, 0xbb, 0xbf]) : Buffer.alloc(0),
        ...lines.flat(),
        last ?? Buffer.alloc(0),
      ]),
    );
}

const isIdLine = (line: Buffer): boolean =>
  line.length >= 2 && line[0] === 0x69 && line[1] === 0x64 && (line.length === 2 || line[2] === 0x3a);
const isDataLine = (line: Buffer): boolean =>
  line.subarray(0, 4).toString('latin1') === 'data' && (line.length === 4 || line[4] === 0x3a);

/**
 * A spec-valid stream for the differential test against eventsource-parser: blocks
 * of lines, each ended by a blank line, no `error:` field, valid UTF-8, and
 * nothing pending at end of input (the places where tokenwire deliberately
 * differs). `id:` lines appear only in blocks that also have a `data:` line,
 * because an id in a block without data is carried to the next event by
 * tokenwire but dropped at the blank line by eventsource-parser.
 */
export function specStream(): fc.Arbitrary<Buffer> {
  const lineOptions: LineOptions = { errorField: false, invalidUtf8: false };
  const block = fc.array(fc.tuple(nonBlankLine(lineOptions), terminator), { maxLength: 6 }).chain((lines) => {
    const hasData = lines.some(([line]) => isDataLine(line));
    const kept = hasData ? lines : lines.filter(([line]) => !isIdLine(line));
    return terminator.map((blankEnd) => Buffer.concat([...kept.flat(), blankEnd]));
  });
  return fc.record({ bom: fc.boolean(), blocks: fc.array(block, { maxLength: 12 }) }).map(({ bom, blocks }) =>
    Buffer.concat([
      bom ? Buffer.from([0xef, 0xbb, 0xbf]) : Buffer.alloc(0),
      ...blocks,
      // A CR ending the last block plus this LF is one CRLF; the second LF is then the
      // blank line that dispatches anything still pending.
      utf8('\n\n'),
    ]),
  );
}

/** Cut offsets for a stream of `length` bytes (repeats give empty chunks). */
export function cuts(length: number): fc.Arbitrary<number[]> {
  return fc.array(fc.integer({ min: 0, max: length }), { maxLength: Math.min(length + 2, 60) });
}
