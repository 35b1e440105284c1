/**
 * What a response head says about the body of a streaming request: an event
 * stream, an error body, some other body — or a response that can never become
 * an event stream, which fails at once as a protocol error (retrying would get
 * the same answer). Pure functions over the status and headers.
 */

import { DECODED_CODINGS } from './body-decoder.js';

/** How the body after a head is read. */
export type BodyKind = 'sse' | 'error-body' | 'other-body';

/**
 * The media type of a Content-Type value: lower-cased, without parameters
 * (`Text/Event-Stream; charset=UTF-8` → `text/event-stream`). Media types are
 * case-insensitive (RFC 9110 section 8.3.1).
 */
export function mediaType(contentType: string | undefined): string {
  if (contentType === undefined) return '';
  const semicolon = contentType.indexOf(';');
  return (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
}

/** How to read the body of a response with this status and headers. */
export function bodyKind(status: number, headers: Record<string, string>): BodyKind {
  if (status < 200 || status >= 300) return 'error-body';
  const type = mediaType(headers['content-type']);
  // No content type at all: some servers and proxies omit it on event streams.
  return type === '' || type === 'text/event-stream' ? 'sse' : 'other-body';
}

/** Statuses whose responses have no body (RFC 9110 sections 15.3.5, 15.3.6, 15.4.5). */
const NO_BODY = new Set([204, 205, 304]);

/**
 * Why a response can never become an event stream, or undefined when it may. Such
 * a response is a protocol error at once: retrying it would get the same answer.
 */
export function neverAStream(status: number, headers: Record<string, string>): string | undefined {
  if (NO_BODY.has(status)) {
    return `HTTP ${status} has no body, so it can never be an event stream (a proxy or cache answering for the server?)`;
  }
  const encoding = contentCoding(headers);
  if (encoding !== undefined && !DECODED_CODINGS.has(encoding)) {
    // tokenwire sends no Accept-Encoding: a compressed body is a proxy's doing.
    return `HTTP ${status} with a body compressed as ${JSON.stringify(encoding)} (content-encoding), which tokenwire did not ask for and cannot decode (it decodes ${[...DECODED_CODINGS].join(', ')}): turn compression off for this route in the proxy`;
  }
  return undefined;
}

/** The response's content coding, lower-cased; undefined for none or `identity`. */
export function contentCoding(headers: Record<string, string>): string | undefined {
  const encoding = headers['content-encoding']?.trim().toLowerCase();
  return encoding === undefined || encoding === '' || encoding === 'identity' ? undefined : encoding;
}
