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

/** Replaces every occurrence of each secret (of a length worth hiding) in `text`. */
export function scrub(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= MIN_SECRET_CHARS && out.includes(secret))
      out = out.split(secret).join(REDACTED);
  }
  return out;
}

/**
 * A bounded preview of `text`: scrubbed first, then cut to `maxChars`, so a cut can
 * never leave part of a secret behind.
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
    let at = out.indexOf(needle);
    if (at === -1) continue;
    const parts: Buffer[] = [];
    let from = 0;
    while (at !== -1) {
      parts.push(out.subarray(from, at), REDACTED_BYTES);
      from = at + needle.length;
      at = out.indexOf(needle, from);
    }
    parts.push(out.subarray(from));
    out = Buffer.concat(parts);
  }
  return out;
}

/**
 * Scrubs secrets from everything an error shows (message, stack, body preview, response
 * headers, where credential headers are redacted outright): a server or proxy may echo
 * the key back, and `util.inspect(error)` prints all of these.
 */
export function scrubError(error: TokenwireError, secrets: readonly (string | undefined)[]): void {
  const writable = error as {
    message: string;
    stack?: string;
    body?: string;
    headers?: Record<string, string>;
  };
  writable.message = scrub(error.message, secrets);
  if (typeof error.stack === 'string') writable.stack = scrub(error.stack, secrets);
  if (error.body !== undefined) writable.body = scrub(error.body, secrets);
  if (error.headers !== undefined) writable.headers = redactHeaders(error.headers, secrets);
}
