/**
 * Resume as a property: for a random break point, fault kind and set of stop
 * strings, a stream broken once (and resumed) delivers the same tokens as the
 * uninterrupted run — the same ids, one each, the same finish reason, never more,
 * never fewer — against the simulator (greedy, so a continuation is exact; it honours
 * `stop` in its own output, as vLLM does).
 *
 * The simulator holds back text that may begin a stop string as vLLM does (the last
 * longest − 1 characters): a break inside that text is resumed with it recovered from the
 * server's detokenizer, so the text is the uninterrupted one too, exactly.
 *
 * Bounded: a fixed seed and 30 runs (about 10 s); the seed and the failing case are
 * printed by fast-check on failure.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CompletionResult, TokenwireError } from '../../src/index.js';
import { type Simulator, startSimulator } from '../../src/sim/index.js';
import { testClient } from '../helpers/client.js';

const PROMPT = [1, 17, 29, 301];
const MAX_TOKENS = 24;
const SEED = 7;
const FAULTS = ['reset', 'truncate', 'error', 'stall'] as const;

let sim: Simulator;
/** The uninterrupted text without stop strings, and where each token ends in it: stop strings are cut from it. */
let fullText: string;
let fullIds: (number | undefined)[];
let tokenEnds: number[];

beforeAll(async () => {
  sim = await startSimulator({ dialect: 'vllm', seed: SEED });
  const result = (await run(undefined, [])) as CompletionResult;
  fullText = result.text;
  fullIds = result.ids;
  let end = 0;
  tokenEnds = result.tokens.map((t) => (end += t.text.length));
});
afterAll(async () => {
  await sim.close();
});

async function run(
  fault: string | undefined,
  stop: string[],
  on: Simulator = sim,
): Promise<CompletionResult | TokenwireError> {
  const { client } = testClient(on.url, {
    dialect: 'vllm',
    headers: fault ? { 'x-sim-fault': fault } : {},
    retry: { maxAttempts: 8, baseDelayMs: 1, maxDelayMs: 5 },
    // Clocks with room for a loaded machine (a stall fault lasts longer than both).
    timeouts: { idleMs: 600, firstTokenMs: 1000 },
  });
  try {
    return await client
      .streamCompletion({
        prompt: PROMPT,
        maxTokens: MAX_TOKENS,
        sampling: { temperature: 0 },
        stop: stop.length > 0 ? stop : undefined,
      })
      .final();
  } catch (error) {
    return error as TokenwireError;
  } finally {
    await client.close();
  }
}

/**
 * How a stop string is chosen: cut from the uninterrupted text across the break point
 * (`before` characters before it, `after` after it: the case the client must catch),
 * cut from anywhere (the server's own case), or made up (it may never match).
 */
const stopChoice = fc.oneof(
  fc.record({
    kind: fc.constant('straddling' as const),
    before: fc.integer({ min: 1, max: 3 }),
    after: fc.integer({ min: 1, max: 6 }),
  }),
  fc.record({ kind: fc.constant('anywhere' as const), at: fc.nat(), length: fc.integer({ min: 2, max: 6 }) }),
  fc.record({ kind: fc.constant('made-up' as const), text: fc.string({ minLength: 2, maxLength: 4 }) }),
);
type StopChoice = typeof stopChoice extends fc.Arbitrary<infer T> ? T : never;

/**
 * The uninterrupted run truncated at its stop: the server stops on the first token whose
 * text completes a stop string; its ids count up to that token, its text ends where that
 * stop string begins.
 */
function truncatedAtStop(stop: string[]): { tokens: number; cut: number; length: number } | undefined {
  for (let j = 0; j < tokenEnds.length; j++) {
    const prefix = fullText.slice(0, tokenEnds[j]);
    let found: { cut: number; length: number } | undefined;
    for (const s of stop) {
      const at = prefix.indexOf(s);
      if (at !== -1 && (found === undefined || at < found.cut)) found = { cut: at, length: s.length };
    }
    if (found) return { tokens: j + 1, ...found };
  }
  return undefined;
}

function stopFor(choice: StopChoice, k: number): string {
  if (choice.kind === 'made-up') return choice.text;
  if (choice.kind === 'anywhere') {
    const from = choice.at % Math.max(1, fullText.length - choice.length);
    return fullText.slice(from, from + choice.length);
  }
  const offset = k === 0 ? 0 : tokenEnds[Math.min(k, tokenEnds.length) - 1];
  return fullText.slice(Math.max(0, offset - choice.before), offset + choice.after);
}

describe('resume by continuation, as a property', () => {
  it('a stream broken once delivers exactly the tokens of the uninterrupted run', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: MAX_TOKENS }),
        fc.constantFrom(...FAULTS),
        fc.array(stopChoice, { maxLength: 2 }),
        async (k, kind, choices) => {
          const stop = choices.map((choice) => stopFor(choice, k)).filter((s) => s.length >= 1);
          const reference = await run(undefined, stop);
          if (!('ids' in reference)) throw new Error(`the uninterrupted run failed: ${reference.message}`);
          const spec = kind === 'stall' ? `stall-after:${k}:3000:once` : `${kind}-after:${k}:once`;
          // A simulator of its own: `:once` fires once per server and spec.
          const own = await startSimulator({ dialect: 'vllm', seed: SEED });
          const outcome = await run(spec, stop, own).finally(() => own.close());
          const stopped = truncatedAtStop(stop);
          const n = stopped?.tokens ?? fullIds.length;
          // The uninterrupted run with the same stop strings is that truncation too.
          expect(reference.ids).toEqual(fullIds.slice(0, n));
          expect(reference.finishReason).toBe(stopped ? 'stop' : 'length');
          if (kind === 'error' && k === n) {
            // The error came after the finish reason: reported, with every token (an error
            // event never ends as a success).
            expect('code' in outcome && outcome.code).toBe('server_error');
            expect((outcome as TokenwireError).partial.map((t) => t.id)).toEqual(reference.ids);
            return;
          }
          if (!('ids' in outcome))
            throw new Error(`the broken run failed: ${outcome.code} ${outcome.message}`);
          // Exactly the ids of the uninterrupted run: each once, never more, never fewer.
          expect(outcome.ids).toEqual(reference.ids);
          expect(outcome.tokens).toHaveLength(n);
          expect(outcome.finishReason).toBe(reference.finishReason);
          // The text: exactly the uninterrupted one (what vLLM held at the break recovered).
          expect(outcome.text).toBe(reference.text);
          if (stopped) expect(outcome.text).toBe(fullText.slice(0, stopped.cut));
        },
      ),
      { seed: 20261203, numRuns: 30, endOnFailure: true },
    );
  }, 120_000);
});
