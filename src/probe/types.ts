/**
 * What `probeServer` takes and gives back: the options (a Client's, with the
 * probe's bounds) and the report (one check per fact, each compared to the
 * wire-facts row of the detected server version).
 */
import type { ServerIdentity } from '../detection.js';
import type { ClientOptions } from '../options.js';
import type { DialectName } from '../types.js';

/** Options of {@link probeServer}: a single server's Client options and the probe's own bounds. */
export interface ProbeOptions
  extends Omit<ClientOptions, 'endpoints' | 'discovery' | 'routing' | 'retry' | 'failedRequestsDir'> {
  /**
   * Deadline of each request the probe sends, in ms (default 10,000): connect, headers,
   * first token, idle gap and total are each held to it (a `timeouts` option narrows them).
   */
  requestTimeoutMs?: number;
  /** Tokens each generation asks for (default 3; 2 to 16). */
  maxTokens?: number;
  /** Stops the probe; it then fails with `aborted`. */
  signal?: AbortSignal;
}

/** How an observation compares with the table. */
export type ProbeStatus = 'agree' | 'disagree' | 'unchecked';

/** One fact: what the table says, what the server did, and whether they match. */
export interface ProbeCheck {
  /**
   * The fact, as `area.name`: `detection.versionPath`, `tokenize.endpoints`, and per endpoint
   * (`completions.` / `chat.`) `stream`, `ids`, `promptIds`, `usage.includeUsage`,
   * `usage.withoutIncludeUsage`, `logprobs`, `priority`, `resume`, `roleChunk`, `reasoningField`.
   */
  fact: string;
  /** What the table says, in words; undefined when the table has no such fact. */
  expected: string | undefined;
  /** What the server did, in words. */
  observed: string;
  /** `disagree`: the server does not do what the table says (worth a report); `unchecked`: not compared (see `detail`). */
  status: ProbeStatus;
  /** The table marks this fact `verified: false` (from notes or documentation only). */
  unverified?: boolean;
  /** The server's message, or why the fact was not compared. */
  detail?: string;
}

/** What {@link probeServer} found. */
export interface ProbeReport {
  /** The server's root URL (credentials never shown). */
  url: string;
  /** The dialect in use and the version, as `client.server()` reports them. */
  server: ServerIdentity;
  /** Whether the dialect was detected or named in the options. */
  dialectSource: 'detected' | 'configured';
  /** The wire-facts row compared against (`vllm@0.11`). */
  row: string;
  /** The dialect of that row. */
  rowDialect: DialectName;
  checks: ProbeCheck[];
  /** Checks whose status is `disagree`. */
  disagreements: number;
  /** Wall time of the whole probe. */
  durationMs: number;
}
