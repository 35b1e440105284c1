/**
 * HTTP error responses in each dialect's shape (PROTOCOLS.md "Errors"): nested
 * `{"error":{…}}` (vLLM ≥ 0.10.1, OpenAI, llama.cpp with a numeric code first),
 * flat `{"object":"error",…}` (SGLang), vLLM's bare `{"error":"Unauthorized"}`
 * on 401, FastAPI's `{"detail":"Not Found"}` for unknown paths on vLLM/SGLang,
 * and an nginx-style HTML page for 502/504 as a proxy would send.
 */
import type { SimDialect } from './request.js';

export interface ErrorReply {
  status: number;
  contentType: string;
  body: string;
}

const TYPES: Record<number, [string, string]> = {
  // status: [vLLM/SGLang exception type, OpenAI/llama.cpp type]
  400: ['BadRequestError', 'invalid_request_error'],
  401: ['UnauthorizedError', 'authentication_error'],
  403: ['PermissionDeniedError', 'permission_error'],
  404: ['NotFoundError', 'not_found_error'],
  408: ['TimeoutError', 'timeout_error'],
  409: ['ConflictError', 'conflict_error'],
  413: ['RequestTooLargeError', 'invalid_request_error'],
  429: ['RateLimitError', 'rate_limit_exceeded'],
  500: ['InternalServerError', 'server_error'],
  503: ['ServiceUnavailableError', 'unavailable_error'],
};

const REASONS: Record<number, string> = {
  502: 'Bad Gateway',
  504: 'Gateway Time-out',
};

const OPENAI_CODES: Record<number, string | null> = {
  401: 'invalid_api_key',
  429: 'rate_limit_exceeded',
  404: 'model_not_found',
};

export function proxyHtml(status: number): string {
  const title = `${status} ${REASONS[status] ?? 'Error'}`;
  return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
}

/** The error body a `dialect` server sends with `status`. */
export function errorReply(
  dialect: SimDialect,
  status: number,
  message: string,
  param: string | null = null,
  /** llama.cpp: the error's own type and extra fields (`exceed_context_size_error`, `n_ctx`…). */
  wire?: { type: string; extra: Record<string, unknown> },
): ErrorReply {
  const jsonType = 'application/json';
  if (status === 502 || status === 504) return { status, contentType: 'text/html', body: proxyHtml(status) };
  const [exceptionType, openAiType] = TYPES[status] ?? (status >= 500 ? TYPES[500] : TYPES[400]);
  let body: unknown;
  switch (dialect) {
    case 'vllm':
      body =
        status === 401
          ? { error: 'Unauthorized' }
          : { error: { message, type: exceptionType, param, code: status } };
      break;
    case 'sglang':
      body = { object: 'error', message, type: exceptionType, param, code: status };
      break;
    case 'llamacpp':
      return {
        status,
        contentType: 'application/json; charset=utf-8',
        body: JSON.stringify({
          error: { code: status, message, type: wire?.type ?? openAiType, ...wire?.extra },
        }),
      };
    case 'openai':
      body = { error: { message, type: openAiType, param, code: OPENAI_CODES[status] ?? null } };
      break;
    case 'openrouter':
      body = { error: { code: status, message, metadata: null } };
      break;
    case 'together':
    case 'fireworks':
      body = { error: { message, type: openAiType, param, code: null } };
      break;
  }
  return { status, contentType: jsonType, body: JSON.stringify(body) };
}

/** The reply for an unknown path (`messageFirst`: llama.cpp 2026's key order). */
export function notFoundReply(
  dialect: SimDialect,
  method: string,
  path: string,
  messageFirst = false,
): ErrorReply {
  if (dialect === 'vllm' || dialect === 'sglang') {
    return { status: 404, contentType: 'application/json', body: '{"detail":"Not Found"}' };
  }
  if (dialect === 'llamacpp' && messageFirst) {
    const body = JSON.stringify({ error: { message: 'File Not Found', type: 'not_found_error', code: 404 } });
    return { status: 404, contentType: 'application/json; charset=utf-8', body };
  }
  if (dialect === 'llamacpp') return errorReply('llamacpp', 404, 'File Not Found');
  return errorReply(dialect, 404, `Invalid URL (${method} ${path})`);
}
