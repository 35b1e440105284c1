import { describe, expect, it } from 'vitest';
import { normalizeBaseUrl } from '../../src/base-url.js';
import { Client, InvalidOptionError } from '../../src/index.js';
import { resolveOptions } from '../../src/options.js';

describe('options', () => {
  it.each([
    ['http://127.0.0.1:8000', 'http://127.0.0.1:8000'],
    ['http://127.0.0.1:8000/', 'http://127.0.0.1:8000'],
    ['http://127.0.0.1:8000/v1', 'http://127.0.0.1:8000'],
    ['http://127.0.0.1:8000/v1/', 'http://127.0.0.1:8000'],
    ['https://example.test/api/v1', 'https://example.test/api'],
  ])('baseUrl %s → %s', (input, root) => {
    expect(normalizeBaseUrl(input)).toBe(root);
  });

  it.each([
    [{ baseUrl: 'not a url' }, 'baseUrl', '"not a url"'],
    [{ baseUrl: 'ftp://x' }, 'baseUrl', '"ftp://x"'],
    [{ baseUrl: 'http://x', timeouts: { idleMs: -1 } }, 'timeouts.idleMs', '-1'],
    [{ baseUrl: 'http://x', timeouts: { idleMS: 5 } }, 'timeouts.idleMS', 'did you mean timeouts.idleMs?'],
    [{ baseUrl: 'http://x', dialect: 'vllmm' }, 'dialect', '"vllmm"'],
    [{ baseUrl: 'http://x', retry: { maxAttempts: 0 } }, 'retry.maxAttempts', '0'],
    [{ baseUrl: 'http://x', headers: { a: 1 } }, 'headers.a', '1'],
    [{ baseUrl: 'http://x', debug: 'yes' }, 'debug', '"yes"'],
  ])('rejects %o naming %s and the value', (options, name, shown) => {
    let error: unknown;
    try {
      new Client(options as never);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).code).toBe('invalid_option');
    expect((error as Error).message).toContain(name);
    expect((error as Error).message).toContain(shown);
  });

  it('rejects an API key that cannot be a header value, without showing it', () => {
    let error: unknown;
    try {
      new Client({ baseUrl: 'http://x', apiKey: 'sk-secret-value\n' });
    } catch (e) {
      error = e;
    }
    expect((error as InvalidOptionError).code).toBe('invalid_option');
    expect((error as Error).message).toContain('apiKey');
    expect((error as Error).message).not.toContain('sk-secret-value');
    expect(() => new Client({ baseUrl: 'http://x', headers: { 'bad name': 'v' } })).toThrow(/bad name/);
    expect(() => new Client({ baseUrl: 'http://x', headers: { 'x-a': 'a\r\nb' } })).toThrow(/headers.x-a/);
  });

  it('treats 0 as a value, not as unset', () => {
    const resolved = resolveOptions(
      { baseUrl: 'http://x', timeouts: { idleMs: 0 }, retry: { baseDelayMs: 0 } },
      {},
    );
    expect(resolved.timeouts.idleMs).toBe(0);
    expect(resolved.retry.baseDelayMs).toBe(0);
  });

  it('falls back to TOKENWIRE_* then OPENAI_* environment variables', () => {
    const a = resolveOptions(
      {},
      {
        TOKENWIRE_BASE_URL: 'http://a/v1',
        OPENAI_BASE_URL: 'http://b',
        TOKENWIRE_API_KEY: 'k1',
        OPENAI_API_KEY: 'k2',
        TOKENWIRE_MODEL: 'm',
      },
    );
    expect(a).toMatchObject({ rootUrl: 'http://a', apiKey: 'k1', model: 'm' });
    const b = resolveOptions({}, { OPENAI_BASE_URL: 'http://b', OPENAI_API_KEY: 'k2' });
    expect(b).toMatchObject({ rootUrl: 'http://b', apiKey: 'k2' });
    expect(() => resolveOptions({}, {})).toThrow(/baseUrl/);
    expect(resolveOptions({ baseUrl: 'http://x' }, { TOKENWIRE_DEBUG: '1' }).debug).toBe(true);
  });

  it('validates requests at the door, naming the field', () => {
    const client = new Client({ baseUrl: 'http://127.0.0.1:9', failedRequestsDir: false });
    expect(() => client.streamCompletion({ prompt: [] })).toThrow(/prompt/);
    expect(() => client.streamCompletion({ prompt: [1, -2] })).toThrow(/prompt\[1\]: -2/);
    expect(() => client.streamCompletion({ prompt: [1], maxTokens: 0 })).toThrow(/maxTokens: 0/);
    expect(() => client.streamCompletion({ prompt: [1], sampling: { temprature: 1 } as never })).toThrow(
      /sampling.temprature/,
    );
    expect(() => client.streamCompletion({ prompt: [1], sampling: { temperature: Number.NaN } })).toThrow(
      /sampling.temperature: NaN/,
    );
    expect(() => client.streamCompletion({ prompt: [1], stop: [1] as never })).toThrow(/stop/);
  });
});
