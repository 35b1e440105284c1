/**
 * The dialect matrix (issue 14): for every row of the wire-facts table × completions
 * and chat, the real Client against the simulator emulating that row's version. What
 * is expected is read from the row itself (never restated here): ids live or at the
 * end, server usage or computed, every HTTP error status it lists (and, for the causes a
 * client can provoke — a prompt past the context, a missing prompt — the row's body fields and
 * message), its in-stream error, its refusals, and resume exactly where it says resume is
 * possible. Causes no client request can provoke (malformed JSON, an unknown path) are left to
 * test/sim/recorded-compare.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WIRE_FACTS, type WireFacts, wireFactsFor } from '../../src/dialects/wire-facts.js';
import type { ChatEvent, ClientOptions, CompletionEvent, TokenwireError } from '../../src/index.js';
import {
  generate,
  SIM_VERSIONS,
  type Simulator,
  type SimulatorOptions,
  startSimulator,
  tokenize,
} from '../../src/sim/index.js';
import { renderChat } from '../../src/sim/request.js';
import { BOS_ID, VOCAB } from '../../src/sim/vocab.js';
import { caught, testClient } from '../helpers/client.js';

const KINDS = ['completions', 'chat'] as const;
type Kind = (typeof KINDS)[number];
/** Tokens per stream, and where a broken stream breaks (0 < BREAK < N). */
const N = 8;
const BREAK = 3;
const PROMPT = [1, 17, 29, 301];
const MESSAGES = [{ role: 'user' as const, content: 'Say something.' }];
const FAST_RETRY = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5, resume: true };

/** The prompt ids the simulator generates from: the ids sent, or its chat template's (llama.cpp adds BOS). */
function promptOf(row: WireFacts, kind: Kind): number[] {
  if (kind === 'completions') return PROMPT;
  const ids = tokenize(renderChat(MESSAGES, false));
  return row.dialect === 'llamacpp' ? [BOS_ID, ...ids] : ids;
}

/**
 * A seed whose streams have no token ending inside a UTF-8 character (llama.cpp sends no
 * id for those, and an empty text cannot be resumed from), for every prompt used here.
 */
const SEED = (() => {
  const prompts = [PROMPT, tokenize(renderChat(MESSAGES, false))];
  prompts.push([BOS_ID, ...prompts[1]]);
  for (let seed = 1; seed < 500; seed++) {
    if (prompts.every((prompt) => generate(prompt, N, { seed }).every((id) => !VOCAB.completion.has(id))))
      return seed;
  }
  throw new Error('no clean seed below 500');
})();

/** The client's dialect: detected for servers that say their version, named for hosted ones. */
function clientDialect(row: WireFacts): ClientOptions['dialect'] {
  return row.detection.path !== undefined ? 'auto' : row.dialect;
}

interface Run {
  /** Per token event: its ids (completions: one id or none; chat: the text event's ids). */
  eventIds: (number[] | undefined)[];
  text: string;
  done: Extract<CompletionEvent | ChatEvent, { type: 'done' }>;
}

interface RunOptions {
  headers?: Record<string, string>;
  client?: ClientOptions;
  request?: Record<string, unknown>;
}

async function run(sim: Simulator, row: WireFacts, kind: Kind, options: RunOptions = {}): Promise<Run> {
  const { client } = testClient(sim.url, {
    dialect: clientDialect(row),
    headers: { 'x-sim-seed': String(SEED), ...options.headers },
    ...options.client,
  });
  try {
    const eventIds: (number[] | undefined)[] = [];
    let text = '';
    let done: Run['done'] | undefined;
    if (kind === 'completions') {
      for await (const event of client.streamCompletion({
        prompt: PROMPT,
        maxTokens: N,
        ...options.request,
      })) {
        if (event.type === 'done') done = event;
        else {
          eventIds.push(event.id === undefined ? undefined : [event.id]);
          text += event.text;
        }
      }
    } else {
      for await (const event of client.streamChat({ messages: MESSAGES, maxTokens: N, ...options.request })) {
        if (event.type === 'done') done = event;
        else if (event.type === 'text') {
          eventIds.push(event.ids);
          text += event.text;
        }
      }
    }
    if (done === undefined) throw new Error('the stream ended without a done event');
    return { eventIds, text, done };
  } finally {
    await client.close();
  }
}

/** The server's own message in an error body, wherever its shape keeps it. */
function serverMessage(body: string | undefined): string {
  const json = JSON.parse(body ?? 'null');
  if (typeof json?.error === 'string') return json.error;
  return String(json?.error?.message ?? json?.message);
}

/** An error body's shape: nested `{"error":{…}}`, flat `{"object":"error",…}`, or `{"error":"…"}`. */
function bodyShape(body: string): string {
  const json = JSON.parse(body.replace('…', ''));
  if (typeof json.error === 'string') return 'string';
  if (json.error !== null && typeof json.error === 'object') return 'nested';
  return json.object === 'error' ? 'flat' : 'other';
}

describe('every wire-facts row is emulated by the simulator', () => {
  it('has a simulator version per row', () => {
    expect(WIRE_FACTS.map((row) => row.label).filter((label) => !SIM_VERSIONS.includes(label))).toEqual([]);
  });
});

describe.each(WIRE_FACTS.map((row) => [row.label, row] as const))('%s through the Client', (_label, row) => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ dialect: row.label });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('detection picks this row', async () => {
    const { client } = testClient(sim.url, { dialect: clientDialect(row) });
    try {
      const { dialect, version } = await client.server();
      expect(dialect).toBe(row.dialect);
      expect(wireFactsFor(dialect, version).label).toBe(row.label);
    } finally {
      await client.close();
    }
  });

  describe.each(KINDS)('%s', (kind) => {
    const facts = row[kind];
    const expected = () => generate(promptOf(row, kind), N, { seed: SEED });

    it(`ids arrive ${facts.ids.delivery === 'end' ? 'at the end' : facts.ids.delivery === 'live' ? 'live, with each token' : 'never'}; usage from the server`, async () => {
      const { eventIds, text, done } = await run(sim, row, kind);
      const ids = expected();
      expect(eventIds.length).toBeGreaterThan(0);
      switch (facts.ids.delivery) {
        case 'live':
          expect(eventIds.every((event) => event !== undefined && event.length > 0)).toBe(true);
          expect(eventIds.flat()).toEqual(ids);
          expect(done.tokenIds).toEqual(ids);
          break;
        case 'end':
          expect(eventIds.every((event) => event === undefined)).toBe(true);
          expect(done.tokenIds).toEqual(ids);
          break;
        case 'none':
          expect(eventIds.every((event) => event === undefined)).toBe(true);
          expect(done.tokenIds).toBeUndefined();
          break;
      }
      expect(done.stats.idsIncomplete).toBe(false);
      expect(text.length).toBeGreaterThan(0);
      expect(done.finishReason).toBe('length');
      const prompt = promptOf(row, kind).length;
      expect(done.usage).toEqual({
        promptTokens: prompt,
        completionTokens: N,
        totalTokens: prompt + N,
        computed: facts.usage.when === 'never',
        // A lone simulator has no prefix cache: 0, said only where the row says always.
        ...(facts.usage.cachedTokens?.when === 'always' ? { cachedPromptTokens: 0 } : {}),
      });
    });

    it(`usage when include_usage is off: ${facts.usage.when === 'always' ? "still the server's" : 'computed'}`, async () => {
      const { done } = await run(sim, row, kind, {
        request: { extraBody: { stream_options: { include_usage: false } } },
      });
      expect(done.usage.completionTokens).toBe(N);
      expect(done.usage.computed).toBe(facts.usage.when !== 'always');
      if (facts.usage.when === 'always') expect(done.usage.promptTokens).toBe(promptOf(row, kind).length);
    });

    if (kind === 'chat' && facts.reasoningField !== undefined) {
      it(`reasoning in delta.${facts.reasoningField} arrives as reasoning events, apart from the answer`, async () => {
        const { client } = testClient(sim.url, {
          dialect: clientDialect(row),
          headers: { 'x-sim-seed': String(SEED), 'x-sim-reasoning': '2' },
        });
        try {
          const events: ChatEvent[] = [];
          for await (const event of client.streamChat({ messages: MESSAGES, maxTokens: N }))
            events.push(event);
          const reasoning = events.filter((event) => event.type === 'reasoning');
          const done = events.at(-1) as Extract<ChatEvent, { type: 'done' }>;
          expect(reasoning.length).toBeGreaterThan(0);
          expect(done.message.reasoning).toBe(reasoning.map((event) => event.text).join(''));
          expect(done.message.reasoning?.length).toBeGreaterThan(0);
          expect(done.message.content.length).toBeGreaterThan(0);
          expect(done.usage.completionTokens).toBe(N);
          if (facts.ids.delivery !== 'none') expect(done.tokenIds).toEqual(expected());
        } finally {
          await client.close();
        }
      });
    }

    it.each([...new Set(row.httpErrors.map((error) => error.status))])(
      'HTTP %i before the stream is http_error with the server message, in the row’s body shape',
      async (status) => {
        const error = (await caught(() =>
          run(sim, row, kind, { headers: { 'x-sim-fault': `status:${status}` } }),
        )) as unknown as TokenwireError;
        expect(error.code).toBe('http_error');
        expect(error.status).toBe(status);
        expect(error.message).toContain(serverMessage(error.body));
        const shapes = row.httpErrors
          .filter((fact) => fact.status === status)
          .map((fact) => bodyShape(fact.body));
        expect(shapes).toContain(bodyShape(error.body ?? ''));
        expect(error.partial).toEqual([]);
      },
    );

    /** How the Client can make a server answer with one of its listed HTTP errors (by the row's cause). */
    const provoke = (cause: string): (RunOptions & { sim?: SimulatorOptions }) | undefined => {
      if (/missing prompt/.test(cause))
        return kind === 'completions' ? { request: { extraBody: { prompt: null } } } : undefined;
      if (/context|validation/.test(cause) && !/non-stream/.test(cause))
        return { sim: { maxModelLen: promptOf(row, kind).length } };
      return undefined;
    };
    const causes = row.httpErrors.filter((fact) => provoke(fact.cause) !== undefined);
    it.each(causes.map((fact) => [fact.cause, fact] as const))(
      'HTTP error for "%s": the row’s status, body fields and message',
      async (cause, fact) => {
        const { sim: simOptions, ...options } = provoke(cause)!;
        const own = await startSimulator({ dialect: row.label, ...simOptions });
        try {
          const error = (await caught(() => run(own, row, kind, options))) as unknown as TokenwireError;
          expect(error.code).toBe('http_error');
          expect(error.status).toBe(fact.status);
          const sent = JSON.parse(error.body ?? 'null');
          const listed = JSON.parse(fact.body.replace('…', ''));
          const fields = (json: Record<string, unknown>) =>
            Object.keys(typeof json.error === 'object' ? (json.error as object) : json).sort();
          expect(fields(sent)).toEqual(fields(listed));
          const message = serverMessage(fact.body);
          if (!message.includes('…')) {
            const pattern = message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\d+/g, '\\d+');
            expect(serverMessage(error.body)).toMatch(new RegExp(`^${pattern}$`));
          }
          expect(error.message).toContain(serverMessage(error.body));
        } finally {
          await own.close();
        }
      },
    );

    it(`an in-stream error (${row.inStreamError.shape}) is server_error with the message and the partial tokens`, async () => {
      const error = (await caught(() =>
        run(sim, row, kind, { headers: { 'x-sim-fault': `error-after:${BREAK}` } }),
      )) as unknown as TokenwireError;
      expect(error.code).toBe('server_error');
      expect(error.message).toContain(`simulated failure after ${BREAK} tokens`);
      expect(error.partial).toHaveLength(BREAK);
      const ids = facts.ids.delivery === 'live' ? expected().slice(0, BREAK) : Array(BREAK).fill(undefined);
      expect(error.partial.map((token) => token.id)).toEqual(ids);
      expect(error.partial.every((token) => token.text !== '')).toBe(true);
    });

    const refusals = row.refusals.filter(
      (refusal) => refusal.endpoint === 'both' || refusal.endpoint === kind,
    );
    it.each(refusals.map((refusal) => [refusal.trigger, refusal] as const))(
      'refused: %s',
      async (_trigger, refusal) => {
        const request: Record<string, unknown> = {};
        const extraBody: Record<string, unknown> = {};
        for (const [field, value] of Object.entries(refusal.body)) {
          if (field === row.priority.field) request.priority = value;
          else extraBody[field] = value;
        }
        if (Object.keys(extraBody).length > 0) request.extraBody = extraBody;
        const error = (await caught(() => run(sim, row, kind, { request }))) as unknown as TokenwireError;
        expect(error.code).toBe('http_error');
        expect(error.status).toBe(refusal.status);
        expect(error.message).toContain(refusal.message);
        if ('priority' in request && row.priority.without === 'http-400') {
          // The hint: which server flag would have served it.
          expect(error.message).toContain(row.priority.requires?.split(' (')[0]);
          const scheduling = await startSimulator({ dialect: row.label, priorityScheduling: true });
          try {
            expect((await run(scheduling, row, kind, { request })).done.tokenIds).toEqual(
              facts.ids.delivery === 'none' ? undefined : expected(),
            );
          } finally {
            await scheduling.close();
          }
        }
      },
    );

    it(`a connection reset after ${BREAK} tokens ${facts.resume ? 'is resumed exactly' : 'fails with the partial tokens'}`, async () => {
      const clean = await run(sim, row, kind);
      // A server of its own: ':once' faults fire once per server.
      const broken = await startSimulator({ dialect: row.label });
      try {
        const options = {
          headers: { 'x-sim-fault': `reset-after:${BREAK}:once` },
          client: { retry: FAST_RETRY },
        };
        if (facts.resume) {
          const resumed = await run(broken, row, kind, options);
          expect(resumed.done.stats.resumes).toBe(1);
          expect(resumed.done.tokenIds).toEqual(clean.done.tokenIds);
          expect(resumed.text).toBe(clean.text);
          expect(resumed.eventIds.flatMap((ids) => ids ?? [])).toEqual(
            clean.eventIds.flatMap((ids) => ids ?? []),
          );
        } else {
          const error = (await caught(() => run(broken, row, kind, options))) as unknown as TokenwireError;
          expect(error.partial).toHaveLength(BREAK);
          expect(error.partial.map((token) => token.text).join('')).toBe(
            clean.text.slice(0, error.partial.map((token) => token.text).join('').length),
          );
          expect(broken.report().requests.filter((request) => request.method === 'POST')).toHaveLength(1);
        }
      } finally {
        await broken.close();
      }
    });

    if (facts.resume) {
      // The client decides from the row, not from what its code for the dialect can build: with
      // the row's resume turned off, the same break is an error with the partial tokens.
      it('the resume decision is the row’s: with its resume off, the same break fails with the partial tokens', async () => {
        const clean = await run(sim, row, kind);
        const broken = await startSimulator({ dialect: row.label });
        const endpoint = row[kind] as { resume: boolean };
        endpoint.resume = false;
        try {
          const error = (await caught(() =>
            run(broken, row, kind, {
              headers: { 'x-sim-fault': `reset-after:${BREAK}:once` },
              client: { retry: FAST_RETRY },
            }),
          )) as unknown as TokenwireError;
          expect(error.code).toBe('connection_reset');
          expect(error.partial.map((token) => token.text).join('')).toBe(
            clean.text.slice(0, error.partial.map((token) => token.text).join('').length),
          );
          expect(broken.report().requests.filter((request) => request.method === 'POST')).toHaveLength(1);
        } finally {
          endpoint.resume = true;
          await broken.close();
        }
      });
    }
  });
});
