/**
 * Exit codes of the CLI: one per error class, so scripts can tell a dead server
 * from a slow one without parsing messages. Documented in `tokenwire --help`.
 */
import { TokenwireError } from '../errors.js';

export const EXIT = {
  ok: 0,
  /** A bug or an error that is not a TokenwireError. */
  unexpected: 1,
  /** Bad command line or option value (`invalid_option`). */
  usage: 2,
  /** `connection_*`, `dns_error`: the server could not be reached or dropped the connection. */
  connection: 3,
  /** `http_error`: the server answered with a non-2xx status. */
  http: 4,
  /** `*_timeout`: a per-phase deadline passed. */
  timeout: 5,
  /** `stream_truncated`, `protocol_error`, `server_error`: the stream itself went wrong. */
  stream: 6,
  /** `unsupported`: the server has no such endpoint or capability. */
  unsupported: 7,
  /** `tokenwire probe`: the server does not do what the wire-facts table says (report it). */
  disagreement: 8,
  /** Interrupted by Ctrl-C (SIGINT), like a shell's 128 + 2. */
  interrupted: 130,
  /** Ended by SIGTERM (a service manager, `kill`, a container stopping), like a shell's 128 + 15. */
  terminated: 143,
} as const;

/** The exit-code table as shown in `--help`. */
export const EXIT_CODES_HELP = `Exit codes:
  0    success
  1    unexpected error (a bug: please report it)
  2    invalid usage or option value (invalid_option)
  3    connection failed (connection_refused, connection_reset, connection_error, dns_error)
  4    HTTP error status (http_error)
  5    timeout (connect_timeout, headers_timeout, first_token_timeout, idle_timeout, total_timeout)
  6    bad stream (stream_truncated, protocol_error, server_error)
  7    unsupported by this server (unsupported)
  8    probe: the server disagrees with the wire-facts table (worth reporting)
  130  interrupted (Ctrl-C); the partial summary is still printed
  143  terminated (SIGTERM); the request is aborted cleanly like Ctrl-C`;

/** A command-line mistake, detected before any request. Exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Maps any thrown value to its exit code. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError) return EXIT.usage;
  if (!(error instanceof TokenwireError)) return EXIT.unexpected;
  const code = error.code;
  if (code === 'invalid_option') return EXIT.usage;
  if (code.startsWith('connection_') || code === 'dns_error') return EXIT.connection;
  if (code === 'http_error') return EXIT.http;
  if (code.endsWith('_timeout')) return EXIT.timeout;
  if (code === 'stream_truncated' || code === 'protocol_error' || code === 'server_error') return EXIT.stream;
  if (code === 'unsupported') return EXIT.unsupported;
  if (code === 'aborted') return EXIT.interrupted;
  return EXIT.unexpected;
}
