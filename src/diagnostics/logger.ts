/**
 * The default logger: one line per record on stderr, `tokenwire <level> <event> {fields}`.
 * Records never hold secrets (callers pass redacted data); the line is scrubbed again anyway.
 */
import type { Logger, LogRecord } from '../options.js';
import { scrub } from './redact.js';

/** Formats a record as one line (no newline). */
export function formatRecord(record: LogRecord): string {
  const { level, event, ...fields } = record;
  let json: string;
  try {
    json = JSON.stringify(fields);
  } catch {
    json = '{}';
  }
  return `tokenwire ${level} ${event} ${json}`;
}

/** A logger writing to stderr that scrubs the given secrets from every line. */
export function stderrLogger(secrets: readonly (string | undefined)[]): Logger {
  return (record) => {
    process.stderr.write(`${scrub(formatRecord(record), secrets)}\n`);
  };
}

/**
 * The logger a request uses: anomalies (`warn`) always go out; `debug` records only when
 * debug is on. A logger that throws never breaks a stream.
 */
export function makeLog(
  logger: Logger,
  debug: boolean,
  secrets: readonly (string | undefined)[],
): (record: LogRecord) => void {
  return (record) => {
    if (record.level === 'debug' && !debug) return;
    try {
      logger(secrets.length > 0 ? (JSON.parse(scrub(JSON.stringify(record), secrets)) as LogRecord) : record);
    } catch {
      // A broken logger must not turn a good stream into a failed one.
    }
  };
}
