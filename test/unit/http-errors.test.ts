import { describe, expect, it } from 'vitest';
import { httpError, networkError, parseErrorBody } from '../../src/transport/http-errors.js';

const URL = 'http://127.0.0.1:8000/v1/completions';

describe('parseErrorBody: every error body shape servers send', () => {
  it.each([
    [
      'nested (OpenAI, vLLM ≥ 0.10.1)',
      '{"error":{"message":"bad prompt","type":"BadRequestError","param":null,"code":400}}',
      'application/json',
      'bad prompt',
      400,
    ],
    [
      'nested with string code',
      '{"error":{"message":"slow down","type":"requests","code":"rate_limit_exceeded"}}',
      'application/json',
      'slow down',
      'rate_limit_exceeded',
    ],
    [
      'flat (older vLLM, SGLang)',
      '{"object":"error","message":"model not found","type":"NotFoundError","param":null,"code":404}',
      'application/json',
      'model not found',
      404,
    ],
    ['string (vLLM 401)', '{"error":"Unauthorized"}', 'application/json', 'Unauthorized', undefined],
    ['FastAPI detail', '{"detail":"Not Found"}', 'application/json', 'Not Found', undefined],
    [
      'FastAPI validation list',
      '{"detail":[{"loc":["body","prompt"],"msg":"field required","type":"missing"}]}',
      'application/json',
      'field required',
      undefined,
    ],
    [
      'HTML proxy page',
      '<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>',
      'text/html',
      'HTML page: 502 Bad Gateway',
      undefined,
    ],
    ['plain text', 'upstream connect error\n', 'text/plain', 'upstream connect error', undefined],
    ['empty', '', undefined, '(empty body)', undefined],
  ])('%s', (_name, body, contentType, message, serverCode) => {
    const parsed = parseErrorBody(body, contentType);
    expect(parsed.message).toBe(message);
    expect(parsed.serverCode).toBe(serverCode);
  });

  it('builds the documented message, status, request id and retryability', () => {
    const error = httpError(
      429,
      { 'x-request-id': 'req-1', 'content-type': 'application/json' },
      '{"error":{"message":"slow down"}}',
      'POST',
      URL,
    );
    expect(error.message).toBe(`HTTP 429 (POST ${URL}): slow down`);
    expect(error).toMatchObject({
      code: 'http_error',
      status: 429,
      requestId: 'req-1',
      retryable: true,
      phase: 'headers',
    });
    expect(httpError(400, {}, '{}', 'POST', URL).retryable).toBe(false);
    expect(httpError(503, {}, '', 'POST', URL).retryable).toBe(true);
  });

  it('bounds the body preview', () => {
    const error = httpError(500, {}, 'x'.repeat(100_000), 'POST', URL);
    expect(error.body!.length).toBeLessThanOrEqual(4096);
  });
});

describe('networkError: socket failures get their own codes', () => {
  const timeouts = { connectMs: 1000, headersMs: 2000 };
  it.each([
    [{ code: 'ECONNREFUSED' }, 'connection_refused', 'connect'],
    [{ code: 'ENOTFOUND' }, 'dns_error', 'connect'],
    [{ code: 'ECONNRESET' }, 'connection_reset', 'stream'],
    [{ code: 'UND_ERR_SOCKET', cause: { code: 'ECONNRESET' } }, 'connection_reset', 'stream'],
    [{ code: 'UND_ERR_CONNECT_TIMEOUT' }, 'connect_timeout', 'connect'],
    [{ code: 'UND_ERR_HEADERS_TIMEOUT' }, 'headers_timeout', 'headers'],
    [{ code: 'EWHATEVER' }, 'connection_error', 'stream'],
  ])('%o → %s', (raw, code, phase) => {
    const error = networkError(Object.assign(new Error('boom'), raw), 'stream', 'POST', URL, timeouts);
    expect(error.code).toBe(code);
    expect(error.phase).toBe(phase);
    expect(error.message).toContain(`(POST ${URL})`);
  });
});
