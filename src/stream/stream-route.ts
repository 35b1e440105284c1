/**
 * A stream's side of fleet routing: which endpoint each attempt goes to (asked of the
 * client's Fleet), the endpoints this call already tried (avoided while another can
 * serve), and how each attempt ended (told back to the Fleet). One object per
 * stream, held by BaseStream (composition: the engine's class chain is unchanged).
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
  /** An explicit session or affinity key. */
  readonly affinityKey: string | undefined;
}

export class StreamRoute {
  /** The endpoint of the attempt in flight (or being prepared). */
  lease: Lease | undefined;
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
      this.lease = lease;
      records.push(lease.record);
    }
    return lease;
  }

  /** The attempt on the current lease ended (successfully when it has no failure). */
  release(attempt: Attempt | undefined, failure: TokenwireError | undefined): void {
    const lease = this.lease;
    if (lease === undefined || lease.released) return;
    this.lease = undefined;
    const ttftMs = attempt?.firstTokenAt === undefined ? undefined : attempt.firstTokenAt - attempt.startedAt;
    this.fleet.release(lease, failure, attempt?.tokens ?? 0, ttftMs);
    if (failure !== undefined) {
      this.lastFailure = failure;
      (this.tried ??= []).push(lease.endpoint.state);
    }
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
}
