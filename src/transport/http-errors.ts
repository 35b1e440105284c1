/**
 * Turning what the network and the server said into tokenwire errors: HTTP
 * error bodies of every shape servers send, and socket/undici failures. Pure
 * functions, table-tested.
 */
import { maxHeaderSize } from 'node:http';
import {
  AbortError,
  ConnectionError,
  describeRequest,
  type ErrorPhase,
  HttpError,
  type PartialToken,
  ProtocolError,
  TimeoutError,
  type TokenwireError,
} from '../errors.js';
import { mediaType } from './response-check.js';

/** Longest body preview kept on an HTTP error: enough for any real error message. */
export const ERROR_BODY_PREVIEW_BYTES = 4096;

/** Statuses worth another attempt: timeout, conflict, rate limit, server side. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/** The request id header a server sent, under any of the common names. */
export function requestIdOf(headers: Record<string, string>): string | undefined {
  // OpenRouter names its request (a generation) in X-Generation-Id.
  return (
    headers['x-request-id'] ??
    headers['request-id'] ??
    headers['x-generation-id'] ??
    headers['x-amzn-requestid'] ??
    headers['cf-ray']
  );
}

/** Extracts the server's real message (and code) from an error body of any known shape. */
export function parseErrorBody(
  body: string,
  contentType: string | undefined,
): { message: string; serverCode?: string | number } {
  const trimmed = body.trim();
  if (trimmed === '') return { message: '(empty body)' };
  const type = mediaType(contentType);
  if (trimmed.startsWith('{') || type.includes('json')) {
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
  if (trimmed.startsWith('<') || type.includes('html')) {
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
  hint?: string,
): HttpError {
  const { message, serverCode } = parseErrorBody(body, headers['content-type']);
  const text = hint === undefined ? message : `${message} (${hint})`;
  return new HttpError(`HTTP ${status}${describeRequest(method, url)}: ${text}`, {
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
/**
 * undici's ProxyAgent when the proxy answers CONNECT with anything but 200 (undici 7.30.2,
 * lib/dispatcher/proxy-agent.js, the connect function of ProxyAgent's constructor).
 */
const PROXY_REFUSED = /^Proxy response \((\d{3})\) !== 200 when HTTP Tunneling$/;
/** Certificate checks that fail the same way every time (OpenSSL's verify codes as Node reports them). */
const UNTRUSTED_CERT = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);
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
  const fatal = unrecoverable(code, reason, phase, url);
  if (fatal !== undefined) {
    const init = { code: fatal.code, phase, retryable: false, url, method, cause: error };
    return fatal.code === 'protocol_error'
      ? new ProtocolError(`protocol_error: ${fatal.message}${where}`, init)
      : new ConnectionError(`${fatal.message}${where}`, init);
  }
  const refused = PROXY_REFUSED.exec(reason);
  if (refused !== null) {
    const status = Number(refused[1]);
    return new ConnectionError(
      `the proxy refused the tunnel${where}: it answered CONNECT with HTTP ${status}${status === 407 ? ' (Proxy Authentication Required: put user:password in the proxy URL)' : ''}`,
      {
        code: 'connection_error',
        phase: 'connect',
        // A proxy's policy (403) or missing credentials (407) answer the same every time.
        retryable: status === 408 || status === 429 || status >= 500,
        url,
        method,
        cause: error,
      },
    );
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

/**
 * Failures that a retry would meet again, with what to do about them: a response
 * head over undici's size limit, an interim `100 Continue` undici cannot skip, a
 * certificate that is not trusted, TLS spoken to a plain-HTTP server.
 */
function unrecoverable(
  code: string | undefined,
  reason: string,
  phase: ErrorPhase,
  url: string,
): { code: 'protocol_error' | 'connection_error'; message: string } | undefined {
  if (code === 'UND_ERR_HEADERS_OVERFLOW') {
    return {
      code: 'protocol_error',
      message: `the response head is larger than the ${maxHeaderSize} bytes accepted (Node's --max-http-header-size); it can never become an event stream`,
    };
  }
  if (code === 'UND_ERR_SOCKET' && reason === 'bad response' && phase !== 'stream') {
    // undici/lib/dispatcher/client-h1.js (7.x) onHeadersComplete destroys the socket with
    // 'bad response' on status 100 while a request is in flight, its only cause there.
    return {
      code: 'protocol_error',
      message:
        'the server sent an interim "100 Continue" that was not asked for; RFC 9110 says to ignore it, but the HTTP layer (undici) closes the connection instead. Turn Expect/100-continue handling off in the server or proxy',
    };
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    // Trusted, but for another name: a CA would not help.
    return {
      code: 'connection_error',
      message: `TLS certificate not accepted (${code}: ${reason}): the certificate is not for the name connected to; use a URL with a name it is for, or give that name as tls.servername`,
    };
  }
  if (code !== undefined && UNTRUSTED_CERT.has(code)) {
    return {
      code: 'connection_error',
      message: `TLS certificate not accepted (${code}: ${reason}): for a self-signed or private-CA certificate, give its CA with NODE_EXTRA_CA_CERTS=/path/to/ca.pem or the client's tls option (tls: { ca })`,
    };
  }
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' && url.startsWith('https:')) {
    return {
      code: 'connection_error',
      message: `TLS handshake failed (${code}): the server speaks plain HTTP: use http:// instead of https://`,
    };
  }
  return undefined;
}
