/**
 * The simulator follows the wire-facts table (issue 14): for every row it
 * emulates, a completion and a chat stream asked the row's way carry the ids
 * where and when the row says, usage where it says, the role chunk it names,
 * the finish reason where it says, and end the way it says.
 */
import { describe, expect, it } from 'vitest';
import type { EndpointFacts, WireFacts } from '../../src/dialects/wire-facts.js';
import { WIRE_FACTS } from '../../src/dialects/wire-facts.js';
import { generate, SIM_VERSIONS, startSimulator } from '../../src/sim/index.js';
import { blocks, post } from './helpers.js';

const MAX = 6;

const ROWS = WIRE_FACTS.filter((row) => SIM_VERSIONS.includes(row.label));

// biome-ignore lint/suspicious/noExplicitAny: chunks are free-form JSON, read field by field.
type Chunk = Record<string, any>;

/** The ids a chunk carries, read where the row's `ids.field` says they are. */
function idsIn(field: string, chunk: Chunk): number[] {
  const choice = chunk.choices?.[0];
  if (choice === undefined) return [];
  if (field.startsWith('choices[i].token_ids')) return choice.token_ids ?? [];
  if (field.startsWith('choices[0].delta.token_id')) {
    const id = choice.delta?.token_id;
    return typeof id === 'number' ? [id] : [];
  }
  if (field.startsWith('choices[0].logprobs.content[k].id')) {
    return (choice.logprobs?.content ?? []).map((entry: Chunk) => entry.id);
  }
  if (field.includes('"token_id:N"')) {
    const tokens: string[] =
      choice.logprobs?.tokens ?? (choice.logprobs?.content ?? []).map((e: Chunk) => e.token);
    return tokens.map((token) => Number(token.slice('token_id:'.length)));
  }
  throw new Error(`no reader for the ids field '${field}'`);
}

function chunksOf(text: string): { chunks: Chunk[]; done: boolean } {
  const chunks: Chunk[] = [];
  let done = false;
  for (const block of blocks(text)) {
    if (block === 'data: [DONE]') done = true;
    else if (block.startsWith('data: ')) chunks.push(JSON.parse(block.slice(6)));
  }
  return { chunks, done };
}

async function check(row: WireFacts, endpoint: 'completions' | 'chat') {
  const facts: EndpointFacts = row[endpoint];
  const sim = await startSimulator({ dialect: row.label });
  try {
    const body: Record<string, unknown> = {
      ...facts.ids.ask,
      max_tokens: MAX,
      stream: true,
      stream_options: { include_usage: true },
      ...(endpoint === 'chat' ? { messages: [{ role: 'user', content: 'hi' }] } : { prompt: [1, 2, 3] }),
    };
    const res = await post(sim.url, facts.path, body);
    const where = `${row.label} ${endpoint}`;
    expect(res.status, `${where}: ${res.text.slice(0, 200)}`).toBe(200);
    const { chunks, done } = chunksOf(res.text);
    expect(done, `${where}: ends with [DONE]`).toBe(facts.end === '[DONE]');

    // Ids: live ones come with the chunks, in order; end ones in a final sglext chunk.
    if (facts.ids.delivery === 'live') {
      const ids = chunks.flatMap((chunk) => idsIn(facts.ids.field, chunk));
      expect(ids, `${where}: ids live in ${facts.ids.field}`).toHaveLength(MAX);
      if (endpoint === 'completions') expect(ids, where).toEqual(generate([1, 2, 3], MAX));
    } else if (facts.ids.delivery === 'end') {
      const last = chunks.filter((chunk) => chunk.sglext !== undefined);
      expect(last, `${where}: one end-of-stream ids chunk`).toHaveLength(1);
      expect(last[0].choices, where).toEqual([]);
      expect(last[0].sglext.output_ids[0], where).toHaveLength(MAX);
    }

    // Usage: in a choices: [] chunk, or on the finish chunk.
    const usageChunks = chunks.filter((chunk) => chunk.usage !== undefined && chunk.usage !== null);
    expect(usageChunks, `${where}: usage ${facts.usage.where}`).toHaveLength(1);
    expect(usageChunks[0].usage.completion_tokens, where).toBe(MAX);
    const finish = chunks.filter((chunk) => chunk.choices?.[0]?.finish_reason);
    expect(finish, `${where}: one finish chunk`).toHaveLength(1);
    if (facts.usage.where === 'usage-chunk') expect(usageChunks[0].choices, where).toEqual([]);
    if (facts.usage.where === 'finish-chunk') expect(usageChunks[0], where).toBe(finish[0]);

    // The finish reason rides on the last token, or comes in a chunk of its own.
    const finishChoice = finish[0].choices[0];
    const carriesToken = (finishChoice.text ?? finishChoice.delta?.content ?? '') !== '';
    if (facts.finishOn === 'separate') expect(carriesToken, `${where}: finish separate`).toBe(false);
    if (facts.finishOn === 'last-token')
      expect(finish[0], `${where}: finish on the last token`).toBe(
        chunks.filter((chunk) => chunk.choices?.length > 0).at(-1),
      );

    // Chat's first chunk, exactly as the row names it.
    if (endpoint === 'chat' && facts.roleChunk !== undefined) {
      const delta = chunks[0].choices[0].delta;
      const expected = {
        'role-null': { role: 'assistant', content: null },
        'role-empty': { role: 'assistant', content: '' },
        'role-empty-refusal': { role: 'assistant', content: '', refusal: null },
        'role-only': { role: 'assistant' },
      }[facts.roleChunk as string];
      if (expected !== undefined) expect(delta, `${where}: role chunk ${facts.roleChunk}`).toEqual(expected);
      else expect(delta.content, `${where}: no role chunk`).not.toBe('');
    }
  } finally {
    await sim.close();
  }
}

/** Chat reasoning goes in the delta field the row names (and never in the other name). */
async function checkReasoning(row: WireFacts) {
  const field = row.chat.reasoningField;
  if (field === undefined) return;
  const sim = await startSimulator({ dialect: row.label });
  try {
    const body = { ...row.chat.ids.ask, max_tokens: MAX, stream: true, sim_reasoning: 2 };
    const res = await post(sim.url, row.chat.path, { ...body, messages: [{ role: 'user', content: 'hi' }] });
    const deltas = chunksOf(res.text).chunks.map((chunk) => chunk.choices?.[0]?.delta ?? {});
    const other = field === 'reasoning' ? 'reasoning_content' : 'reasoning';
    expect(deltas.filter((delta) => typeof delta[field] === 'string' && delta[field] !== '')).toHaveLength(2);
    expect(
      deltas.filter((delta) => other in delta),
      `${row.label}: no ${other}`,
    ).toEqual([]);
  } finally {
    await sim.close();
  }
}

describe.each(ROWS.map((row) => [row.label, row] as const))('%s streams as its row says', (_label, row) => {
  it('completions', () => check(row, 'completions'));
  it('chat', () => check(row, 'chat'));
  it(`chat reasoning in delta.${row.chat.reasoningField ?? '(none)'}`, () => checkReasoning(row));
});
