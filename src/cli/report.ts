/**
 * What the CLI says about a call: the live status text, the one-line summary,
 * the partial summary after a failure, and the error lines. All on stderr,
 * each prefixed `tokenwire:` so they are easy to grep out of a log.
 */
import { TokenwireError } from '../errors.js';
import type { StreamStats, Usage } from '../index.js';
import type { LogRecord } from '../options.js';

export const PREFIX = 'tokenwire:';

/** What the CLI knows while a stream runs (the library's stats arrive only with `done`). */
export interface Progress {
  startedAt: number;
  firstTokenAt: number | undefined;
  tokens: number;
  /** Counted from the library's `retry` / `resume` anomaly records. */
  retries: number;
  resumes: number;
}

export function newProgress(): Progress {
  return { startedAt: performance.now(), firstTokenAt: undefined, tokens: 0, retries: 0, resumes: 0 };
}

/** Marks tokens received (call with the number of new tokens). */
export function countTokens(progress: Progress, count: number): void {
  if (count > 0 && progress.firstTokenAt === undefined) progress.firstTokenAt = performance.now();
  progress.tokens += count;
}

/** Updates the counters from a library log record. */
export function countRecord(progress: Progress, record: LogRecord): void {
  if (record.event === 'retry') progress.retries++;
  else if (record.event === 'resume') progress.resumes++;
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

function rate(tokens: number, ms: number): string {
  return ms > 0 ? `${((tokens * 1000) / ms).toFixed(1)} tok/s` : '- tok/s';
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** The status line text while a stream runs. */
export function statusText(progress: Progress, now = performance.now()): string {
  const elapsed = now - progress.startedAt;
  const parts: string[] = [];
  if (progress.firstTokenAt === undefined) {
    parts.push(`waiting for the first token · ${seconds(elapsed)}`);
  } else {
    parts.push(
      plural(progress.tokens, 'token'),
      seconds(elapsed),
      `first token ${Math.round(progress.firstTokenAt - progress.startedAt)} ms`,
      rate(progress.tokens, elapsed),
    );
  }
  if (progress.retries > 0) parts.push(`${progress.retries} ${progress.retries === 1 ? 'retry' : 'retries'}`);
  if (progress.resumes > 0) parts.push(plural(progress.resumes, 'resume'));
  return parts.join(' · ');
}

/**
 * The one-line summary of a finished stream; `, 32 of 40 prompt tokens cached` at the end
 * when `usage` says how many were cached.
 */
export function doneSummary(finishReason: string, tokens: number, stats: StreamStats, usage?: Usage): string {
  const first =
    stats.timeToFirstTokenMs === undefined ? '' : `, first token ${Math.round(stats.timeToFirstTokenMs)} ms`;
  const parts = [
    `${PREFIX} done: ${finishReason}, ${plural(tokens, 'token')} in ${seconds(stats.durationMs)} (${rate(tokens, stats.durationMs)}${first})`,
    plural(stats.attempts, 'attempt'),
    plural(stats.resumes, 'resume'),
  ];
  const where = endpointSummary(stats);
  if (where !== undefined) parts.push(where);
  const cached = usage?.cachedPromptTokens;
  if (cached !== undefined) {
    parts.push(`${cached} of ${usage?.promptTokens ?? '?'} prompt tokens cached`);
  }
  return parts.join(', ');
}

/**
 * Which endpoint served, and where the stream moved (fleets only: a single server's
 * summary stays as it was). `served by B` or `A (connection_reset after 11 tokens) → B`.
 */
export function endpointSummary(stats: StreamStats): string | undefined {
  const attempts = stats.endpoints;
  if (attempts.length === 0 || attempts.every((a) => a.chosenBy === 'only')) return undefined;
  if (attempts.length === 1) return `served by ${attempts[0].url} (${attempts[0].chosenBy})`;
  const steps = attempts.map((a) =>
    a.failed === undefined ? a.url : `${a.url} (${a.failed} after ${plural(a.tokens, 'token')})`,
  );
  return `endpoints ${steps.join(' → ')}`;
}

/** The one-line summary of a stream that failed or was interrupted. */
export function partialSummary(what: string, tokens: number, progress: Progress): string {
  const elapsed = performance.now() - progress.startedAt;
  const attempts = 1 + progress.retries + progress.resumes;
  return `${PREFIX} ${what} after ${plural(tokens, 'token')} in ${seconds(elapsed)} (${rate(tokens, elapsed)}), ${plural(attempts, 'attempt')}, ${plural(progress.resumes, 'resume')}`;
}

/** The error lines: the library's message, then where the failed request was saved. */
export function errorLines(error: unknown): string[] {
  if (error instanceof TokenwireError) {
    const lines = [`${PREFIX} ${error.message}`];
    if (error.fixturePath) {
      lines.push(
        `${PREFIX} failed request saved to ${error.fixturePath} (replay: tokenwire replay ${error.fixturePath})`,
      );
    }
    return lines;
  }
  if (error instanceof Error && error.name === 'UsageError') return [`${PREFIX} ${error.message}`];
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return [`${PREFIX} unexpected error: ${detail}`];
}

/** The NDJSON line of a failure. */
export function errorJson(error: unknown, partial: number): string {
  const code = error instanceof TokenwireError ? error.code : 'unexpected';
  const message = error instanceof Error ? error.message : String(error);
  return JSON.stringify({ type: 'error', code, message, partial });
}
