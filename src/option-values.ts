/**
 * Checking option values: the message of a bad one, numbers, and the parts of the
 * options a request can also set (`timeouts`, `headers`).
 */
import { InvalidOptionError } from './errors.js';
import { checkKeys, keySet } from './option-keys.js';
import type { TimeoutOptions } from './options.js';
import type { HedgeOptions } from './types.js';

/** An HTTP header name (RFC 9110 token). */
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** A header value we can send: visible ASCII, spaces and tabs, no CR/LF. */
export const HEADER_VALUE = /^[\t\x20-\x7e]*$/;

/** Default per-phase deadlines, ms. */
export const DEFAULT_TIMEOUTS: Required<TimeoutOptions> = {
  connectMs: 30_000,
  headersMs: 60_000,
  firstTokenMs: 120_000,
  idleMs: 60_000,
  totalMs: 600_000,
  keepaliveResetsIdle: false,
};

const TIMEOUT_KEYS = keySet<TimeoutOptions>({
  connectMs: true,
  headersMs: true,
  firstTokenMs: true,
  idleMs: true,
  totalMs: true,
  keepaliveResetsIdle: true,
});

/** Shows a bad value in an error message without dumping huge objects. */
export function showValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) {
    return String(value);
  }
  try {
    const json = JSON.stringify(value);
    return json.length > 80 ? `${json.slice(0, 77)}...` : json;
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** Throws `invalid_option` naming the option, the value and what was expected. */
export function bad(option: string, value: unknown, expected: string): never {
  throw new InvalidOptionError(`invalid option ${option}: ${showValue(value)} (expected ${expected})`);
}

/** Checks a non-negative finite number option (`0` is a value, not "unset"). */
export function checkNonNegative(option: string, value: unknown, integer = false): number | undefined {
  if (value === undefined) return undefined;
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value < 0 ||
    (integer && !Number.isInteger(value))
  ) {
    bad(option, value, integer ? 'a non-negative integer' : 'a non-negative number');
  }
  return value;
}

/**
 * `timeouts` (of the client, or of a request over the client's `base`): every key known,
 * every deadline a non-negative number, `keepaliveResetsIdle` a boolean.
 */
export function resolveTimeouts(
  value: TimeoutOptions | undefined,
  base: Required<TimeoutOptions>,
  kind: 'option' | 'request field' = 'option',
): Required<TimeoutOptions> {
  const timeouts = { ...base };
  if (value === undefined) return timeouts;
  if (value === null || typeof value !== 'object') bad('timeouts', value, 'an object');
  checkKeys(value, TIMEOUT_KEYS, kind, 'timeouts.');
  for (const [key, setting] of Object.entries(value)) {
    if (key === 'keepaliveResetsIdle') {
      if (setting !== undefined && typeof setting !== 'boolean') {
        bad('timeouts.keepaliveResetsIdle', setting, 'a boolean');
      }
      if (setting !== undefined) timeouts.keepaliveResetsIdle = setting;
    } else if (setting !== undefined) {
      // checkKeys above: the key is one of the deadlines.
      (timeouts as Record<string, number | boolean>)[key] = checkNonNegative(
        `timeouts.${key}`,
        setting,
      ) as number;
    }
  }
  return timeouts;
}

/** `headers`: valid names (lower-cased) and values that can be sent. */
export function resolveHeaders(value: Record<string, string> | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  if (value === undefined) return headers;
  if (value === null || typeof value !== 'object') bad('headers', value, 'an object');
  for (const [name, setting] of Object.entries(value)) {
    if (typeof setting !== 'string') bad(`headers.${name}`, setting, 'a string');
    if (!HEADER_NAME.test(name)) bad(`headers[${JSON.stringify(name)}]`, name, 'a valid HTTP header name');
    if (!HEADER_VALUE.test(setting))
      bad(`headers.${name}`, setting, 'printable characters without line breaks');
    headers[name.toLowerCase()] = setting;
  }
  return headers;
}

const HEDGE_KEYS = keySet<HedgeOptions>({ afterMs: true });

/**
 * `hedge` (of the client, or of a request): `{ afterMs }` with a non-negative number of
 * milliseconds, or `false` for none. Returns `afterMs`, `null` for `false` (turned off),
 * undefined when not given.
 */
export function resolveHedge(
  value: HedgeOptions | false | undefined,
  kind: 'option' | 'request field' = 'option',
): number | null | undefined {
  if (value === undefined) return undefined;
  if (value === false) return null;
  const label = kind === 'option' ? 'invalid option' : 'invalid';
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidOptionError(`${label} hedge: ${showValue(value)} (expected { afterMs } or false)`);
  }
  checkKeys(value, HEDGE_KEYS, kind, 'hedge.');
  const { afterMs } = value;
  if (typeof afterMs !== 'number' || !Number.isFinite(afterMs) || afterMs < 0) {
    throw new InvalidOptionError(
      `${label} hedge.afterMs: ${showValue(afterMs)} (expected a non-negative number of milliseconds)`,
    );
  }
  return afterMs;
}
