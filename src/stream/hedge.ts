/**
 * Hedging (`hedge: { afterMs }`): when an attempt made before the call's first token has
 * produced nothing after `afterMs`, the same request is sent to a second endpoint; the
 * first of the two to produce output (a token, a reasoning or tool-call delta, or a
 * complete answer) wins, the other is cancelled (its HTTP request aborted: the server sees
 * the connection close). Nothing of the loser reaches the caller: until the win neither
 * has delivered anything, and after it the loser's bytes are dropped.
 *
 * One HedgeRound per attempt that may be hedged; it decides which attempt ends the round
 * (the winner once it settles, or the last failure). A racer that fails while the other
 * still runs is not the call's failure: the other goes on alone. The per-token path is
 * untouched: racing costs the engine one comparison per body read of a non-current
 * attempt, and one per attempt's first output.
 */
import { AbortError, describeRequest } from '../errors.js';
import type { Attempt } from './attempt.js';

/** What a round needs of its stream (BaseStream). */
export interface HedgeHost {
  /** The stream has ended (success, failure, abort). */
  isFinished(): boolean;
  /**
   * Sends the hedge of `round`'s first attempt to a second endpoint, as the rival of the
   * current attempt, and tells `round.sent()` at once; nothing when no other endpoint can
   * take it now (or the round no longer wants it by the time its server type is known).
   */
  startHedge(round: HedgeRound, first: Attempt): Promise<void>;
  /** Abandons a hedge whose request was not sent yet (its endpoint lease). */
  dropPendingHedge(): void;
  /** `loser` is cancelled (request aborted, lease released saying nothing of its endpoint). */
  cancelLoser(loser: Attempt, error: AbortError): void;
  /** `failed` failed while `survivor` runs on: its endpoint is told, `survivor` becomes the current attempt. */
  racerFailed(failed: Attempt, survivor: Attempt): void;
  /** `winner` is the attempt of the stream from now on (no rival). */
  crown(winner: Attempt, loser: Attempt | undefined): void;
}

export class HedgeRound {
  /** The attempt that ends the round: the winner once settled, else the last to fail. */
  readonly outcome: Promise<Attempt>;
  private resolve!: (attempt: Attempt) => void;
  private timer: NodeJS.Timeout | undefined;
  private hedge: Attempt | undefined;
  /** Decided: the attempt that goes on (the winner, or the survivor of a failed racer). */
  private decided: Attempt | undefined;
  private done = false;

  constructor(
    private readonly host: HedgeHost,
    private readonly first: Attempt,
    afterMs: number,
  ) {
    this.outcome = new Promise<Attempt>((resolve) => {
      this.resolve = resolve;
    });
    first.settle = () => this.settled(first);
    if (first.settled) {
      this.settled(first);
      return;
    }
    this.timer = setTimeout(fireHedge, afterMs, this);
  }

  /** @internal The hedge timer fired: sends the hedge if the first attempt is still silent. */
  fire(): void {
    this.timer = undefined;
    if (this.wanted()) void this.host.startHedge(this, this.first);
  }

  /** The hedge's request went out (told synchronously by the host, before any of its callbacks). */
  sent(hedge: Attempt): void {
    this.hedge = hedge;
    hedge.settle = () => this.settled(hedge);
    if (hedge.settled) this.settled(hedge);
  }

  /** Whether a hedge is still wanted: the round open, the first attempt running and silent. */
  wanted(): boolean {
    const first = this.first;
    return (
      !this.done &&
      this.decided === undefined &&
      !this.host.isFinished() &&
      !first.settled &&
      first.firstTokenAt === undefined
    );
  }

  /** A racer produced its first output (it is the stream's current attempt): it wins. */
  won(winner: Attempt): void {
    if (this.decided !== undefined || this.done) return;
    this.decided = winner;
    this.stopTimer();
    const loser = winner === this.first ? this.hedge : this.first;
    if (this.hedge === undefined) this.host.dropPendingHedge();
    this.host.crown(winner, loser);
    if (loser !== undefined && !loser.settled) {
      this.host.cancelLoser(
        loser,
        new AbortError(
          `aborted: hedge_lost: another endpoint (${winner.url.origin}) answered first${describeRequest('POST', loser.url.href)}`,
          { code: 'aborted', phase: 'stream', retryable: false, url: loser.url.href, method: 'POST' },
        ),
      );
    }
  }

  /** The stream ends from outside (abort, close, deadline): the round decides nothing more. */
  stop(): void {
    if (this.done) return;
    this.done = true;
    this.stopTimer();
    this.host.dropPendingHedge();
    this.resolve(this.decided ?? this.first);
  }

  private settled(attempt: Attempt): void {
    if (this.done) return;
    const decided = this.decided;
    if (decided !== undefined) {
      // The loser's settle (it was cancelled) decides nothing.
      if (attempt === decided) this.finish(attempt);
      return;
    }
    const other = attempt === this.first ? this.hedge : this.first;
    if (attempt.failure === undefined) {
      // Complete without any output before the other's (a finish at 0 tokens): an answer.
      this.won(attempt);
      this.finish(attempt);
      return;
    }
    if (other !== undefined && !other.settled && !this.host.isFinished()) {
      // One racer failed, the other runs on alone: not the call's failure.
      this.decided = other;
      this.stopTimer();
      this.host.racerFailed(attempt, other);
      return;
    }
    // Nobody left to wait for (a hedge still being prepared is dropped): this failure ends the round.
    this.finish(attempt);
  }

  private finish(attempt: Attempt): void {
    this.done = true;
    this.stopTimer();
    this.host.dropPendingHedge();
    this.resolve(attempt);
  }

  private stopTimer(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }
}

function fireHedge(round: HedgeRound): void {
  round.fire();
}
