/**
 * The simulator against recorded bytes (issue 14): each llama.cpp recording is
 * replayed byte for byte from a loopback server, then the same request goes to
 * the simulator emulating that build (`llamacpp@b4748`, `llamacpp@2026`) and the
 * two answers are compared field by field: status, the headers that matter, and
 * every event's structure — its kind (`data:`, `error:`, `[DONE]`), its keys in
 * order, the type of every value, and the values that carry meaning (`object`,
 * `finish_reason`, `role`, an error's `type`). Text, ids, counts and timings
 * differ because the models do; runs of events with one structure count once.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/sim/index.js';
import { post } from './helpers.js';

const FIXTURES = join(import.meta.dirname, '../fixtures');

interface Recording {
  /** Where it is (for messages). */
  file: string;
  method: string;
  path: string;
  body: unknown;
  status: number;
  headers: Record<string, string>;
  bytes: Buffer;
}

/** Splits `HTTP/1.1 200 OK\r\nName: value\r\n…\r\n\r\nbody` into its parts. */
function parseResponse(raw: Buffer): Pick<Recording, 'status' | 'headers' | 'bytes'> {
  const end = raw.indexOf('\r\n\r\n');
  const head = raw.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(head[0].split(' ')[1]);
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status, headers, bytes: raw.subarray(end + 4) };
}

/** A 2026 recording: `NN_name.req` (request) and `NN_name.txt` (whole response). */
function recording2026(name: string): Recording {
  const dir = join(FIXTURES, 'llamacpp-2026/examples');
  const [target, body] = readFileSync(join(dir, `${name}.req`), 'utf8').split('\n');
  const [, method, url] = /^### (\w+) (\S+)/.exec(target)!;
  const json = body.replace(/^### body: /, '');
  return {
    file: `llamacpp-2026/examples/${name}.txt`,
    method,
    path: new URL(url).pathname,
    body: json === '' ? undefined : json.startsWith('{') ? JSON.parse(json) : json,
    ...parseResponse(readFileSync(join(dir, `${name}.txt`))),
  };
}

/** A b4748 recording: body in `file`, status and headers in `file.headers` (or all in one .txt). */
function recordingB4748(file: string, method: string, path: string, body: unknown): Recording {
  const dir = join(FIXTURES, 'llamacpp');
  const parts = file.endsWith('.txt')
    ? parseResponse(readFileSync(join(dir, file)))
    : {
        ...parseResponse(Buffer.concat([readFileSync(join(dir, `${file}.headers`)), Buffer.from('\r\n')])),
        bytes: readFileSync(join(dir, file)),
      };
  return { file: `llamacpp/${file}`, method, path, body, ...parts };
}

/** Values whose content (not only type) is part of the wire's structure. */
const MEANINGFUL = new Set(['object', 'finish_reason', 'role', 'type', 'stop', 'stop_type']);
/** Subtrees the simulator abridges on purpose (documented in wire-llamacpp.ts). */
const ABRIDGED = new Set(['generation_settings']);

function shape(value: unknown, key = ''): string {
  if (ABRIDGED.has(key)) return 'abridged';
  if (value === null) return 'null';
  if (Array.isArray(value)) return value.length === 0 ? '[]' : `[${shape(value[0])}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).map(([k, v]) => `${k}:${shape(v, k)}`);
    return `{${entries.join(',')}}`;
  }
  if (MEANINGFUL.has(key)) return JSON.stringify(value);
  return typeof value;
}

/** The structure of a body: one line per event (runs of the same structure collapsed), or the JSON's shape. */
function structure(bytes: Buffer, contentType: string): string[] {
  const text = bytes.toString('utf8');
  if (!contentType.startsWith('text/event-stream')) return [shape(JSON.parse(text))];
  const events = text.split('\n\n').filter((block) => block !== '');
  const lines: string[] = [];
  for (const event of events) {
    let line: string;
    if (event === 'data: [DONE]') line = '[DONE]';
    else if (event.startsWith('data: ')) line = `data ${shape(JSON.parse(event.slice(6)))}`;
    else if (event.startsWith('error: ')) line = `error ${shape(JSON.parse(event.slice(7)))}`;
    else line = `other ${event.slice(0, 20)}`;
    if (lines.at(-1) !== line) lines.push(line);
  }
  return lines;
}

/** Serves the recorded response byte for byte (status, headers, body) on loopback. */
async function replay(recording: Recording): Promise<Buffer> {
  const server = createServer((req, res) => {
    const headers = { ...recording.headers };
    delete headers['transfer-encoding'];
    delete headers['content-length'];
    res.writeHead(recording.status, headers);
    res.end(recording.bytes);
    req.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as { port: number };
    const got = await post(`http://127.0.0.1:${port}`, recording.path, recording.body, {}, recording.method);
    expect(got.status).toBe(recording.status);
    return got.body;
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

/** Headers whose presence and value are part of the wire (the rest vary: dates, lengths). */
const COMPARED_HEADERS = ['server', 'content-type', 'access-control-allow-origin'];

async function compare(sim: Simulator, recording: Recording, simHeaders: Record<string, string> = {}) {
  // The recording itself goes over a socket unchanged.
  expect((await replay(recording)).equals(recording.bytes), `${recording.file} replays byte for byte`).toBe(
    true,
  );
  const got = await post(sim.url, recording.path, recording.body, simHeaders, recording.method);
  expect(got.status, recording.file).toBe(recording.status);
  for (const name of COMPARED_HEADERS) {
    expect(got.headers[name], `${recording.file}: header ${name}`).toBe(recording.headers[name]);
  }
  const contentType = recording.headers['content-type'] ?? '';
  expect(structure(got.body, contentType), recording.file).toEqual(structure(recording.bytes, contentType));
}

describe('llamacpp@2026 against the 2026 master recordings (b10587)', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ dialect: 'llamacpp@2026' });
  });
  afterAll(() => sim.close());

  it.each([
    '01_v1cmpl_stream_plain',
    '02_v1cmpl_stream_logprobs1',
    '07_v1cmpl_stream_include_usage',
    '10_chat_stream_plain',
    '11_chat_stream_include_usage',
    '12_chat_stream_logprobs',
    '20_native_completion_stream_rt',
    '13_chat_stream_logprobs_top2',
    '76_chat_stream_include_usage_false',
    '70_v1cmpl_stream_missing_prompt',
    '79_unknown_endpoint',
  ])('%s', async (name) => {
    await compare(sim, recording2026(name));
  });

  it('a mid-stream error (60: the shared context filled) is one data: {"error"} line, then the end', async () => {
    const recording = recording2026('60_c64_concurrent_v1cmpl_stream');
    await compare(sim, recording, { 'x-sim-fault': 'error-after:5' });
  });

  it('a prompt that does not fit the context is HTTP 400 exceed_context_size_error (50)', async () => {
    const small = await startSimulator({ dialect: 'llamacpp@2026', maxModelLen: 256 });
    try {
      const recording = recording2026('50_c64_v1cmpl_stream_longprompt');
      // The same 300-token prompt, in ids the sim's smaller vocabulary has.
      const body = recording.body as { prompt: number[] };
      await compare(small, {
        ...recording,
        body: { ...body, prompt: body.prompt.map((id) => 300 + (id % 200)) },
      });
    } finally {
      await small.close();
    }
  });
});

describe('llamacpp@b4748 against the b4748 recordings', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ dialect: 'llamacpp@b4748' });
  });
  afterAll(() => sim.close());

  const cmpl = { prompt: [1, 2, 3], max_tokens: 8, temperature: 0, stream: true };
  it.each([
    ['v1-completions-logprobs.sse', '/v1/completions', { ...cmpl, logprobs: 1 }],
    [
      'v1-chat-stream.sse',
      '/v1/chat/completions',
      { messages: [{ role: 'user', content: 'Hello world' }], max_tokens: 8, stream: true },
    ],
    ['native-completion.sse', '/completion', { prompt: [1, 2, 3], n_predict: 8, stream: true }],
    ['error-http-missing-prompt.txt', '/v1/completions', { max_tokens: 8, stream: true }],
  ] as const)('%s', async (file, path, body) => {
    await compare(sim, recordingB4748(file, 'POST', path, body));
  });

  it('error-in-stream.sse: tokens, then the non-standard error: line and [DONE]', async () => {
    const recording = recordingB4748('error-in-stream.sse', 'POST', '/v1/completions', {
      ...cmpl,
      max_tokens: 200,
    });
    await compare(sim, recording, { 'x-sim-fault': 'error-after:13' });
  });
});
