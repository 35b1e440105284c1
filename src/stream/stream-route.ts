/**
 * A stream's side of fleet routing: which endpoint each attempt goes to (asked of the
 * client's Fleet), the endpoints this call already tried (avoided while another can
 * serve), and how each attempt ended (told back to the Fleet). One object per
 * stream, held by BaseStream (composition: the engine's class chain is unchanged).
 *
 * A lease is taken before its attempt exists (the stream may first wait for the
 * endpoint's server detection): it is `pending` until attach() hands it to the attempt,
 * whose end release() tells. A lease whose attempt was never sent says nothing about its
 * endpoint when the stream ends (abandon()): the caller's abort or deadline is not the
 * endpoint's failure, nor its success.
 */
import type { TokenwireError } from '../errors.js';
import type { EndpointState } from '../fleet/endpoint-state.js';
import type { Fleet, Lease } from '../fleet/fleet.js';
import type { EndpointAttempt } from '../types.js';
import type { Attempt } from './attempt.js';

/** What a stream tells the router about its request. */
export interface RouteHints {
  /** Prefix keys of the prompt (prefix-keys.ts); computed only for fleets of more than one. */
  prefixKeys(): number[] | undefined;
  /**
   * Prefix keys of the prompt followed by what was generated so far: the prefix the
   * next turn of a conversation sends, and the one the server now holds. Undefined when
   * the generated ids are not known exactly. Asked once per attempt that produced tokens.
   */
  learnedKeys(): number[] | undefined;
  /** An explicit session or affinity key. */
  readonly affinityKey: string | undefined;
}

export class StreamRoute {
  /** The lease taken for the next attempt, not sent yet. */
  private pending: Lease | undefined;
  /** The lease taken for a hedge's request, not sent yet (see hedge.ts). */
  private hedgePending: Lease | undefined;
  /** The last failure of this call (for the error when no endpoint is left). */
  lastFailure: TokenwireError | undefined;
  private tried: EndpointState[] | undefined;
  private keys: number[] | undefined;
  private keysComputed = false;

  constructor(
    private readonly fleet: Fleet,
    private readonly hints: RouteHints,
  ) {}

  /** Takes an endpoint for the next attempt and records it in `records`; undefined when none can take it now. */
  take(records: EndpointAttempt[]): Lease | undefined {
    const fleet = this.fleet;
    if (!this.keysComputed && fleet.size > 1) {
      this.keysComputed = true;
      this.keys = this.hints.prefixKeys();
    }
    const lease = fleet.lease({ keys: this.keys, affinityKey: this.hints.affinityKey, tried: this.tried });
    if (lease !== undefined) {
      this.pending = lease;
      records.push(lease.record);
    }
    return lease;
  }

  /**
   * Takes a second endpoint for a hedge of `first` (never `first`'s own; those this call
   * tried are avoided while another can serve); undefined when none can take it now.
   */
  takeHedge(first: Attempt): Lease | undefined {
    const lease = this.fleet.lease(
      {
        keys: this.keys,
        affinityKey: this.hints.affinityKey,
        tried: this.tried,
        exclude: first.lease?.endpoint.state,
      },
      true,
    );
    this.hedgePending = lease;
    return lease;
  }

  /**
   * The pending lease (the hedge's, for a hedge) is `attempt`'s from now on (release(attempt)
   * ends it); a hedge's is recorded in `records` now that its request goes out.
   */
  attach(attempt: Attempt, hedge: boolean, records: EndpointAttempt[]): void {
    if (hedge) {
      attempt.lease = this.hedgePending;
      this.hedgePending = undefined;
      if (attempt.lease !== undefined) records.push(attempt.lease.record);
      return;
    }
    attempt.lease = this.pending;
    this.pending = undefined;
  }

  /** `attempt` ended (successfully when `failure` is undefined): its endpoint is told how. */
  release(attempt: Attempt, failure: TokenwireError | undefined): void {
    const lease = attempt.lease;
    if (lease === undefined || lease.released) return;
    if (attempt.responseId !== undefined) lease.record.responseId = attempt.responseId;
    if (attempt.model !== undefined) lease.record.model = attempt.model;
    const ttftMs = attempt.firstTokenAt === undefined ? undefined : attempt.firstTokenAt - attempt.startedAt;
    // The endpoint now holds the prompt and what it generated (whole or partial): the next
    // turn's prefix. Once per attempt that produced output (a token, or a tool-call delta),
    // from what is already stored; fleets of one keep no keys.
    if (this.keys !== undefined && attempt.firstTokenAt !== undefined) {
      const learned = this.hints.learnedKeys();
      if (learned !== undefined) this.fleet.remember(lease, learned);
    }
    this.fleet.release(lease, failure, attempt.tokens, ttftMs);
    if (failure !== undefined) this.failedAt(lease, failure);
  }

  /**
   * The pending lease's endpoint could not be used (its server detection failed): judged as
   * a failed attempt. For a hedge's, the endpoint is judged; the call goes on without it.
   */
  failPending(failure: TokenwireError, hedge = false): void {
    const lease = hedge ? this.hedgePending : this.pending;
    if (lease === undefined || lease.released) return;
    if (hedge) this.hedgePending = undefined;
    else this.pending = undefined;
    this.fleet.release(lease, failure, 0, undefined);
    if (!hedge) this.failedAt(lease, failure);
  }

  /** The stream ended before sending its pending leases' attempts (`why`: its error code): no verdict. */
  abandon(why: string | undefined): void {
    const lease = this.pending;
    this.pending = undefined;
    if (lease !== undefined) this.fleet.abandon(lease, why);
    this.abandonHedge();
  }

  /** A hedge no longer wanted before its request was sent: no verdict. */
  abandonHedge(): void {
    const lease = this.hedgePending;
    this.hedgePending = undefined;
    if (lease !== undefined) this.fleet.abandon(lease, undefined);
  }

  /** `attempt` was cancelled by the call itself (a hedge's loser): no verdict, `why` recorded. */
  cancel(attempt: Attempt, why: string): void {
    const lease = attempt.lease;
    if (lease !== undefined) this.fleet.abandon(lease, why);
  }

  /** Whether an endpoint this call has not tried can take the next attempt at once. */
  elsewhere(): boolean {
    return this.tried !== undefined && this.fleet.canServeElsewhere(this.tried);
  }

  /** The error when no endpoint could take the call before its deadline. */
  unavailableError(): TokenwireError {
    return this.fleet.unavailableError(this.lastFailure);
  }

  nextAvailableAt(): number {
    return this.fleet.nextAvailableAt();
  }

  changed(): Promise<void> {
    return this.fleet.changed();
  }

  private failedAt(lease: Lease, failure: TokenwireError): void {
    this.lastFailure = failure;
    (this.tried ??= []).push(lease.endpoint.state);
  }
}
