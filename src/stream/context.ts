/** What every stream of a client shares with it (made once per client). */
import type { Dispatcher } from 'undici';
import type { Dialect } from '../dialects/dialect.js';
import type { LogRecord, ResolvedOptions } from '../options.js';

/** What every stream needs from its client. */
export interface StreamContext {
  dispatcher: Dispatcher;
  options: ResolvedOptions;
  log: (record: LogRecord) => void;
  secrets: readonly (string | undefined)[];
  /** The dialect, detected once per client when `auto`. */
  dialect(signal: AbortSignal): Promise<Dialect>;
  /** The dialect when already known (no detection to wait for). */
  knownDialect(): Dialect | undefined;
  /** Headers of every streaming request (the same for all of a client's streams; not to be changed). */
  streamHeaders: Readonly<Record<string, string>>;
  /** The URL of `path` under the server's root (shared between streams; not to be changed). */
  url(path: string): URL;
  version: string;
}
