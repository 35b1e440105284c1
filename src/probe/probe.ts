/**
 * `probeServer`: what a real server does, fact by fact, beside what the
 * wire-facts table says its version does. It sends one tiny request of each kind
 * through a Client (no retries, no resume, no capture, every request under a
 * deadline), reads what the Client decoded and what the wire carried (a tap on the
 * Client's dispatcher), and compares each observation with the table's row for the
 * detected version (compare.ts). The CLI's `tokenwire probe` prints the report.
 */

import { urlForDisplay } from '../base-url.js';
import { Client } from '../client.js';
import { wireFactsFor } from '../dialects/wire-facts.js';
import { InvalidOptionError } from '../errors.js';
import { type ClientOptions, resolveOptions } from '../options.js';
import { createDispatcher } from '../transport/client-dispatcher.js';
import { compareWithRow, type EndpointObservations } from './compare.js';
import {
  type GenerationOutcome,
  generate,
  PROBE_MESSAGES,
  type ProbeKind,
  type TokenizeOutcome,
  tokenizeRoundTrip,
} from './observe.js';
import { WireTap } from './tap.js';
import type { ProbeOptions, ProbeReport } from './types.js';

/** Default deadline of each probe request. */
export const PROBE_REQUEST_TIMEOUT_MS = 10_000;
/** Default tokens per generation: enough for ids and a continuation, little enough to be quick. */
export const PROBE_MAX_TOKENS = 3;

const PROBE_ONLY_KEYS = ['requestTimeoutMs', 'maxTokens', 'signal'] as const;
const NOT_FOR_PROBE = ['endpoints', 'discovery', 'routing', 'retry', 'failedRequestsDir'] as const;

/**
 * Probes one server: detects its dialect and version (`client.server()`), sends a
 * few tiny generations to completions and chat (usage with and without
 * `stream_options.include_usage`, logprobs, priority 1, a continuation),
 * tokenizes and detokenizes, and compares every observation with the
 * wire-facts row of that version. Resolves to the report; `disagreements > 0`
 * means the server does something else than the table says (worth reporting).
 *
 * Throws when the server cannot be probed: unreachable (`connection_*`,
 * `dns_error`), the key refused (HTTP 401/403), bad options, or `signal` aborted.
 * HTTP errors and bad streams of single requests are observations, not throws.
 *
 * @example
 * const report = await probeServer({ baseUrl: 'http://127.0.0.1:8000', model: 'my-model' });
 * for (const c of report.checks) if (c.status === 'disagree') console.log(c.fact, c.expected, c.observed);
 */
export async function probeServer(options: ProbeOptions = {}): Promise<ProbeReport> {
  const started = performance.now();
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError(`invalid options: ${String(options)} (expected an object)`);
  }
  for (const key of NOT_FOR_PROBE) {
    if ((options as Record<string, unknown>)[key] !== undefined) {
      throw new InvalidOptionError(
        `invalid option ${key}: the probe talks to one server as it is (baseUrl), without ${key}`,
      );
    }
  }
  const requestTimeoutMs = boundedInt(
    options.requestTimeoutMs,
    PROBE_REQUEST_TIMEOUT_MS,
    1,
    600_000,
    'requestTimeoutMs',
  );
  const maxTokens = boundedInt(options.maxTokens, PROBE_MAX_TOKENS, 2, 16, 'maxTokens');
  const clientOptions: Record<string, unknown> = { ...options };
  for (const key of PROBE_ONLY_KEYS) delete clientOptions[key];
  const base = clientOptions as ClientOptions;
  // The dispatcher the Client would make (proxy, TLS, pool), with the tap in front of it.
  const resolved = resolveOptions(base);
  const tap = new WireTap(createDispatcher(resolved, process.env));
  const { proxy: _proxy, tls: _tls, maxConnections: _max, dispatcher: _own, ...rest } = base;
  const client = new Client({
    ...rest,
    dispatcher: tap,
    retry: false,
    failedRequestsDir: false,
    timeouts: {
      connectMs: requestTimeoutMs,
      headersMs: requestTimeoutMs,
      firstTokenMs: requestTimeoutMs,
      idleMs: requestTimeoutMs,
      totalMs: requestTimeoutMs,
      ...definedOnly(base.timeouts),
    },
  });
  const stop = () => void client.close();
  options.signal?.addEventListener('abort', stop, { once: true });
  try {
    options.signal?.throwIfAborted();
    const server = await client.server();
    const configured = resolved.dialect !== 'auto';
    const tokenize = await tokenizeRoundTrip(client);
    const completions = await probeEndpoint(client, tap, 'completions', maxTokens, tokenize);
    const chat = await probeEndpoint(client, tap, 'chat', maxTokens, tokenize);
    const row = wireFactsFor(server.dialect, server.version);
    const checks = compareWithRow(row, { identity: server, configured, tokenize, completions, chat });
    return {
      url: urlForDisplay(resolved.rootUrl),
      server,
      dialectSource: configured ? 'configured' : 'detected',
      row: row.label,
      rowDialect: row.dialect,
      checks,
      disagreements: checks.filter((c) => c.status === 'disagree').length,
      durationMs: performance.now() - started,
    };
  } finally {
    options.signal?.removeEventListener('abort', stop);
    await client.close();
    // A dispatcher of the caller's is theirs to close.
    if (base.dispatcher === undefined) await tap.destroy();
  }
}

async function probeEndpoint(
  client: Client,
  tap: WireTap,
  kind: ProbeKind,
  maxTokens: number,
  tokenize: TokenizeOutcome,
): Promise<EndpointObservations> {
  // Completions start from the server's own ids for the text when it can tokenize, so a
  // continuation (prompt + generated ids) is exactly what a resume would send.
  const promptIds = kind === 'completions' ? tokenize.ids : undefined;
  const run = (extra: Parameters<typeof generate>[4]) =>
    generate(client, tap, kind, maxTokens, { prompt: promptIds, ...extra });
  const main = await run({ extraBody: { stream_options: { include_usage: true } } });
  if (main.error !== undefined) return { main };
  const noUsage = await run({ extraBody: { stream_options: { include_usage: false } } });
  const logprobs = await run({ logprobs: true });
  const priority = await run({ priority: 1 });
  const continuation = await continueFrom(client, tap, kind, main, promptIds, maxTokens);
  return { main, noUsage, logprobs, priority, continuation };
}

/** A resume's request: what the Client would send after a break one token in. */
async function continueFrom(
  client: Client,
  tap: WireTap,
  kind: ProbeKind,
  main: GenerationOutcome,
  promptIds: number[] | undefined,
  maxTokens: number,
): Promise<EndpointObservations['continuation']> {
  if (kind === 'completions') {
    // Incomplete ids (llama.cpp drops a token ending inside a UTF-8 character) still make
    // an id prompt: whether the server takes one is the question here.
    if (main.ids === undefined || main.ids.length === 0) {
      return { notTried: 'no generated ids arrived', noIds: true };
    }
    // Without the server's tokenizer the prompt's ids are unknown: the generated id alone
    // still asks whether the server takes a token-id prompt.
    const prompt = [...(promptIds ?? []), main.ids[0]];
    return generate(client, tap, kind, maxTokens - 1, { prompt });
  }
  if (main.text === '') return { notTried: 'the answer had no text to continue' };
  // vLLM's way (the one server whose chat resume the table counts on): the partial
  // assistant message, continued rather than answered.
  const messages = [...PROBE_MESSAGES, { role: 'assistant', content: main.text }];
  return generate(client, tap, kind, maxTokens, {
    messages,
    extraBody: { continue_final_message: true, add_generation_prompt: false },
  });
}

function boundedInt(
  value: number | undefined,
  fallback: number,
  min: number,
  max: number,
  name: string,
): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(
      `invalid option ${name}: ${String(value)} (expected an integer ${min}–${max})`,
    );
  }
  return value;
}

/** The entries of `record` that are set (an undefined one must not undo a default). */
function definedOnly<T extends object>(record: T | undefined): Partial<T> {
  if (record === undefined || record === null) return {};
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)) as Partial<T>;
}
