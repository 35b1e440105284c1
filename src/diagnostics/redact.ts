/**
 * Keeping secrets out of logs, errors and fixtures: header redaction, the forms a
 * secret takes once written somewhere (JSON-escaped, URL-encoded), and a scrub of
 * any string or byte range that might echo one.
 */
import type { TokenwireError } from '../errors.js';

/** Headers whose values are credentials. */
const SECRET_HEADERS = new Set([
  'authorization',
  'proxy-authorization',
  'x-api-key',
  'api-key',
  'cookie',
  'set-cookie',
  'openai-organization',
]);

export const REDACTED = '[redacted]';

/** Secrets shorter than this are not scrubbed: they would blank out ordinary text; real keys are long. */
const MIN_SECRET_CHARS = 6;

/**
 * Every form a secret can take in what tokenwire writes: as it is, JSON-escaped once
 * (a log line, a fixture) and twice (raw server JSON inside a fixture), and
 * percent-encoded (a URL). Longest first, so a longer form is replaced before a
 * shorter one it contains. Values too short to be worth hiding are left out.
 */
export function secretForms(values: readonly (string | undefined)[]): string[] {
  const forms = new Set<string>();
  for (const value of values) {
    if (value === undefined || value.length < MIN_SECRET_CHARS) continue;
    const once = JSON.stringify(value).slice(1, -1);
    const twice = JSON.stringify(once).slice(1, -1);
    forms.add(value).add(once).add(twice).add(encodeURIComponent(value));
  }
  return [...forms].sort((a, b) => b.length - a.length);
}

/** A copy of `headers` with credential values replaced and any echoed secret scrubbed. */
export function redactHeaders(
  headers: Record<string, string>,
  secrets: readonly (string | undefined)[] = [],
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    out[name] = SECRET_HEADERS.has(name.toLowerCase()) ? REDACTED : scrub(value, secrets);
  }
  return out;
}

/**
 * A secret's start this long or longer is scrubbed even where the rest of it is missing:
 * the server (or a network cut) may have cut the echo short. Shorter starts are left, or
 * a key's public prefix (`sk-`, `sk-proj`) would blank ordinary text.
 */
export const PARTIAL_SECRET_CHARS = 8;

/**
 * Replaces every occurrence of each secret (of a length worth hiding) in `text`, then
 * every run of its first {@link PARTIAL_SECRET_CHARS} or more characters left (a secret
 * the server echoed cut short). Only a secret made of token characters is matched in part:
 * `Bearer sk-…` is matched whole (its token is a secret of its own, and `Bearer s` is
 * ordinary text), and a cut through an escape sequence could break the JSON around it.
 */
export function scrub(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= MIN_SECRET_CHARS && out.includes(secret))
      out = out.split(secret).join(REDACTED);
  }
  for (const secret of secrets) {
    if (!partialWorthy(secret)) continue;
    const head = secret.slice(0, PARTIAL_SECRET_CHARS);
    let at = out.indexOf(head);
    while (at !== -1) {
      let end = at + PARTIAL_SECRET_CHARS;
      while (end < out.length && end - at < secret.length && out[end] === secret[end - at]) end++;
      out = out.slice(0, at) + REDACTED + out.slice(end);
      at = out.indexOf(head, at + REDACTED.length);
    }
  }
  return out;
}

/** The characters of API keys, tokens, base64 and `user:password` (nothing JSON escapes). */
const TOKEN_CHARS = /^[\w.~+/=:-]+$/;

/** Whether a secret's cut-short start is scrubbed (see {@link scrub}). */
function partialWorthy(secret: string | undefined): secret is string {
  return secret !== undefined && secret.length > PARTIAL_SECRET_CHARS && TOKEN_CHARS.test(secret);
}

/**
 * A bounded preview of `text`: scrubbed first, then cut to `maxChars`, so a cut can
 * never leave part of a secret behind. Every cut of server-provided text for an error
 * or a log goes through here.
 */
export function scrubbedPreview(
  text: string,
  maxChars: number,
  secrets: readonly (string | undefined)[],
): string {
  return scrub(text, secrets).slice(0, maxChars);
}

const REDACTED_BYTES = Buffer.from(REDACTED);

/**
 * `bytes` with every secret's UTF-8 bytes replaced (before any encoding such as base64,
 * which would hide them from a text scrub). When `cutHead` is set the bytes start at an
 * arbitrary cut: leading bytes that could be the end of a secret whose beginning was
 * cut off are dropped too.
 */
export function scrubBytes(
  bytes: Buffer,
  secrets: readonly (string | undefined)[],
  cutHead: boolean,
): Buffer {
  let out = bytes;
  for (const secret of secrets) {
    if (!secret || secret.length < MIN_SECRET_CHARS) continue;
    const needle = Buffer.from(secret, 'utf8');
    if (cutHead) {
      // The longest proper suffix of the secret the bytes start with.
      for (let k = Math.min(needle.length - 1, out.length); k > 0; k--) {
        if (out.subarray(0, k).equals(needle.subarray(needle.length - k))) {
          out = out.subarray(k);
          break;
        }
      }
    }
    out = replaceRuns(out, needle, needle.length);
  }
  for (const secret of secrets) {
    // A secret cut short: by the server's own echo, or by the connection ending mid-key.
    if (partialWorthy(secret)) out = replaceRuns(out, Buffer.from(secret, 'utf8'), PARTIAL_SECRET_CHARS);
  }
  return out;
}

/** `bytes` with every run of at least `minBytes` leading bytes of `needle` replaced (longest run each time). */
function replaceRuns(bytes: Buffer, needle: Buffer, minBytes: number): Buffer {
  const head = needle.subarray(0, minBytes);
  let at = bytes.indexOf(head);
  if (at === -1) return bytes;
  const parts: Buffer[] = [];
  let from = 0;
  while (at !== -1) {
    let end = at + minBytes;
    while (end < bytes.length && end - at < needle.length && bytes[end] === needle[end - at]) end++;
    parts.push(bytes.subarray(from, at), REDACTED_BYTES);
    from = end;
    at = bytes.indexOf(head, from);
  }
  parts.push(bytes.subarray(from));
  return Buffer.concat(parts);
}

/**
 * Scrubs secrets from everything an error shows (message, stack, body preview, server
 * code, response headers, where credential headers are redacted outright): a server or proxy may echo
 * the key back, and `util.inspect(error)` prints all of these.
 */
export function scrubError(error: TokenwireError, secrets: readonly (string | undefined)[]): void {
  const writable = error as {
    message: string;
    stack?: string;
    body?: string;
    headers?: Record<string, string>;
    serverCode?: string | number;
  };
  writable.message = scrub(error.message, secrets);
  if (typeof error.stack === 'string') writable.stack = scrub(error.stack, secrets);
  if (error.body !== undefined) writable.body = scrub(error.body, secrets);
  if (error.headers !== undefined) writable.headers = redactHeaders(error.headers, secrets);
  // The server's own code is its text too (and the error's JSON shows it).
  if (typeof error.serverCode === 'string') writable.serverCode = scrub(error.serverCode, secrets);
}
