/**
 * The engine's observer hook: what a stream tells an observer (telemetry) about its
 * call, at the points the engine already passes (attempt start, each SSE event, a
 * retry or resume, the end). A stream without an observer pays one undefined check at
 * each of these points (per attempt, per body read) and nothing else: no allocation, no
 * closure, nothing per token.
 */
import type { TokenwireError } from '../errors.js';
import type { StreamStats, Usage } from '../types.js';
import type { ResponseInfo } from './response-info.js';

/** Receives a stream's events. Set once, before the stream starts (see StreamSink.observe). */
export interface StreamObserver {
  /**
   * An attempt is about to be sent to `url` (the first, a retry, a resume; with a fleet,
   * possibly another endpoint than the last attempt's).
   */
  attempt(number: number, url: URL, dialect: string): void;
  /**
   * A hedge: the same request sent to `url` as attempt `number`, because the attempt in
   * flight (to `first`) produced nothing within `hedge.afterMs`. Both run until one answers.
   */
  hedge(number: number, url: URL, dialect: string, first: URL | undefined): void;
  /** A hedge race was decided: `winner` answered first, `loser`'s request was cancelled. */
  hedgeDecided(winner: URL, loser: URL): void;
  /** The headers of an attempt: `base` (never changed), or a copy with trace context added. */
  headers(base: Readonly<Record<string, string>>): Readonly<Record<string, string>>;
  /**
   * A read of the response body that carried at least one SSE event arrived, at `t`
   * (`performance.now()`). Per read, not per event: events that arrived together in one
   * read arrived at the same time (a burst), and a call per event would cost per token.
   */
  chunk(t: number): void;
  /**
   * The call's response id or model was read (once per attempt, from its first chunk; see
   * response-info.ts for how attempts combine). `response` is the call's, as it stands now.
   */
  response(response: ResponseInfo): void;
  /**
   * Asking the endpoint what server it is (dialect detection) failed, before any request of
   * this call: `detection` counts the call's failed detections, `retryDelayMs` is the wait
   * before the next try (undefined when the call gives up).
   */
  detectionFailed(
    failure: TokenwireError,
    detection: number,
    endpoint: string,
    retryDelayMs: number | undefined,
  ): void;
  /** The attempt failed with `failure` and the call goes on (`resume`: by continuation). */
  retry(resume: boolean, failure: TokenwireError, tokensReceived: number, delayMs: number): void;
  /** The call ended complete; `output.text()` is the generated text (read only if wanted). */
  succeeded(finishReason: string, usage: Usage, stats: StreamStats, output: { text(): string }): void;
  /** The call failed (or was aborted) with `error`. */
  failed(error: TokenwireError, stats: StreamStats): void;
}
