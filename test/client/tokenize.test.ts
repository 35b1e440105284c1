/**
 * tokenize / detokenize / models against the simulator: the servers that have
 * the endpoints give the sim's own tokenization, the others fail with
 * `unsupported` before any request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DialectName } from '../../src/index.js';
import { detokenize, type Simulator, startSimulator, tokenize } from '../../src/sim/index.js';
import { caught, testClient } from '../helpers/client.js';

const WITH_TOKENIZER = ['vllm', 'sglang', 'llamacpp'] as const;
const WITHOUT_TOKENIZER = ['openai', 'openrouter', 'together'] as const;

/** Words, JSON specials, multi-byte characters and an emoji (a surrogate pair). */
const TEXT = 'Hello world: café "語" 🙂 {"a": [1, 2]}\n\tend';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ dialect: 'vllm', model: 'sim-tok' });
});
afterAll(async () => {
  await sim.close();
});

function clientFor(dialect: string, model?: string) {
  return testClient(sim.url, {
    dialect: dialect as DialectName,
    headers: { 'x-sim-dialect': dialect },
    ...(model === undefined ? {} : { model }),
  });
}

describe.each(WITH_TOKENIZER)('tokenizer endpoints on %s', (dialect) => {
  it('tokenize gives the server’s own ids, detokenize its text', async () => {
    const { client } = clientFor(dialect);
    try {
      const ids = await client.tokenize(TEXT);
      expect(ids).toEqual(tokenize(TEXT));
      expect(ids.length).toBeGreaterThan(5);
      expect(await client.detokenize(ids)).toBe(TEXT);
      // Ids the tokenizer would never produce (byte tokens of 'é') still decode as the server says.
      const bytes = [...Buffer.from('é', 'utf8')].map((byte) => 3 + byte);
      expect(await client.detokenize(bytes)).toBe(detokenize(bytes));
      expect(await client.detokenize(bytes)).toBe('é');
      // Half a character decodes as the server decodes it (U+FFFD), not as an error.
      expect(await client.detokenize(bytes.slice(0, 1))).toBe(detokenize(bytes.slice(0, 1)));
      expect(await client.tokenize('')).toEqual([]);
      expect(await client.detokenize([])).toBe('');
    } finally {
      await client.close();
    }
  });

  it('the request goes to the dialect’s path, in its shape', async () => {
    sim.resetReport();
    const { client } = clientFor(dialect, 'sim-tok');
    try {
      await client.tokenize('hi');
      await client.detokenize([300, 301]);
    } finally {
      await client.close();
    }
    const [tok, detok] = sim.report().requests;
    if (dialect === 'llamacpp') {
      expect([tok.path, tok.body]).toEqual(['/tokenize', { content: 'hi' }]);
      expect([detok.path, detok.body]).toEqual(['/detokenize', { tokens: [300, 301] }]);
    } else {
      const prefix = dialect === 'sglang' ? '/v1' : '';
      expect([tok.path, tok.body]).toEqual([`${prefix}/tokenize`, { model: 'sim-tok', prompt: 'hi' }]);
      expect([detok.path, detok.body]).toEqual([
        `${prefix}/detokenize`,
        { model: 'sim-tok', tokens: [300, 301] },
      ]);
    }
  });

  it('models() lists the server’s model', async () => {
    const { client } = clientFor(dialect);
    try {
      const models = await client.models();
      expect(models).toHaveLength(1);
      expect(models[0]).toMatchObject({ id: 'sim-tok', ownedBy: dialect });
      expect(models[0].maxModelLen).toBe(dialect === 'vllm' ? 1_048_576 : undefined);
      expect(models[0].raw.id).toBe('sim-tok');
    } finally {
      await client.close();
    }
  });

  it('an id out of the vocabulary is the server’s 400, with its message', async () => {
    const { client } = clientFor(dialect);
    try {
      const error = await caught(() => client.detokenize([10_000_000]));
      expect(error.code).toBe('http_error');
      expect(error.status).toBe(400);
      expect(error.message).toMatch(/'tokens' must be an array of token ids/);
    } finally {
      await client.close();
    }
  });
});

describe.each(WITHOUT_TOKENIZER)('no tokenizer endpoints on %s', (dialect) => {
  it('tokenize and detokenize fail with unsupported, without a request', async () => {
    sim.resetReport();
    const { client } = clientFor(dialect);
    try {
      const tokenizeError = await caught(() => client.tokenize('hi'));
      expect(tokenizeError.code).toBe('unsupported');
      expect(tokenizeError.message).toContain(`${dialect} servers have no tokenize endpoint`);
      const detokenizeError = await caught(() => client.detokenize([300]));
      expect(detokenizeError.code).toBe('unsupported');
      expect(detokenizeError.message).toContain(`${dialect} servers have no detokenize endpoint`);
    } finally {
      await client.close();
    }
    expect(sim.report().requests).toHaveLength(0);
  });
});

describe('argument checks', () => {
  it('bad arguments fail with invalid_option before any request', async () => {
    sim.resetReport();
    const { client } = clientFor('vllm');
    try {
      expect((await caught(() => client.tokenize(42 as unknown as string))).code).toBe('invalid_option');
      expect((await caught(() => client.detokenize([1.5]))).code).toBe('invalid_option');
      expect((await caught(() => client.detokenize([-1]))).code).toBe('invalid_option');
    } finally {
      await client.close();
    }
    expect(sim.report().requests).toHaveLength(0);
  });
});

describe('models() on the servers without a tokenizer', () => {
  it.each(['openai', 'openrouter'] as const)('%s lists the model', async (dialect) => {
    const { client } = clientFor(dialect);
    try {
      const models = await client.models();
      expect(models.map((model) => model.id)).toEqual(['sim-tok']);
    } finally {
      await client.close();
    }
  });
});
