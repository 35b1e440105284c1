/**
 * The byte-level fast path is held to exactness: the SSE parser's `onEventBytes`
 * hook must see exactly the events it may take (and the rest must come out as
 * before), and the dialect's template decoder must make the same sink calls as
 * the full JSON path, chunk by chunk — on random chunks, the bench generator's
 * stream and the recorded llama.cpp fixtures, through the whole client.
 */
import { readdirSync } from 'node:fs';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { encodeStream } from '../../bench/stream-gen.mjs';
import type { DecodeSink } from '../../src/dialects/dialect.js';
import { fastDecodeCompletionBytes } from '../../src/dialects/fast-chunk.js';
import { learnCompletionTemplate, newFastState } from '../../src/dialects/fast-chunk-learn.js';
import { llamacpp } from '../../src/dialects/llamacpp.js';
import { sglang } from '../../src/dialects/sglang.js';
import { vllm } from '../../src/dialects/vllm.js';
import { Client } from '../../src/index.js';
import { type SseEvent, SseParser } from '../../src/sse/parser.js';
import { FIXTURES, fixture, recordedHead, startServer, type TestServer } from '../helpers/http-server.js';
import { anyStream, cuts } from '../sse/arbitraries.js';
import { splitAt } from '../sse/collect.js';

// ---- the SSE parser hook ---------------------------------------------------------------

type Entry =
  | { type: 'event'; event: SseEvent }
  | { type: 'bytes'; data: string }
  | { type: 'comment'; comment: string }
  | { type: 'retry'; ms: number };

/**
 * Runs a parser over `chunks`; `take(i)` says whether the hook takes the i-th event it
 * is offered (undefined: no hook at all). Every chunk is overwritten after its push,
 * so a parser that kept a reference to it would decode garbage.
 */
function runParser(chunks: readonly Uint8Array[], take?: (call: number) => boolean) {
  const log: Entry[] = [];
  const counters: [number, boolean][] = [];
  let calls = 0;
  const parser = new SseParser({
    onEvent: (event) => log.push({ type: 'event', event }),
    onComment: (comment) => log.push({ type: 'comment', comment }),
    onRetry: (ms) => log.push({ type: 'retry', ms }),
    onEventBytes:
      take === undefined
        ? undefined
        : (line, start, end) => {
            const data = line.toString('utf8', start, end);
            if (!take(calls++)) {
              log.push({ type: 'bytes', data: `declined:${data}` });
              return false;
            }
            log.push({ type: 'bytes', data });
            return true;
          },
  });
  try {
    for (const chunk of chunks) {
      const copy = Buffer.from(chunk);
      parser.push(copy);
      copy.fill(0x41);
      counters.push([parser.nonCommentLines, parser.pendingLineIsField]);
    }
    parser.end();
  } catch {
    log.push({ type: 'comment', comment: 'LIMIT' });
  }
  return { log, counters };
}

/** What a hooked log means as plain events (a taken event is `{event: '', data, no error}`; its id is dropped). */
function asEvents(log: readonly Entry[]): Entry[] {
  const out: Entry[] = [];
  for (const entry of log) {
    if (entry.type === 'bytes') {
      if (!entry.data.startsWith('declined:')) {
        out.push({ type: 'event', event: { event: '', data: entry.data, error: undefined, id: undefined } });
      }
    } else if (entry.type === 'event') {
      out.push({ type: 'event', event: { ...entry.event, id: undefined } });
    } else {
      out.push(entry);
    }
  }
  return out;
}

const bytes = (text: string) => Buffer.from(text, 'utf8');

/** anyStream's oddities interleaved with the plain one-line events the hook is for. */
const streamWithPlainEvents = fc
  .array(
    fc.oneof(
      anyStream(),
      fc
        .tuple(
          fc.constantFrom('', 'id: 3\n', ': keepalive\n'),
          fc.constantFrom('data: ', 'data:', 'data:  '),
          fc.string({ unit: fc.constantFrom('a', '{', '"', 'é', '🙂', ' ', ':'), maxLength: 8 }),
          fc.constantFrom('\n\n', '\r\n\r\n', '\r\r', '\n'),
        )
        .map(([before, field, value, end]) => bytes(`${before}${field}${value}${end}`)),
    ),
    { maxLength: 8 },
  )
  .map((parts) => Buffer.concat(parts));

describe('SseParser onEventBytes hook', () => {
  it('gets the raw value bytes of a one-line event, and onEvent is not called when it takes it', () => {
    const { log } = runParser([bytes('data: {"a":1}\n\ndata:x\n\n')], () => true);
    expect(log).toEqual([
      { type: 'bytes', data: '{"a":1}' },
      { type: 'bytes', data: 'x' },
    ]);
  });

  it('never gets multi-line, event: or error: events', () => {
    const stream =
      'data: a\ndata: b\n\nevent: x\ndata: c\n\nerror: e\ndata: d\n\ndata: f\nerror: g\n\nevent:\ndata: h\n\n';
    const { log } = runParser([bytes(stream)], () => true);
    expect(log.filter((entry) => entry.type === 'bytes')).toEqual([{ type: 'bytes', data: 'h' }]);
    expect(
      log.filter((entry) => entry.type === 'event').map((entry) => entry.type === 'event' && entry.event),
    ).toEqual([
      { event: '', data: 'a\nb', error: undefined, id: undefined },
      { event: 'x', data: 'c', error: undefined, id: undefined },
      { event: '', data: 'd', error: 'e', id: undefined },
      { event: '', data: 'f', error: 'g', id: undefined },
    ]);
  });

  it('does not get a line split across chunks, nor one whose blank line is in the next chunk', () => {
    const { log } = runParser(
      [bytes('data: ab'), bytes('c\n\ndata: def\n'), bytes('\ndata: g\n\n')],
      () => true,
    );
    expect(log).toEqual([
      { type: 'event', event: { event: '', data: 'abc', error: undefined, id: undefined } },
      { type: 'event', event: { event: '', data: 'def', error: undefined, id: undefined } },
      { type: 'bytes', data: 'g' },
    ]);
  });

  it('returning false gives onEvent the same event, id included', () => {
    const { log } = runParser([bytes('id: 7\ndata: é\n\n')], () => false);
    expect(log).toEqual([
      { type: 'bytes', data: 'declined:é' },
      { type: 'event', event: { event: '', data: 'é', error: undefined, id: '7' } },
    ]);
  });

  it('random streams, chunkings and hook answers: same events and counters as without the hook', () => {
    let taken = 0;
    fc.assert(
      fc.property(
        streamWithPlainEvents.chain((stream) =>
          fc.tuple(fc.constant(stream), cuts(stream.length), fc.integer()),
        ),
        ([stream, cutList, answers]) => {
          const chunks = splitAt(stream, cutList);
          const plain = runParser(chunks);
          const declining = runParser(chunks, () => false);
          const mixed = runParser(chunks, (call) => ((answers >>> (call % 31)) & 1) === 1);
          // Declining everything is the same as no hook, ids and all.
          expect(declining.log.filter((entry) => entry.type !== 'bytes')).toEqual(plain.log);
          expect(declining.counters).toEqual(plain.counters);
          expect(asEvents(mixed.log)).toEqual(asEvents(plain.log));
          expect(mixed.counters).toEqual(plain.counters);
          // Only one-line, untyped, error-less events are ever offered.
          for (let i = 0; i < declining.log.length; i++) {
            const entry = declining.log[i];
            if (entry.type !== 'bytes') continue;
            const next = declining.log[i + 1];
            expect(next?.type === 'event' && next.event).toMatchObject({ event: '', error: undefined });
            expect(next?.type === 'event' && next.event.data).toBe(entry.data.slice('declined:'.length));
          }
          taken += mixed.log.filter(
            (entry) => entry.type === 'bytes' && !entry.data.startsWith('declined:'),
          ).length;
        },
      ),
      { numRuns: 500 },
    );
    expect(taken).toBeGreaterThan(100);
  });
});

// ---- the template decoder against the full path --------------------------------------------

type Call = [string, ...unknown[]];

/** A sink that records every call (arrays copied, since a caller may reuse them). */
function recorder(withState: boolean): DecodeSink & { calls: Call[] } {
  const calls: Call[] = [];
  const record =
    (name: string) =>
    (...args: unknown[]) =>
      calls.push([name, ...args.map((arg) => (Array.isArray(arg) ? [...arg] : arg))]);
  return {
    calls,
    decoderState: withState ? newFastState() : undefined,
    tokens: record('tokens'),
    promptIds: record('promptIds'),
    completionIds: record('completionIds'),
    finish: record('finish'),
    usage: record('usage'),
    serverTokenCount: record('serverTokenCount'),
    end: record('end'),
    error: record('error'),
    contextTruncated: record('contextTruncated'),
    parseError: (preview: string) => calls.push(['parseError', preview]),
    reasoning: record('reasoning'),
    toolCall: record('toolCall'),
  };
}

const WIRE = { path: '/v1/completions', body: {} };

/** Decodes `data[start, end)` as base-stream does: the bytes hook first, else the full path. */
function decodeBoth(
  line: Buffer,
  start: number,
  end: number,
  fast: ReturnType<typeof recorder>,
  full: ReturnType<typeof recorder>,
) {
  const event: SseEvent = {
    event: '',
    data: line.toString('utf8', start, end),
    error: undefined,
    id: undefined,
  };
  vllm.decodeCompletion(event, full, WIRE);
  const took = vllm.decodeCompletionBytes!(line, start, end, fast);
  if (!took) vllm.decodeCompletion(event, fast, WIRE);
  return took;
}

/** Text that stresses the literal scanner: quotes, backslashes, controls, astral, lone surrogates. */
const nastyText = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.string({
    unit: fc.constantFrom(
      '"',
      '\\',
      '\n',
      '\t',
      '\u0000',
      '\u001f',
      '/',
      'é',
      '語',
      '🙂',
      '\ud800',
      '\udc00',
      'a',
      ' ',
    ),
    maxLength: 10,
  }),
  fc.string({
    unit: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)),
    maxLength: 6,
  }),
  fc.string({ unit: 'grapheme-ascii', minLength: 14, maxLength: 40 }),
);
const tokenIds = fc.array(
  fc.oneof(fc.nat({ max: 200_000 }), fc.constantFrom(0, 10, 999_999_999_999_999, 1_000_000_000_000_000)),
  { maxLength: 4 },
);

/** How one event of a stream deviates from the plain chunk. */
const variant = fc.oneof(
  { arbitrary: fc.constant('plain'), weight: 25 },
  {
    arbitrary: fc.constantFrom(
      'finish',
      'usage',
      'error',
      'promptIds',
      'logprobs',
      'twoChoices',
      'noChoices',
      'noIds',
      'space',
      'unicodeEscapes',
      'slashEscape',
      'upperHex',
      'leadingZero',
      'negativeId',
      'floatId',
      'hugeId',
      'mutate',
      'invalidUtf8',
      'trailingSpace',
      'trailingGarbage',
      'rawControl',
      'badEscape',
      'done',
    ),
    weight: 10,
  },
);

interface StreamShape {
  keys: [string, unknown][];
  choiceKeys: [string, unknown][];
  idsFirst: boolean;
}

const streamShape: fc.Arbitrary<StreamShape> = fc.record({
  keys: fc.shuffledSubarray([
    ['id', 'cmpl-x"\\y'],
    ['object', 'text_completion'],
    ['created', 1700000000],
    ['model', 'm/é'],
    ['system_fingerprint', null],
    ['extra', { nested: [1, 'two'] }],
    ['weird', '\u0000tw\u0000'],
  ] as [string, unknown][]),
  choiceKeys: fc.shuffledSubarray([
    ['index', 0],
    ['logprobs', null],
    ['finish_reason', null],
    ['stop_reason', null],
    ['other', 'x'],
  ] as [string, unknown][]),
  // vLLM's order mostly; ids before text (which the template does not learn) now and then.
  idsFirst: fc.oneof(
    { arbitrary: fc.constant(false), weight: 4 },
    { arbitrary: fc.constant(true), weight: 1 },
  ),
});

/** Escapes every non-ASCII UTF-16 unit of a JSON text as `\uXXXX` (lower or upper hex). */
function escapeNonAscii(json: string, upper: boolean): string {
  let out = '';
  for (let i = 0; i < json.length; i++) {
    const code = json.charCodeAt(i);
    if (code < 0x80) out += json[i];
    else {
      const hex = code.toString(16).padStart(4, '0');
      out += `\\u${upper ? hex.toUpperCase() : hex}`;
    }
  }
  return out;
}

/** The data bytes of one event of a stream with `shape`. */
function eventBytes(shape: StreamShape, text: string, ids: number[], kind: string, seed: number): Buffer {
  if (kind === 'done') return bytes('[DONE]');
  const choice: Record<string, unknown> = {};
  if (shape.idsFirst && kind !== 'noIds') choice.token_ids = ids;
  choice.text = text;
  for (const [key, value] of shape.choiceKeys) choice[key] = value;
  if (!shape.idsFirst && kind !== 'noIds') choice.token_ids = ids;
  if (kind === 'finish') choice.finish_reason = seed % 2 === 0 ? 'length' : 'error';
  if (kind === 'logprobs') choice.logprobs = { content: [{ id: 5, logprob: -0.5 }] };
  if (kind === 'promptIds') choice.prompt_token_ids = [1, 2];
  const json: Record<string, unknown> = {};
  for (const [key, value] of shape.keys) json[key] = value;
  json.choices =
    kind === 'twoChoices' ? [choice, { ...choice, index: 1 }] : kind === 'noChoices' ? [] : [choice];
  if (kind === 'usage') json.usage = { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 };
  if (kind === 'error') json.error = { message: 'boom', code: 500 };
  let data = JSON.stringify(json);
  const idsText = JSON.stringify(ids);
  switch (kind) {
    case 'space':
      data = data.replace(/,"/g, ', "');
      break;
    case 'unicodeEscapes':
    case 'upperHex':
      data = escapeNonAscii(data, kind === 'upperHex');
      break;
    case 'slashEscape': {
      const literal = JSON.stringify(text);
      data = data.replace(`"text":${literal}`, () => `"text":${literal.replace(/\//g, '\\/')}`);
      break;
    }
    case 'leadingZero':
      data = data.replace(idsText, () =>
        idsText === '[]' ? '[00]' : idsText.replace(/(\[|,)(\d)/, '$10$2'),
      );
      break;
    case 'negativeId':
      data = data.replace(idsText, () => (idsText === '[]' ? '[-1]' : idsText.replace('[', '[-')));
      break;
    case 'floatId':
      data = data.replace(idsText, () =>
        idsText === '[]' ? '[1.0]' : idsText.replace(/(\d)(\]|,)/, '$1.0$2'),
      );
      break;
    case 'hugeId':
      // Past 2^53 a digit-by-digit sum rounds differently from JSON.parse.
      data = data.replace(
        idsText,
        () => `[${['67880337072469623', '7067972273504965685174', '9007199254740993'][seed % 3]}]`,
      );
      break;
    case 'mutate': {
      const at = seed % (data.length + 1);
      const inserted = ['"', '\\', ']', ',', '0', ' ', '\u0001', '}', 'x', ''][seed % 10];
      data = data.slice(0, at) + inserted + data.slice(at + (seed % 3 === 0 ? 1 : 0));
      break;
    }
    case 'trailingSpace':
      data += ' ';
      break;
    case 'trailingGarbage':
      data += ['x', ']', '}', ',1'][seed % 4];
      break;
    case 'badEscape': {
      // Escapes JSON.parse rejects, at the start of the text literal.
      const at = data.indexOf('"text":"') + 8;
      data = `${data.slice(0, at)}${['\\u12G4', '\\x41', '\\u00e', '\\U0041', '\\u{41}'][seed % 5]}${data.slice(at)}`;
      break;
    }
    case 'rawControl': {
      // A raw control character inside the text literal: invalid JSON.
      const at = data.indexOf('"text":"') + 8 + (seed % 2);
      data = `${data.slice(0, at)}${['\u0001', '\t', '\u001f', '\u0000'][seed % 4]}${data.slice(at)}`;
      break;
    }
  }
  let out = bytes(data);
  if (kind === 'invalidUtf8') {
    // A bad byte sequence inside the text literal (or elsewhere when the text is short).
    const at = out.indexOf(bytes('"text":"')) + 8 + (seed % 3);
    const bad = [
      Buffer.from([0xff]),
      Buffer.from([0xc3]),
      Buffer.from([0xed, 0xa0, 0x80]),
      Buffer.from([0xe8, 0xaa]),
    ][seed % 4];
    out = Buffer.concat([out.subarray(0, at), bad, out.subarray(at)]);
  }
  return out;
}

describe('byte-level template decoder', () => {
  it('learns from a canonical vLLM chunk and decodes the next ones from bytes', () => {
    const state = newFastState();
    const first =
      '{"id":"c","object":"text_completion","choices":[{"index":0,"text":"a","logprobs":null,"finish_reason":null,"token_ids":[1]}]}';
    learnCompletionTemplate(first, JSON.parse(first), state);
    const template = state.template!;
    const head = '{"id":"c","object":"text_completion","choices":[{"index":0,"text":"';
    const middle = '","logprobs":null,"finish_reason":null,"token_ids":[';
    expect(template.bytes.toString()).toBe(`${head}${middle}]}]}`);
    expect([template.headLength, template.middleLength, template.tailLength]).toEqual([
      head.length,
      middle.length,
      4,
    ]);
    const sink = recorder(false);
    const line = bytes(
      `data: ${first.replace('"a"', '"\\"q\\u00e9\\ud83d\\ude42"').replace('[1]', '[10,0,7]')}\n123]}]}`,
    );
    expect(fastDecodeCompletionBytes(line, 6, line.indexOf(0x0a), sink, state)).toBe(true);
    expect(sink.calls).toEqual([['tokens', [10, 0, 7], '"qé🙂', undefined]]);
  });

  it('decodes short texts exactly while the shared text table fills, evicts and is hit from other streams', () => {
    // Texts of up to 32 bytes are looked up in a table shared by all streams (4,096 slots):
    // 12,000 distinct literals, each decoded three times from two streams in a random
    // order, force misses, hits and slots taken over by other literals.
    const first =
      '{"id":"c","object":"text_completion","choices":[{"index":0,"text":"a","logprobs":null,"finish_reason":null,"token_ids":[1]}]}';
    const streams = [newFastState(), newFastState()];
    for (const state of streams) learnCompletionTemplate(first, JSON.parse(first), state);
    const pieces = ['a', 'é', '🙂', '\\n', '\\"', '\\u00e9', ' ', 'Z', '\\t', '語', '9'];
    const texts = new Set<string>();
    let seed = 7;
    const random = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    while (texts.size < 12_000) {
      let literal = '';
      const count = 1 + Math.floor(random() * 8);
      for (let i = 0; i < count; i++) literal += pieces[Math.floor(random() * pieces.length)];
      if (Buffer.byteLength(literal) <= 40) texts.add(literal);
    }
    const literals = [...texts];
    const order = [...literals, ...literals, ...literals].map((literal) => ({ literal, key: random() }));
    order.sort((x, y) => x.key - y.key);
    let checked = 0;
    for (const [i, { literal }] of order.entries()) {
      const sink = recorder(false);
      const line = bytes(first.replace('"a"', `"${literal}"`).replace('[1]', `[${i}]`));
      expect(fastDecodeCompletionBytes(line, 0, line.length, sink, streams[i % 2])).toBe(true);
      expect(sink.calls).toEqual([['tokens', [i], JSON.parse(`"${literal}"`), undefined]]);
      checked++;
    }
    expect(checked).toBe(36_000);
  });

  it('learns from a chunk with spaces as the server wrote it, and decodes only lines spelled the same', () => {
    const state = newFastState();
    const first =
      '{"id": "c", "choices": [{"index": 0, "text": "a", "finish_reason": null, "token_ids": [1]}]}';
    learnCompletionTemplate(first, JSON.parse(first), state);
    expect(state.template).toBeDefined();
    const sink = recorder(false);
    const same = bytes(first.replace('"a"', '"b\\n"').replace('[1]', '[2,3]'));
    expect(fastDecodeCompletionBytes(same, 0, same.length, sink, state)).toBe(true);
    expect(sink.calls).toEqual([['tokens', [2, 3], 'b\n', undefined]]);
    // The same chunk without the spaces is other bytes: left to the full path.
    const canonical = bytes(JSON.stringify(JSON.parse(first)));
    expect(fastDecodeCompletionBytes(canonical, 0, canonical.length, sink, state)).toBe(false);
  });

  it('does not learn where the text or ids it would cut out are not choices[0] itself', () => {
    const declined = [
      // A duplicate key: JSON.parse keeps the last text, the search finds the first.
      '{"choices":[{"index":0,"text":"a","text":"b","finish_reason":null,"token_ids":[1]}]}',
      '{"choices":[{"index":0,"text":"a","finish_reason":null,"token_ids":[1],"token_ids":[2]}]}',
      // A key that ends in an escaped quote followed by text.
      '{"x\\"text":"z","choices":[{"index":0,"text":"a","finish_reason":null,"token_ids":[1]}]}',
      // "text" and "token_ids" of a nested object before the choice's own.
      '{"meta":{"text":"q","token_ids":[9]},"choices":[{"index":0,"text":"a","finish_reason":null,"token_ids":[1]}]}',
      // ids before text (vLLM's order is text first).
      '{"choices":[{"index":0,"token_ids":[1],"text":"a","finish_reason":null}]}',
    ];
    for (const data of declined) {
      const json = JSON.parse(data);
      const state = newFastState();
      learnCompletionTemplate(data, json, state);
      if (state.template === undefined) continue;
      // If one was learned after all, it must still decode exactly as the full path.
      const line = bytes(data);
      const sink = recorder(false);
      const decoded = fastDecodeCompletionBytes(line, 0, line.length, sink, state);
      expect(decoded ? sink.calls : [], data).toEqual(
        decoded ? [['tokens', json.choices[0].token_ids, json.choices[0].text, undefined]] : [],
      );
    }
    const nested = declined[3]!;
    const state = newFastState();
    learnCompletionTemplate(nested, JSON.parse(nested), state);
    expect(state.template).toBeUndefined();
  });

  it('does not learn from finished, usage, logprobs or id-less chunks', () => {
    const plain = { id: 'c', choices: [{ index: 0, text: 'a', finish_reason: null, token_ids: [1] }] };
    const declined = [
      JSON.stringify({ ...plain, usage: { prompt_tokens: 1 } }),
      JSON.stringify({ ...plain, choices: [{ ...plain.choices[0], finish_reason: 'stop' }] }),
      JSON.stringify({ ...plain, choices: [{ ...plain.choices[0], logprobs: { content: [] } }] }),
      JSON.stringify({ ...plain, choices: [{ index: 0, text: 'a' }] }),
      JSON.stringify({ ...plain, choices: [plain.choices[0], plain.choices[0]] }),
      JSON.stringify({ ...plain, prompt_token_ids: [1] }),
    ];
    for (const data of declined) {
      const state = newFastState();
      learnCompletionTemplate(data, JSON.parse(data), state);
      expect(state.template, data).toBeUndefined();
    }
    const state = newFastState();
    const good = JSON.stringify(plain);
    learnCompletionTemplate(good, JSON.parse(good), state);
    expect(state.template).toBeDefined();
  });

  it('stops trying to learn after a few chunks that never fit', () => {
    const sink = recorder(true);
    const data = '{"choices":[{"index":0,"text":"a","logprobs":{"content":[{"id":1,"logprob":0}]}}]}';
    for (let i = 0; i < 20; i++)
      vllm.decodeCompletion({ event: '', data, error: undefined, id: undefined }, sink, WIRE);
    expect(sink.decoderState?.learnBudget).toBe(0);
    expect(sink.decoderState?.template).toBeUndefined();
  });

  it('is offered only by dialects without extra completion decoding (llama.cpp reads logprobs ids)', () => {
    expect(vllm.decodeCompletionBytes).toBeTypeOf('function');
    // SGLang completions stream ids live like vLLM (its sglext is chat only).
    expect(sglang.decodeCompletionBytes).toBeTypeOf('function');
    expect(llamacpp.decodeCompletionBytes).toBeUndefined();
  });

  it('random streams of chunks: the same sink calls as the full path, event by event', () => {
    let hits = 0;
    let events = 0;
    fc.assert(
      fc.property(
        streamShape,
        fc.array(fc.tuple(nastyText, tokenIds, variant, fc.nat()), { minLength: 1, maxLength: 12 }),
        fc.uint8Array({ maxLength: 4 }),
        (shape, steps, trailer) => {
          const fast = recorder(true);
          const full = recorder(false);
          for (const [text, ids, kind, seed] of steps) {
            const data = eventBytes(shape, text, ids, kind, seed);
            // The value sits inside a bigger chunk, with bytes after it that look like more ids.
            const line = Buffer.concat([
              bytes('data: '),
              data,
              bytes('\n'),
              Buffer.from(trailer),
              bytes('7,8]}]}'),
            ]);
            if (decodeBoth(line, 6, 6 + data.length, fast, full)) hits++;
            events++;
            expect(fast.calls).toEqual(full.calls);
          }
        },
      ),
      { numRuns: 2000 },
    );
    // The property means something only if the fast path really decoded many events.
    expect(hits).toBeGreaterThan(events / 10);
  });
});

// ---- through the whole client ----------------------------------------------------------------

/** The client module with `TOKENWIRE_NO_FAST_PATH=1` seen at load (the switch is read once). */
async function clientWithoutFastPath(): Promise<typeof Client> {
  process.env.TOKENWIRE_NO_FAST_PATH = '1';
  try {
    vi.resetModules();
    return (await import('../../src/index.js')).Client;
  } finally {
    delete process.env.TOKENWIRE_NO_FAST_PATH;
    vi.resetModules();
  }
}

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** Serves `body` (split into `chunkBytes` writes) with the given status and headers. */
async function serve(
  body: Buffer,
  chunkBytes: number,
  status = 200,
  headers: Record<string, string> = { 'content-type': 'text/event-stream' },
) {
  server = await startServer((_req, res) => {
    res.writeHead(status, headers);
    for (let i = 0; i < body.length; i += chunkBytes) res.write(body.subarray(i, i + chunkBytes));
    res.end();
  });
  return server.url;
}

/** Everything a stream produced, minus timings. */
async function outcome(
  ClientClass: typeof Client,
  url: string,
  dialect: 'vllm' | 'llamacpp' | 'openai',
  native = false,
) {
  const client = new ClientClass({
    baseUrl: url,
    dialect,
    retry: false,
    failedRequestsDir: false,
    logger: () => {},
  });
  const events: unknown[] = [];
  let failure: unknown;
  try {
    for await (const event of client.streamCompletion({ prompt: [1, 2, 3], maxTokens: 8, native })) {
      if (event.type !== 'done') events.push(event);
      else {
        const { events: count, parseErrors, tokens, keepalives } = event.stats;
        events.push({ ...event, stats: { count, parseErrors, tokens, keepalives } });
      }
    }
  } catch (error) {
    const { code, message, partial } = error as { code: string; message: string; partial: unknown };
    failure = { code, message: message.replace(/127\.0\.0\.1:\d+/g, 'HOST'), partial };
  } finally {
    await client.close();
  }
  return { events, failure };
}

describe('the whole client with the fast path on and off', () => {
  it('the bench stream (escapes, UTF-8 split across reads) decodes identically, mostly on the fast path', async () => {
    const NoFast = await clientWithoutFastPath();
    const spy = vi.spyOn(vllm, 'decodeCompletionBytes');
    const body = encodeStream(7, 3000);
    for (const chunkBytes of [body.length, 4096, 333, 17]) {
      const url = await serve(body, chunkBytes);
      const on = await outcome(Client, url, 'vllm');
      const off = await outcome(NoFast, url, 'vllm');
      expect(on.failure).toBeUndefined();
      expect(on.events.length).toBe(3001);
      expect(on).toEqual(off);
      await server?.close();
      server = undefined;
    }
    // The switch really switches: only the default client took events from bytes.
    const taken = spy.mock.results.filter((result) => result.value === true).length;
    expect(taken).toBeGreaterThan(3000);
    spy.mockRestore();
  });

  const recorded = readdirSync(FIXTURES).filter((name) => name.endsWith('.sse'));
  it.each(recorded)('recorded %s decodes identically', async (name) => {
    const NoFast = await clientWithoutFastPath();
    const { status, headers } = recordedHead(fixture(`${name}.headers`).toString('utf8'));
    delete headers['content-length'];
    delete headers['transfer-encoding'];
    const native = name.includes('native');
    for (const dialect of ['vllm', 'llamacpp', 'openai'] as const) {
      if (native && dialect !== 'llamacpp') continue;
      for (const chunkBytes of [1 << 20, 64, 5]) {
        const url = await serve(fixture(name), chunkBytes, status, headers);
        const on = await outcome(Client, url, dialect, native);
        const off = await outcome(NoFast, url, dialect, native);
        expect(on).toEqual(off);
        await server?.close();
        server = undefined;
      }
    }
  });
});
