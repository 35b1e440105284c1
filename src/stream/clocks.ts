/**
 * The per-phase clocks of one attempt, as pure functions: which deadline comes
 * next, and which (if any) has passed; and the one timer a stream keeps to ask them.
 */
import type { TimeoutOptions } from '../options.js';

/** What the clocks need to know about an attempt (times from `performance.now()`). */
export interface ClockState {
  startedAt: number;
  connectedAt: number | undefined;
  headersAt: number | undefined;
  firstTokenAt: number | undefined;
  lastDataAt: number;
  /** The socket is paused because the consumer is behind: silence is ours, not the server's. */
  paused: boolean;
}

export type ExpiredClock =
  | 'total_timeout'
  | 'connect_timeout'
  | 'headers_timeout'
  | 'first_token_timeout'
  | 'idle_timeout';

type Timeouts = Required<Pick<TimeoutOptions, 'connectMs' | 'headersMs' | 'firstTokenMs' | 'idleMs'>>;

/** The earliest moment a clock could expire (Infinity when none is running). */
export function nextDeadline(state: ClockState, timeouts: Timeouts, totalDeadline: number): number {
  let next = totalDeadline;
  if (state.connectedAt === undefined && timeouts.connectMs > 0) {
    next = Math.min(next, state.startedAt + timeouts.connectMs);
  }
  if (state.headersAt === undefined && timeouts.headersMs > 0) {
    next = Math.min(next, state.startedAt + timeouts.headersMs);
  }
  if (state.firstTokenAt === undefined) {
    if (timeouts.firstTokenMs > 0) next = Math.min(next, state.startedAt + timeouts.firstTokenMs);
  } else if (timeouts.idleMs > 0 && !state.paused) {
    next = Math.min(next, state.lastDataAt + timeouts.idleMs);
  }
  return next;
}

/** The clock that has run out at `now`, if any; the total deadline wins ties. */
export function expiredClock(
  state: ClockState,
  timeouts: Timeouts,
  totalDeadline: number,
  now: number,
): ExpiredClock | undefined {
  if (now >= totalDeadline) return 'total_timeout';
  if (
    state.connectedAt === undefined &&
    timeouts.connectMs > 0 &&
    now >= state.startedAt + timeouts.connectMs
  ) {
    // Includes waiting for a free connection of the pool: both keep the request from starting.
    return 'connect_timeout';
  }
  if (
    state.headersAt === undefined &&
    timeouts.headersMs > 0 &&
    now >= state.startedAt + timeouts.headersMs
  ) {
    return 'headers_timeout';
  }
  if (state.firstTokenAt === undefined) {
    if (timeouts.firstTokenMs > 0 && now >= state.startedAt + timeouts.firstTokenMs)
      return 'first_token_timeout';
  } else if (timeouts.idleMs > 0 && !state.paused && now >= state.lastDataAt + timeouts.idleMs) {
    return 'idle_timeout';
  }
  return undefined;
}

/** What a Watchdog's timer calls when it fires. */
export interface ClockOwner {
  checkClocks(): void;
}

/**
 * The one timer of a stream's clocks, re-armed only when it fires or a deadline
 * comes earlier than it: the hot path just stores timestamps, and the timer checks
 * whether a deadline really passed.
 */
export class Watchdog {
  private timer: NodeJS.Timeout | undefined;
  /** When the timer is due (`performance.now()` time). */
  private dueAt = Number.POSITIVE_INFINITY;

  /** @param owner called when the timer fires (an object, not a closure: memory at many streams) */
  constructor(private readonly owner: ClockOwner) {}

  /** Makes sure the timer fires by `deadline` (Infinity: no deadline). */
  arm(deadline: number, now: number): void {
    // A timer already due no later than that checks then and re-arms: keep it (the first
    // token would otherwise replace every stream's timer once).
    if (this.timer !== undefined && this.dueAt <= deadline) return;
    this.clear();
    if (deadline === Number.POSITIVE_INFINITY) return;
    this.dueAt = deadline;
    this.timer = setTimeout(fire, Math.max(1, Math.ceil(deadline - now)), this);
  }

  /** @internal The timer fired. */
  fired(): void {
    this.timer = undefined;
    this.owner.checkClocks();
  }

  clear(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }
}

function fire(watchdog: Watchdog): void {
  watchdog.fired();
}
