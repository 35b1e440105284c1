/**
 * Runs one stream to its end for the CLI: Ctrl-C aborts it cleanly (exit 130
 * with the partial summary; SIGTERM the same with exit 143), failures print the library's message and where
 * the request was saved, and the exit code says which class of failure it was.
 */

import { formatRecord } from '../diagnostics/logger.js';
import { TokenwireError } from '../errors.js';
import type { Logger, LogRecord } from '../options.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import type { LiveOutput } from './live.js';
import { countRecord, errorJson, errorLines, PREFIX, type Progress, partialSummary } from './report.js';
import { exitForSignal, watchStopSignals } from './signals.js';

/** What every stream output mode needs. */
export interface StreamOutput {
  live: LiveOutput;
  progress: Progress;
  json: boolean;
  quiet: boolean;
}

/**
 * Anomalies that always end in a `retry`/`resume` record or in the final error
 * line, which say the same thing: shown only with --debug.
 */
const REPEATED_LATER = new Set([
  'idle_timeout',
  'first_token_timeout',
  'headers_timeout',
  'total_timeout',
  'stream_truncated',
  'server_error',
]);

/** One readable line for a library record. */
export function formatNote(record: LogRecord): string {
  if (record.event === 'retry' || record.event === 'resume') {
    const delay =
      typeof record.delayMs === 'number' ? `, next attempt in ${Math.round(record.delayMs)} ms` : '';
    return `${PREFIX} ${record.event} (attempt ${String(record.attempt)} failed after ${String(record.tokensReceived)} tokens: ${String(record.error)})${delay}`;
  }
  return `${PREFIX} ${formatRecord(record).replace(/^tokenwire /, '')}`;
}

/** A logger that counts retries and resumes and prints anomalies as notes. */
export function cliLogger(output: Omit<StreamOutput, 'json' | 'quiet'>, debug = false): Logger {
  return (record) => {
    countRecord(output.progress, record);
    if (!debug && record.level === 'warn' && REPEATED_LATER.has(record.event)) return;
    output.live.note(formatNote(record));
  };
}

interface Abortable<E> extends AsyncIterable<E> {
  abort(reason?: unknown): void;
}

/**
 * Iterates `start()`'s stream, handing each event to `onEvent`, and returns the
 * exit code. `onEvent` returns the line(s) to print once the stream is over (the summary).
 */
export async function runStream<E>(
  output: StreamOutput,
  start: () => Abortable<E>,
  onEvent: (event: E) => void,
): Promise<number> {
  const { live, progress } = output;
  let stream: Abortable<E> | undefined;
  const signals = watchStopSignals((received) => stream?.abort(`interrupted (${received})`));
  try {
    stream = start();
    const early = signals.received();
    if (early !== undefined) stream.abort(`interrupted (${early})`);
    for await (const event of stream) onEvent(event);
    return EXIT.ok;
  } catch (error) {
    live.finish();
    const partial = error instanceof TokenwireError ? error.partial.length : progress.tokens;
    if (output.json) process.stdout.write(`${errorJson(error, partial)}\n`);
    const signal = signals.received();
    if (signal !== undefined && error instanceof TokenwireError && error.code === 'aborted') {
      const what = signal === 'SIGINT' ? 'interrupted' : 'terminated';
      if (!output.quiet) process.stderr.write(`${partialSummary(what, partial, progress)}\n`);
      return exitForSignal(signal);
    }
    for (const line of errorLines(error)) process.stderr.write(`${line}\n`);
    if (!output.quiet && partial > 0 && !output.json) {
      process.stderr.write(`${partialSummary('failed', partial, progress)}\n`);
    }
    return exitCodeFor(error);
  } finally {
    live.finish();
    signals.dispose();
  }
}
