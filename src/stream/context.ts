/** What every stream of a client shares with it (made once per client). */
import type { Dispatcher } from 'undici';
import type { Dialect } from '../dialects/dialect.js';
import type { Fleet, FleetEndpoint } from '../fleet/fleet.js';
import type { LogRecord, ResolvedOptions } from '../options.js';

/** What every stream needs from its client. */
export interface StreamContext {
  dispatcher: Dispatcher;
  options: ResolvedOptions;
  log: (record: LogRecord) => void;
  secrets: readonly (string | undefined)[];
  /** The client's endpoints and the router among them (one endpoint for a single baseUrl). */
  fleet: Fleet;
  /**
   * Detects an endpoint's dialect (`GET /v1/models`), for endpoints whose dialect is `auto`.
   * The detection runs under the client's lifetime, not a caller's: a waiting stream that
   * gives up (abort, its own deadline) does not stop it for the others.
   */
  detect(endpoint: FleetEndpoint): Promise<Dialect>;
  /**
   * The server's text of `ids` (its detokenize endpoint, on `endpoint`), for text a server held
   * back when a stream broke; undefined when the dialect has no such endpoint. Throws the
   * request's error. Absent where the caller cannot make such requests (tokenwire/fetch).
   */
  detokenize?(
    endpoint: FleetEndpoint,
    dialect: Dialect,
    ids: readonly number[],
    model: string | undefined,
  ): Promise<string | undefined>;
  /** The client's unfinished streams, which close() ends (a stream removes itself when it ends). */
  liveStreams: Set<{ abort(reason?: unknown): void }>;
  version: string;
  /** The request's own headers (validated, lower-cased), laid over each endpoint's; undefined for most. */
  requestHeaders?: Readonly<Record<string, string>>;
}
