/**
 * Turning what the network and the server said into tokenwire errors: HTTP
 * error bodies of every shape servers send, and socket/undici failures. Pure
 * functions, table-tested.
 */
import {
  AbortError,
  ConnectionError,
  describeRequest,
  type ErrorPhase,
  HttpError,
  type PartialToken,
  TimeoutError,
  type TokenwireError,
} from '../errors.js';

/** Longest body preview kept on an HTTP error: enough for any real error message. */
export const ERROR_BODY_PREVIEW_BYTES = 4096;

/** Statuses worth another attempt: timeout, conflict, rate limit, server side. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/** The request id header a server sent, under any of the common names. */
export function requestIdOf(headers: Record<string, string>): string | undefined {
  return headers['x-request-id'] ?? headers['request-id'] ?? headers['x-amzn-requestid'] ?? headers['cf-ray'];
}

/** Extracts the server's real message (and code) from an error body of any known shape. */
export function parseErrorBody(
  body: string,
  contentType: string | undefined,
): { message: string; serverCode?: string | number } {
  const trimmed = body.trim();
  if (trimmed === '') return { message: '(empty body)' };
  if (trimmed.startsWith('{') || contentType?.includes('json')) {
    try {
      const json = JSON.parse(trimmed);
      const error = json?.error;
      if (typeof error === 'string') {
        // vLLM 401: {"error": "Unauthorized"}
        return { message: error };
      }
      if (error && typeof error === 'object') {
        // OpenAI, vLLM ≥ 0.10.1, llama.cpp: {"error": {"message", "type", "code"}}
        const message = typeof error.message === 'string' ? error.message : JSON.stringify(error);
        return { message, serverCode: error.code ?? error.type };
      }
      if (typeof json?.message === 'string') {
        // older vLLM, SGLang: {"object": "error", "message", "code"}
        return { message: json.message, serverCode: json.code ?? json.type };
      }
      if (typeof json?.detail === 'string') return { message: json.detail };
      if (Array.isArray(json?.detail) && typeof json.detail[0]?.msg === 'string') {
        // FastAPI validation errors: {"detail": [{"loc", "msg", "type"}]}
        return { message: json.detail.map((d: { msg: string }) => d.msg).join('; ') };
      }
    } catch {
      // Not JSON after all: fall through to the text preview.
    }
  }
  if (trimmed.startsWith('<') || contentType?.includes('html')) {
    // A proxy's HTML page (502/504): its <title> is the useful part.
    const title = /<title[^>]*>([^<]*)<\/title>/i.exec(trimmed)?.[1]?.trim();
    const h1 = /<h1[^>]*>([^<]*)<\/h1>/i.exec(trimmed)?.[1]?.trim();
    return { message: `HTML page: ${title || h1 || trimmed.slice(0, 120).replace(/\s+/g, ' ')}` };
  }
  return { message: trimmed.slice(0, 300).replace(/\s+/g, ' ') };
}

/** Builds the error for a non-2xx response. */
export function httpError(
  status: number,
  headers: Record<string, string>,
  body: string,
  method: string,
  url: string,
  partial: PartialToken[] = [],
): HttpError {
  const { message, serverCode } = parseErrorBody(body, headers['content-type']);
  return new HttpError(`HTTP ${status}${describeRequest(method, url)}: ${message}`, {
    code: 'http_error',
    phase: 'headers',
    retryable: isRetryableStatus(status),
    status,
    headers,
    requestId: requestIdOf(headers),
    body: body.slice(0, ERROR_BODY_PREVIEW_BYTES),
    serverCode,
    url,
    method,
    partial,
  });
}

const REFUSED = new Set(['ECONNREFUSED']);
const DNS = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME']);
const RESET = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'ECONNABORTED', 'UND_ERR_CLOSED']);

function errorCodeOf(error: unknown): string | undefined {
  let current = error as { code?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; current && depth < 4; depth++) {
    if (typeof current.code === 'string') {
      // undici wraps the socket's own error: prefer the more specific inner code.
      const inner = (current.cause as { code?: unknown } | undefined)?.code;
      if (current.code === 'UND_ERR_SOCKET' && typeof inner === 'string') return inner;
      return current.code;
    }
    current = current.cause as typeof current;
  }
  return undefined;
}

/** Maps a socket or undici error to a tokenwire error for the given phase. */
export function networkError(
  error: unknown,
  phase: ErrorPhase,
  method: string,
  url: string,
  timeouts: { connectMs: number; headersMs: number },
): TokenwireError {
  const code = errorCodeOf(error);
  const where = describeRequest(method, url);
  const reason = (error as Error)?.message ?? String(error);
  if (code === 'UND_ERR_DESTROYED') {
    // Our own pool was closed (client.close()) under a request: nothing to retry.
    return new AbortError(`aborted: the client was closed${where}`, {
      code: 'aborted',
      phase,
      retryable: false,
      url,
      method,
      cause: error,
    });
  }
  if (code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new TimeoutError(`connect_timeout: no connection within ${timeouts.connectMs} ms${where}`, {
      code: 'connect_timeout',
      phase: 'connect',
      retryable: true,
      url,
      method,
      cause: error,
    });
  }
  if (code === 'UND_ERR_HEADERS_TIMEOUT') {
    return new TimeoutError(`headers_timeout: no response head within ${timeouts.headersMs} ms${where}`, {
      code: 'headers_timeout',
      phase: 'headers',
      retryable: true,
      url,
      method,
      cause: error,
    });
  }
  if (code !== undefined && REFUSED.has(code)) {
    return new ConnectionError(`connection refused${where}: is the server running?`, {
      code: 'connection_refused',
      phase: 'connect',
      retryable: true,
      url,
      method,
      cause: error,
    });
  }
  if (code !== undefined && DNS.has(code)) {
    return new ConnectionError(`DNS lookup failed${where}: ${reason}`, {
      code: 'dns_error',
      phase: 'connect',
      retryable: code === 'EAI_AGAIN',
      url,
      method,
      cause: error,
    });
  }
  if (code !== undefined && RESET.has(code)) {
    return new ConnectionError(`connection reset by the server during ${phase}${where}: ${reason}`, {
      code: 'connection_reset',
      phase,
      retryable: true,
      url,
      method,
      cause: error,
    });
  }
  return new ConnectionError(`connection failed during ${phase}${where}: ${reason}`, {
    code: 'connection_error',
    phase,
    retryable: true,
    url,
    method,
    cause: error,
  });
}
