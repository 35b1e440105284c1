/**
 * The reliability matrix: every simulator fault × every dialect, with the one
 * right outcome for each. The test runs it; docs/reliability.md is generated from
 * it (and checked against it), so the published guarantees are what is tested.
 */

import { wireFactsFor } from '../../src/dialects/wire-facts.js';

export const DIALECTS = ['vllm', 'sglang', 'llamacpp', 'openai', 'openrouter', 'together'] as const;
export type MatrixDialect = (typeof DIALECTS)[number];

/**
 * Dialects whose completion ids stream live and resume exactly, as the wire-facts table
 * says, so a broken stream can be continued exactly.
 */
export const LIVE_IDS: readonly MatrixDialect[] = DIALECTS.filter((dialect) => {
  const { completions } = wireFactsFor(dialect);
  return completions.ids.delivery === 'live' && completions.resume;
});

export const MAX_TOKENS = 16;
export const PROMPT = [1, 2, 3];

/** The client options every cell uses: small clocks so stalls resolve fast. */
export const CLIENT_OPTIONS = {
  retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2_000 },
  timeouts: { headersMs: 500, firstTokenMs: 700, idleMs: 300, totalMs: 8_000 },
  maxLineBytes: 1024 * 1024,
} as const;

export type Outcome =
  | { ok: true; resumes: number; attempts: number; parseErrors?: number }
  | { code: string; partial: number; status?: number; attempts: number };

export interface MatrixCase {
  fault: string;
  /** What the fault does, for the docs. */
  what: string;
  outcome(dialect: MatrixDialect): Outcome;
  /** Longest the cell may take, ms (the configured clocks plus a margin). */
  budgetMs: number;
  /**
   * Clocks for this row instead of {@link CLIENT_OPTIONS}' (a fault about framing, not time,
   * whose slow delivery would otherwise race the first-token clock on a loaded machine).
   */
  timeouts?: { headersMs?: number; firstTokenMs?: number; idleMs?: number; totalMs?: number };
}

const ok = (resumes = 0, attempts = 1, parseErrors?: number): Outcome => ({
  ok: true,
  resumes,
  attempts,
  parseErrors,
});
const fail = (code: string, partial: number, attempts: number, status?: number): Outcome => ({
  code,
  partial,
  attempts,
  status,
});

/** After 5 tokens: resumed exactly where ids stream live; elsewhere the error with the 5 tokens. */
const afterFive = (code: string) => (dialect: MatrixDialect) =>
  LIVE_IDS.includes(dialect) ? ok(1, 2) : fail(code, 5, 1);

export const MATRIX: MatrixCase[] = [
  { fault: '', what: 'no fault', outcome: () => ok(), budgetMs: 2_000 },
  {
    fault: 'byte-writes',
    what: 'every byte in its own write (clocks 5 s: this row is about framing, not time)',
    outcome: () => ok(),
    budgetMs: 15_000,
    timeouts: { headersMs: 5_000, firstTokenMs: 5_000, idleMs: 5_000, totalMs: 15_000 },
  },
  { fault: 'line-endings:cr', what: 'bare `\\r` line endings', outcome: () => ok(), budgetMs: 2_000 },
  { fault: 'line-endings:crlf', what: '`\\r\\n` line endings', outcome: () => ok(), budgetMs: 2_000 },
  { fault: 'keepalive:5', what: 'keepalive comments every 5 ms', outcome: () => ok(), budgetMs: 2_000 },
  {
    fault: 'stall-headers:2000',
    what: 'no response head for 2 s (headers clock 500 ms)',
    outcome: () => fail('headers_timeout', 0, 3),
    budgetMs: 3 * 500 + 1_500,
  },
  {
    fault: 'stall-first-token:2000',
    what: 'head, then no token for 2 s (first-token clock 700 ms)',
    outcome: () => fail('first_token_timeout', 0, 3),
    budgetMs: 3 * 700 + 1_500,
  },
  {
    fault: 'keepalive-forever:20',
    what: 'head, then only keepalive comments',
    outcome: () => fail('first_token_timeout', 0, 3),
    budgetMs: 3 * 700 + 1_500,
  },
  {
    fault: 'stall-after:5:2000:once',
    what: 'a 2 s stall after 5 tokens (idle clock 300 ms), once',
    outcome: afterFive('idle_timeout'),
    budgetMs: 300 + 1_500,
  },
  {
    fault: 'reset-after:5:once',
    what: 'connection reset (RST) after 5 tokens, once',
    outcome: afterFive('connection_reset'),
    budgetMs: 1_500,
  },
  {
    fault: 'truncate-after:5:once',
    what: 'clean EOF after 5 tokens: no finish, no `[DONE]`, once',
    outcome: afterFive('stream_truncated'),
    budgetMs: 1_500,
  },
  {
    fault: 'error-after:5:once',
    what: "the dialect's in-stream error (code 500) after 5 tokens, once",
    outcome: afterFive('server_error'),
    budgetMs: 1_500,
  },
  {
    fault: 'fail-first:1:429',
    what: 'the first request gets HTTP 429',
    outcome: () => ok(0, 2),
    budgetMs: 2_500,
  },
  {
    fault: 'status:503',
    what: 'every request gets HTTP 503',
    outcome: () => fail('http_error', 0, 3, 503),
    budgetMs: 3_000,
  },
  {
    fault: 'status:401',
    what: 'HTTP 401 (never retried)',
    outcome: () => fail('http_error', 0, 1, 401),
    budgetMs: 1_500,
  },
  {
    fault: 'status:502',
    what: 'HTTP 502 with a proxy HTML page',
    outcome: () => fail('http_error', 0, 3, 502),
    budgetMs: 3_000,
  },
  {
    fault: 'huge-line:2',
    what: 'a 2 MiB line (limit 1 MiB)',
    outcome: () => fail('protocol_error', 0, 1),
    budgetMs: 2_000,
  },
  {
    fault: 'bad-json-after:3',
    what: 'one event of invalid JSON after 3 tokens',
    outcome: () => ok(0, 1, 1),
    budgetMs: 2_000,
  },
  {
    fault: 'html-200',
    what: 'HTTP 200 with an HTML page',
    outcome: () => fail('protocol_error', 0, 1),
    budgetMs: 1_500,
  },
  {
    fault: 'json-200',
    what: 'HTTP 200 with a JSON body instead of a stream',
    outcome: () => fail('protocol_error', 0, 1),
    budgetMs: 1_500,
  },
  { fault: 'data-after-done', what: 'junk events after `[DONE]`', outcome: () => ok(), budgetMs: 2_500 },
  {
    fault: 'no-blank-line-at-end',
    what: 'last event without its blank line, then EOF',
    outcome: () => ok(),
    budgetMs: 1_500,
  },
];

/** One cell as text for the docs. */
export function describeOutcome(outcome: Outcome): string {
  if ('ok' in outcome) {
    const notes = [];
    if (outcome.resumes > 0) notes.push(`resumed ×${outcome.resumes}`);
    else if (outcome.attempts > 1) notes.push(`retried ×${outcome.attempts - 1}`);
    if (outcome.parseErrors) notes.push(`${outcome.parseErrors} parse error reported`);
    return `✓ complete${notes.length > 0 ? ` (${notes.join(', ')})` : ''}`;
  }
  const status = outcome.status ? ` ${outcome.status}` : '';
  const tries = outcome.attempts > 1 ? ` after ${outcome.attempts} attempts` : '';
  const kept = outcome.partial > 0 ? `, ${outcome.partial} tokens in \`partial\`` : '';
  return `\`${outcome.code}\`${status}${tries}${kept}`;
}

/** docs/reliability.md, generated from MATRIX. */
export function renderMatrixDoc(): string {
  const lines = [
    '# What tokenwire guarantees: the reliability matrix',
    '',
    '<!-- Generated from test/reliability/matrix.ts by `UPDATE_DOCS=1 npx vitest run test/reliability`. Do not edit by hand. -->',
    '',
    'Each row is a fault the built-in simulator injects (`tokenwire sim --fault …`, or the',
    '`x-sim-fault` header); each column a server dialect it emulates. Each cell is the one',
    'outcome the test suite asserts for a greedy 16-token completion with token-id prompt',
    `[1, 2, 3], retries on (3 attempts), and clocks of ${CLIENT_OPTIONS.timeouts.headersMs} ms (headers),`,
    `${CLIENT_OPTIONS.timeouts.firstTokenMs} ms (first token) and ${CLIENT_OPTIONS.timeouts.idleMs} ms (idle).`,
    '"✓ complete" means the exact ids and text of the uninterrupted run; an error means a thrown',
    '`TokenwireError` with that code, within the configured clocks, with every token received kept.',
    `Resume needs ids that stream live and a server that continues from them (${LIVE_IDS.join(', ')}, as`,
    `docs/servers.md says); ${DIALECTS.filter((d) => !LIVE_IDS.includes(d)).join(', ')} cannot, so their broken streams fail with the tokens received.`,
    '',
    `| fault | what it does | ${DIALECTS.join(' | ')} |`,
    `|---|---|${DIALECTS.map(() => '---').join('|')}|`,
  ];
  for (const row of MATRIX) {
    const cells = DIALECTS.map((dialect) => describeOutcome(row.outcome(dialect)));
    lines.push(
      `| ${row.fault === '' ? '(none)' : `\`${row.fault}\``} | ${row.what} | ${cells.join(' | ')} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}
