/**
 * Argument handling shared by every command: strict `parseArgs`, typed readers
 * that turn a bad value into a usage error naming the flag and the value, and
 * the common client flags (server, timeouts, retries, capture, debug).
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { normalizeBaseUrl, urlForDisplay } from '../base-url.js';
import type { ClientOptions, Logger, TimeoutOptions } from '../index.js';
import { DIALECT_NAMES } from '../options.js';
import { UsageError } from './exit-codes.js';

export type FlagSpec = NonNullable<ParseArgsConfig['options']>;
export type FlagValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** Flags every command has. */
export const HELP_FLAG: FlagSpec = { help: { type: 'boolean', short: 'h' } };

/** Flags of every command that talks to a server. */
export const CLIENT_FLAGS: FlagSpec = {
  'base-url': { type: 'string', multiple: true },
  'api-key': { type: 'string' },
  model: { type: 'string' },
  dialect: { type: 'string' },
  'connect-timeout': { type: 'string' },
  'headers-timeout': { type: 'string' },
  'first-token-timeout': { type: 'string' },
  'idle-timeout': { type: 'string' },
  'total-timeout': { type: 'string' },
  header: { type: 'string', multiple: true },
  retries: { type: 'string' },
  'no-retry': { type: 'boolean' },
  debug: { type: 'boolean' },
  'no-capture': { type: 'boolean' },
  'capture-dir': { type: 'string' },
};

export const CLIENT_FLAGS_HELP = `Server options (environment fallbacks: TOKENWIRE_BASE_URL, TOKENWIRE_API_KEY,
TOKENWIRE_MODEL, then OPENAI_BASE_URL, OPENAI_API_KEY; TOKENWIRE_ENDPOINTS for several):
  --base-url URL             server root, with or without /v1; several replicas of one
                             model as URL,URL,… or --base-url repeated (a fleet: each
                             request goes to one, failures move and resume elsewhere)
  --api-key KEY              bearer token (never printed or saved)
  --model NAME               model name
  --dialect NAME             auto (default), ${DIALECT_NAMES.join(', ')}
  --connect-timeout MS       TCP connect deadline (default 30000; 0 = none)
  --headers-timeout MS       response head deadline (default 60000)
  --first-token-timeout MS   first token deadline (default 120000)
  --idle-timeout MS          longest gap between chunks once tokens flow (default 60000)
  --total-timeout MS         whole call, retries and resumes included (default 600000)
  --header 'NAME: VALUE'     an extra header on every request (repeatable)
  --retries N                retries after the first attempt (default 2); resumes count too
  --no-retry                 one attempt, no resume
  --debug                    per-request debug lines on stderr (also TOKENWIRE_DEBUG=1)
  --no-capture               do not save failed requests
  --capture-dir DIR          where failed requests are saved
                             (default $XDG_STATE_HOME/tokenwire/failed-requests)`;

/** Strict parse: unknown flags and missing values are usage errors. */
export function parse(
  argv: string[],
  options: FlagSpec,
  allowPositionals = false,
): { values: FlagValues; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args: joinNegativeValues(argv, options),
      options: { ...HELP_FLAG, ...options },
      strict: true,
      allowPositionals,
    });
    return { values: values as FlagValues, positionals };
  } catch (error) {
    // parseArgs explains over several lines; one line is easier to read among others.
    throw new UsageError((error as Error).message.replace(/\s*\n\s*/g, ' '));
  }
}

/**
 * `--seed -1` as `--seed=-1`: parseArgs takes a value starting with '-' for an option
 * (`-1` is not one) and fails. Only a value-taking flag followed by a negative number.
 */
function joinNegativeValues(argv: string[], options: FlagSpec): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const next = argv[i + 1];
    const name = arg.startsWith('--') ? arg.slice(2) : undefined;
    if (name !== undefined && options[name]?.type === 'string' && next !== undefined && /^-\d/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

function bad(flag: string, value: string, expected: string): never {
  throw new UsageError(`invalid value for --${flag}: ${JSON.stringify(value)} (expected ${expected})`);
}

/** A string flag's value (the last one when repeated). */
export function str(values: FlagValues, flag: string): string | undefined {
  const value = values[flag];
  if (Array.isArray(value)) return value.at(-1) as string | undefined;
  return typeof value === 'string' ? value : undefined;
}

/** Every value of a repeatable string flag. */
export function list(values: FlagValues, flag: string): string[] {
  const value = values[flag];
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string');
}

export function bool(values: FlagValues, flag: string): boolean {
  return values[flag] === true;
}

/** Decimal digits only: `Number()` would also take `1e3`, `0x10`, `0b1` and `0o7`. */
const DECIMAL_INTEGER = /^[+-]?\d+$/;
/** A plain decimal number (`0.7`, `.5`, `-1`, `1e-3`); not hex, binary, octal or `Infinity`. */
const DECIMAL_NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** An integer flag, at least `min`: decimal digits, within the exact (safe) integer range. */
export function int(values: FlagValues, flag: string, min = 0): number | undefined {
  const raw = str(values, flag);
  if (raw === undefined) return undefined;
  const value = Number(raw.trim());
  if (!DECIMAL_INTEGER.test(raw.trim()) || !Number.isSafeInteger(value) || value < min) {
    const expected =
      min === Number.NEGATIVE_INFINITY
        ? 'an integer'
        : min === 0
          ? 'a non-negative integer'
          : `an integer ≥ ${min}`;
    bad(flag, raw, expected);
  }
  return value;
}

/** A finite number flag, optionally at least `min`. */
export function num(values: FlagValues, flag: string, min?: number): number | undefined {
  const raw = str(values, flag);
  if (raw === undefined) return undefined;
  const value = Number(raw.trim());
  if (!DECIMAL_NUMBER.test(raw.trim()) || !Number.isFinite(value) || (min !== undefined && value < min)) {
    bad(flag, raw, min === undefined ? 'a number' : `a number ≥ ${min}`);
  }
  return value;
}

/** Parses `1,2,3`, `1 2 3` or `[1, 2, 3]` into token ids; undefined when it is not such a list. */
export function parseIds(text: string): number[] | undefined {
  const trimmed = text.trim();
  if (!/^\[?\s*\d+(\s*[,\s]\s*\d+)*\s*,?\s*\]?$/.test(trimmed)) return undefined;
  // Brackets come in pairs: '[1,2' is more likely a mangled paste than an id list.
  if (trimmed.startsWith('[') !== trimmed.endsWith(']')) return undefined;
  const inner = trimmed.replace(/^\[/, '').replace(/\]$/, '');
  const ids = inner
    .split(/[\s,]+/)
    .filter((part) => part !== '')
    .map(Number);
  return ids.every((id) => Number.isSafeInteger(id)) ? ids : undefined;
}

/** An ids flag (`--tokens 1,2,3`). */
export function ids(values: FlagValues, flag: string): number[] | undefined {
  const raw = str(values, flag);
  if (raw === undefined) return undefined;
  return parseIds(raw) ?? bad(flag, raw, 'token ids such as 1,2,3 or [1,2,3]');
}

function timeout(values: FlagValues, flag: string): number | undefined {
  return int(values, flag, 0);
}

/**
 * Client options from the common flags. Values left undefined fall back to the
 * library's environment handling; the CLI only insists that a server is named.
 */
export function clientOptions(
  values: FlagValues,
  logger: Logger | undefined,
  env: NodeJS.ProcessEnv = process.env,
): ClientOptions {
  // Several servers of one model: --base-url a,b,c or --base-url repeated (a fleet).
  const urls = list(values, 'base-url').flatMap((value) => value.split(',').map((u) => u.trim()));
  for (const url of urls) {
    try {
      normalizeBaseUrl(url, '--base-url');
    } catch {
      bad(
        'base-url',
        urlForDisplay(url),
        'an http(s) URL such as http://127.0.0.1:8000, or several separated by commas',
      );
    }
  }
  if (urls.length === 0 && !env.TOKENWIRE_ENDPOINTS && !env.TOKENWIRE_BASE_URL && !env.OPENAI_BASE_URL) {
    throw new UsageError(
      'no server given: pass --base-url URL or set TOKENWIRE_BASE_URL (several replicas: --base-url URL,URL or TOKENWIRE_ENDPOINTS; for a local simulator, run `tokenwire sim`)',
    );
  }
  const baseUrl = urls.length === 1 ? urls[0] : undefined;
  const endpoints = urls.length > 1 ? urls : undefined;
  const dialect = str(values, 'dialect');
  if (dialect !== undefined && dialect !== 'auto' && !(DIALECT_NAMES as string[]).includes(dialect)) {
    bad('dialect', dialect, `auto or one of ${DIALECT_NAMES.join(', ')}`);
  }
  const timeouts: TimeoutOptions = {
    connectMs: timeout(values, 'connect-timeout'),
    headersMs: timeout(values, 'headers-timeout'),
    firstTokenMs: timeout(values, 'first-token-timeout'),
    idleMs: timeout(values, 'idle-timeout'),
    totalMs: timeout(values, 'total-timeout'),
  };
  const retries = int(values, 'retries', 0);
  if (retries !== undefined && bool(values, 'no-retry')) {
    throw new UsageError('--retries and --no-retry cannot be used together');
  }
  const captureDir = str(values, 'capture-dir');
  if (captureDir !== undefined && bool(values, 'no-capture')) {
    throw new UsageError('--capture-dir and --no-capture cannot be used together');
  }
  if (captureDir === '') bad('capture-dir', captureDir, 'a directory path');
  const headers: Record<string, string> = {};
  for (const header of list(values, 'header')) {
    const colon = header.indexOf(':');
    if (colon <= 0) bad('header', header, "'NAME: VALUE'");
    headers[header.slice(0, colon).trim()] = header.slice(colon + 1).trim();
  }
  return {
    baseUrl,
    endpoints,
    headers,
    apiKey: str(values, 'api-key'),
    model: str(values, 'model'),
    dialect: dialect as ClientOptions['dialect'],
    timeouts,
    retry: bool(values, 'no-retry')
      ? false
      : retries === undefined
        ? undefined
        : { maxAttempts: retries + 1 },
    debug: bool(values, 'debug') ? true : undefined,
    failedRequestsDir: bool(values, 'no-capture') ? false : captureDir,
    logger,
  };
}

/** Whether debug output is on (--debug or TOKENWIRE_DEBUG, as the library reads it). */
export function debugOn(values: FlagValues, env: NodeJS.ProcessEnv = process.env): boolean {
  return (
    bool(values, 'debug') ||
    (env.TOKENWIRE_DEBUG !== undefined && env.TOKENWIRE_DEBUG !== '' && env.TOKENWIRE_DEBUG !== '0')
  );
}
