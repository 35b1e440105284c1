/**
 * The probe's requests: each one tiny generation (or tokenize call) through the
 * Client, and what came of it — what the Client decoded (ids live or at the end,
 * usage from the server or computed, logprobs) and what the wire tap saw (the
 * body sent, the prompt's ids echoed, the reasoning field, the first chat chunk).
 * An HTTP error or a bad stream is an observation; a failure to reach the server
 * is thrown (the caller stops there).
 */
import type { Client } from '../client.js';
import { TokenwireError } from '../errors.js';
import type { ChatMessage, Usage } from '../types.js';
import type { TapRecord, WireTap } from './tap.js';
import { readWire, type WireReading } from './wire-read.js';

/** The endpoint a generation goes to. */
export type ProbeKind = 'completions' | 'chat';

/** What one generation showed. */
export interface GenerationOutcome {
  /** The error it ended with (an HTTP refusal, a bad stream, a timeout), when it failed. */
  error: TokenwireError | undefined;
  finishReason: string | undefined;
  tokens: number;
  /** Tokens whose id arrived with them. */
  liveIds: number;
  /** Ids given once at the end (`done.tokenIds`) when none came live. */
  endIds: number;
  /** Every generated id, in order, when all came. */
  ids: number[] | undefined;
  text: string;
  usage: Usage | undefined;
  idsIncomplete: boolean;
  /** Tokens that carried a logprob. */
  logprobs: number;
  /** The request body as sent (parsed), when the tap saw it. */
  sent: Record<string, unknown> | undefined;
  /** What the answer's events showed, when it was a stream. */
  wire: WireReading | undefined;
}

/** Extra fields of one probe generation. */
export interface GenerationAsk {
  extraBody?: Record<string, unknown>;
  logprobs?: boolean;
  priority?: number;
  /** Completions: the prompt (default PROBE_PROMPT). */
  prompt?: number[] | string;
  /** Chat: the messages (default one user message). */
  messages?: ChatMessage[];
}

/** The text every probe generation starts from. */
export const PROBE_PROMPT = 'Hello';
/** The chat probe's conversation. */
export const PROBE_MESSAGES: ChatMessage[] = [{ role: 'user', content: PROBE_PROMPT }];

const PATHS: Record<ProbeKind, string> = { completions: '/completions', chat: '/chat/completions' };

/**
 * Errors that say the server cannot be probed at all (unreachable, the key refused, the
 * caller gave up): they end the probe instead of becoming an observation.
 */
export function fatal(error: unknown): boolean {
  if (!(error instanceof TokenwireError)) return true;
  const { code, status } = error;
  return (
    code.startsWith('connection_') ||
    code === 'dns_error' ||
    code === 'aborted' ||
    code === 'invalid_option' ||
    (code === 'http_error' && (status === 401 || status === 403))
  );
}

/** Runs one generation of `kind` and records what it showed. */
export async function generate(
  client: Client,
  tap: WireTap,
  kind: ProbeKind,
  maxTokens: number,
  ask: GenerationAsk,
): Promise<GenerationOutcome> {
  const mark = tap.records.length;
  const outcome: GenerationOutcome = {
    error: undefined,
    finishReason: undefined,
    tokens: 0,
    liveIds: 0,
    endIds: 0,
    ids: undefined,
    text: '',
    usage: undefined,
    idsIncomplete: false,
    logprobs: 0,
    sent: undefined,
    wire: undefined,
  };
  const common = { maxTokens, extraBody: ask.extraBody, logprobs: ask.logprobs, priority: ask.priority };
  const live: number[] = [];
  try {
    if (kind === 'completions') {
      const stream = client.streamCompletion({ ...common, prompt: ask.prompt ?? PROBE_PROMPT });
      for await (const event of stream) {
        if (event.type === 'token') {
          outcome.tokens++;
          outcome.text += event.text;
          if (event.id !== undefined) live.push(event.id);
          if (event.logprob !== undefined) outcome.logprobs++;
        } else {
          outcome.finishReason = event.finishReason;
          outcome.usage = event.usage;
          outcome.idsIncomplete = event.stats.idsIncomplete;
          outcome.ids = event.tokenIds;
        }
      }
    } else {
      const stream = client.streamChat({ ...common, messages: ask.messages ?? PROBE_MESSAGES });
      for await (const event of stream) {
        if (event.type === 'text' || event.type === 'reasoning') {
          outcome.tokens++;
          if (event.type === 'text') outcome.text += event.text;
          if (event.ids !== undefined) live.push(...event.ids);
        } else if (event.type === 'done') {
          outcome.finishReason = event.finishReason;
          outcome.usage = event.usage;
          outcome.idsIncomplete = event.stats.idsIncomplete;
          outcome.ids = event.tokenIds;
        }
      }
    }
  } catch (error) {
    if (fatal(error)) throw error;
    outcome.error = error as TokenwireError;
  }
  outcome.liveIds = live.length;
  if (live.length === 0 && outcome.ids !== undefined) outcome.endIds = outcome.ids.length;
  const record = lastPost(tap.records.slice(mark), PATHS[kind]);
  outcome.sent = parseBody(record);
  outcome.wire = readWire(record);
  return outcome;
}

function lastPost(records: TapRecord[], pathEnd: string): TapRecord | undefined {
  for (let i = records.length - 1; i >= 0; i--) {
    const record = records[i];
    if (record.method === 'POST' && record.path.endsWith(pathEnd)) return record;
  }
  return undefined;
}

function parseBody(record: TapRecord | undefined): Record<string, unknown> | undefined {
  if (record?.body === undefined) return undefined;
  try {
    const body: unknown = JSON.parse(record.body);
    return body !== null && typeof body === 'object' ? (body as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** What tokenize + detokenize of the probe text showed. */
export interface TokenizeOutcome {
  /** `works`, `refused` (an HTTP error or a bad answer), or `none` (tokenwire knows no endpoint here). */
  result: 'works' | 'refused' | 'none';
  ids: number[] | undefined;
  /** The detokenized text matched the probe text. */
  roundTrip: boolean;
  error: TokenwireError | undefined;
}

/** Tokenizes the probe text and detokenizes the ids back. */
export async function tokenizeRoundTrip(client: Client): Promise<TokenizeOutcome> {
  try {
    const ids = await client.tokenize(PROBE_PROMPT);
    const text = await client.detokenize(ids);
    return { result: 'works', ids, roundTrip: text.includes(PROBE_PROMPT), error: undefined };
  } catch (error) {
    if (fatal(error)) throw error;
    const failure = error as TokenwireError;
    const result = failure.code === 'unsupported' ? 'none' : 'refused';
    return { result, ids: undefined, roundTrip: false, error: failure };
  }
}
