/**
 * What the real SDKs do against each simulator fault, with their own fetch and with
 * tokenwire's `createFetch()`: one row per fault, the outcome each run must have. The
 * README's "Already using openai or the AI SDK?" table states these rows.
 */
import { createFetch, type TokenwireFetch } from '../../src/fetch/index.js';

/** What a run must end with. `text` compares with the same request's text when nothing goes wrong. */
export interface Expected {
  kind: 'ok' | 'threw' | 'hang';
  /** `full`: exactly the fault-free text; `partial`: a non-empty strict prefix of it; `none`: ''; `extra`: more than it. */
  text: 'full' | 'partial' | 'none' | 'extra';
  /** tokenwire's error code (with createFetch). */
  code?: string;
  /** A piece of the message the caller gets (the server's own words, where it sent any). */
  message?: string;
}

export interface FaultRow {
  fault: string;
  /** Simulated server family (its wire shapes, in-stream error shape included). */
  dialect: string;
  /** How long a run may take before it counts as a hang. */
  budgetMs: number;
  /** Pause between the simulator's token events (ms), where a row needs tokens to arrive before its fault. */
  tokenDelayMs?: number;
  /** Clocks of this row's createFetch, where the common ones do not fit it. */
  timeouts?: { firstTokenMs: number };
  openai: Expected;
  openaiFetch: Expected;
  aiSdk: Expected;
  aiSdkFetch: Expected;
}

export const MAX_TOKENS = 16;
/** What the simulator says in an in-stream error (sim/encoder.ts errorMessage). */
const SIM_ERROR = 'simulated failure after 3 tokens';
const HANG_MS = 1_500;

const ok = (text: Expected['text'] = 'full'): Expected => ({ kind: 'ok', text });
const hang = (text: Expected['text']): Expected => ({ kind: 'hang', text });
const threw = (text: Expected['text'], code: string | undefined, message?: string): Expected => ({
  kind: 'threw',
  text,
  code,
  message,
});

export const ROWS: FaultRow[] = [
  {
    fault: '',
    dialect: 'vllm',
    budgetMs: 5_000,
    openai: ok(),
    openaiFetch: ok(),
    aiSdk: ok(),
    aiSdkFetch: ok(),
  },
  {
    fault: 'keepalive-forever:20',
    dialect: 'vllm',
    budgetMs: HANG_MS,
    openai: hang('none'),
    openaiFetch: threw('none', 'first_token_timeout', 'no token within 500 ms'),
    aiSdk: hang('none'),
    aiSdkFetch: threw('none', 'first_token_timeout', 'no token within 500 ms'),
  },
  {
    fault: 'stall-after:3:5000',
    dialect: 'vllm',
    budgetMs: HANG_MS,
    openai: hang('partial'),
    // Resumed once from the ids received (the stall comes again after 3 more tokens).
    openaiFetch: threw('partial', 'idle_timeout', 'no data for 300 ms after 6 tokens'),
    aiSdk: hang('partial'),
    aiSdkFetch: threw('partial', 'idle_timeout', 'no data for 300 ms after 3 tokens'),
  },
  {
    fault: 'truncate-after:3',
    dialect: 'vllm',
    budgetMs: 5_000,
    openai: ok('partial'),
    openaiFetch: threw('partial', 'stream_truncated', 'without a finish reason or [DONE]'),
    aiSdk: threw('partial', undefined, 'Response stream ended without a finish reason'),
    aiSdkFetch: threw('partial', 'stream_truncated', 'without a finish reason or [DONE]'),
  },
  {
    fault: 'data-after-done:3000',
    dialect: 'vllm',
    budgetMs: HANG_MS,
    openai: hang('full'),
    openaiFetch: ok(),
    aiSdk: hang('extra'),
    aiSdkFetch: ok(),
  },
  // llamacpp is the 2026 server: `data: {"error":…}`, then the connection closes (its row).
  ...['vllm', 'openai', 'openrouter', 'llamacpp'].map(
    (dialect): FaultRow => ({
      fault: 'error-after:3',
      dialect,
      budgetMs: 5_000,
      openai: threw('partial', undefined, SIM_ERROR),
      openaiFetch: threw('partial', 'server_error', SIM_ERROR),
      aiSdk: threw('partial', undefined, SIM_ERROR),
      aiSdkFetch: threw('partial', 'server_error', SIM_ERROR),
    }),
  ),
  {
    fault: 'error-after:3',
    // b4748's non-standard `error:` line (plain llamacpp is the 2026 build).
    dialect: 'llamacpp@b4748',
    budgetMs: 5_000,
    openai: ok('partial'),
    openaiFetch: threw('partial', 'server_error', SIM_ERROR),
    aiSdk: threw('partial', undefined, 'Response stream ended without a finish reason'),
    aiSdkFetch: threw('partial', 'server_error', SIM_ERROR),
  },
  {
    fault: 'html-200',
    dialect: 'vllm',
    budgetMs: 5_000,
    openai: ok('none'),
    openaiFetch: threw('none', 'protocol_error', 'Sign in'),
    aiSdk: threw('none', undefined, 'Response stream ended without a finish reason'),
    aiSdkFetch: threw('none', 'protocol_error', 'Sign in'),
  },
  {
    fault: 'json-200',
    dialect: 'vllm',
    budgetMs: 5_000,
    openai: ok('none'),
    openaiFetch: threw('none', 'protocol_error', 'got application/json'),
    aiSdk: threw('none', undefined, 'Response stream ended without a finish reason'),
    aiSdkFetch: threw('none', 'protocol_error', 'got application/json'),
  },
  {
    // A 64 MiB line; createFetch's limit is lowered to 1 MiB here so the test stays fast (default 16 MiB).
    fault: 'huge-line:64',
    dialect: 'vllm',
    budgetMs: 2_000,
    // The simulator builds the 64 MiB line in the test's own process, holding its event loop.
    timeouts: { firstTokenMs: 5_000 },
    openai: hang('none'),
    openaiFetch: threw('none', 'protocol_error', 'maxLineBytes'),
    // The AI SDK reads the whole line (about 2.5 s here), then goes on: its own budget below.
    aiSdk: ok(),
    aiSdkFetch: threw('none', 'protocol_error', 'maxLineBytes'),
  },
  {
    fault: 'reset-after:3:once',
    dialect: 'vllm',
    // Paced: the tokens before the reset reach the client before it (a reset can discard unread data).
    tokenDelayMs: 5,
    budgetMs: 5_000,
    openai: threw('partial', undefined, 'terminated'),
    // Token-id prompt on a server that streams ids: resumed exactly, one seamless stream.
    openaiFetch: ok(),
    aiSdk: threw('partial', undefined, 'Failed to process successful response'),
    // Chat is not resumed through the fetch: the error, after the text before it.
    aiSdkFetch: threw('partial', 'connection_reset', 'connection reset by the server'),
  },
  {
    fault: 'status:429',
    dialect: 'vllm',
    budgetMs: 5_000,
    openai: threw('none', undefined, 'simulated HTTP 429'),
    // Retried by tokenwire, then the server's 429 as it came: the SDK's own error class.
    openaiFetch: threw('none', undefined, 'simulated HTTP 429'),
    aiSdk: threw('none', undefined, 'simulated HTTP 429'),
    aiSdkFetch: threw('none', undefined, 'simulated HTTP 429'),
  },
];

/** Budget of the AI SDK's own run on the 64 MiB line (it completes, slowly). */
export const HUGE_LINE_AI_SDK_BUDGET_MS = 20_000;

/** The fetch every "with" run uses: short clocks, 2 attempts, a 1 MiB line limit, no capture files. */
export function testFetch(row?: FaultRow): TokenwireFetch {
  return createFetch({
    failedRequestsDir: false,
    logger: () => {},
    retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 50 },
    // The simulator runs in the test's own process: building a 64 MiB line holds its event loop, so
    // the headers clock is not short here (no row is about it).
    timeouts: { headersMs: 3_000, firstTokenMs: 500, idleMs: 300, totalMs: 8_000, ...row?.timeouts },
    maxLineBytes: 1024 * 1024,
  });
}
