/**
 * What a `fetch(input, init)` call asks for, read once: URL, method, headers (as a
 * plain record with lower-cased names), the body as text, the signal — and whether
 * the engine can run it as a relayed stream (a streaming completions or chat POST).
 */
import type { RelayPlan } from './relay-stream.js';

/** A fetch call, normalised. `body` is undefined when there is none or it is not text we can re-send. */
export interface FetchCall {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
  /** The body is something we do not re-send ourselves (a form, a stream): pass the call through. */
  opaqueBody: boolean;
  signal: AbortSignal | undefined;
}

/**
 * Headers not passed on: the transport sets its own length and connection handling,
 * and the body is given to the SDK as read (so the server must not compress it).
 */
const DROPPED_REQUEST_HEADERS = new Set([
  'content-length',
  'connection',
  'keep-alive',
  'host',
  'transfer-encoding',
  'accept-encoding',
]);

/** Reads a fetch call's arguments. */
export async function readFetchCall(
  input: string | URL | Request,
  init: RequestInit | undefined,
): Promise<FetchCall> {
  const request = input instanceof Request ? input : undefined;
  const url = new URL(request ? request.url : input instanceof URL ? input.href : String(input));
  const method = (init?.method ?? request?.method ?? 'GET').toUpperCase();
  const headers: Record<string, string> = {};
  const source = new Headers(init?.headers ?? request?.headers);
  source.forEach((value, name) => {
    if (!DROPPED_REQUEST_HEADERS.has(name)) headers[name] = value;
  });
  let body: string | undefined;
  let opaqueBody = false;
  const rawBody = init?.body ?? undefined;
  if (rawBody !== undefined && rawBody !== null) {
    if (typeof rawBody === 'string') body = rawBody;
    else if (rawBody instanceof ArrayBuffer) body = Buffer.from(rawBody).toString('utf8');
    else if (ArrayBuffer.isView(rawBody))
      body = Buffer.from(rawBody.buffer, rawBody.byteOffset, rawBody.byteLength).toString('utf8');
    else if (rawBody instanceof URLSearchParams) body = rawBody.toString();
    else opaqueBody = true;
  } else if (request?.body) {
    body = await request.text();
  }
  return { url, method, headers, body, opaqueBody, signal: init?.signal ?? request?.signal ?? undefined };
}

/** Paths the relay knows how to decode, by how they end. */
function streamKind(pathname: string): RelayPlan['kind'] | undefined {
  if (pathname.endsWith('/chat/completions')) return 'chat';
  if (pathname.endsWith('/completions')) return 'completion';
  return undefined;
}

/** The relay plan of a streaming completions or chat POST; undefined for any other call. */
export function relayPlan(call: FetchCall): RelayPlan | undefined {
  if (call.method !== 'POST' || call.body === undefined) return undefined;
  const kind = streamKind(call.url.pathname);
  if (kind === undefined) return undefined;
  let body: unknown;
  try {
    body = JSON.parse(call.body);
  } catch {
    return undefined;
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const json = body as Record<string, unknown>;
  if (json.stream !== true) return undefined;
  const prompt = json.prompt;
  const promptIds =
    kind === 'completion' &&
    Array.isArray(prompt) &&
    prompt.length > 0 &&
    prompt.every((id) => Number.isInteger(id) && id >= 0)
      ? (prompt as number[])
      : undefined;
  const maxTokens = typeof json.max_tokens === 'number' ? json.max_tokens : undefined;
  return {
    kind,
    path: (call.url.origin + call.url.pathname + call.url.search).slice(serverRoot(call.url).length),
    body: json,
    signal: call.signal,
    promptIds,
    maxTokens,
  };
}

/**
 * The server root of a URL: everything before `/v1/` (where `/v1/models` answers), else
 * the origin.
 */
export function serverRoot(url: URL): string {
  const at = url.pathname.indexOf('/v1/');
  return at === -1 ? url.origin : url.origin + url.pathname.slice(0, at);
}

/** The credentials in a call's headers, to keep out of logs and errors. */
export function secretsOf(headers: Record<string, string>): string[] {
  const secrets: string[] = [];
  const authorization = headers.authorization;
  if (authorization !== undefined) {
    secrets.push(authorization);
    const space = authorization.indexOf(' ');
    if (space !== -1) secrets.push(authorization.slice(space + 1).trim());
  }
  for (const name of ['x-api-key', 'api-key']) if (headers[name] !== undefined) secrets.push(headers[name]);
  return secrets;
}
