/**
 * One endpoint's health and load as the router sees it: requests in flight, how
 * recent attempts ended, passive outlier detection (consecutive failures or a
 * failure rate eject it for an exponentially growing cooldown, then one trial
 * request decides), a server's `Retry-After` cooling, draining, the EWMA of time to
 * first token and the prefix cache of what was sent there. Pure state: times are
 * passed in, nothing here reads a clock or the network.
 */
import { PrefixCache } from './prefix-cache.js';

/**
 * Where an endpoint stands: `healthy`; `cooling` (a 429/503 asked for a pause);
 * `ejected` (too many failures, cooldown running); `half-open` (cooldown over, one trial
 * request at a time decides); `draining` (leaving the fleet: no new requests).
 */
export type EndpointHealth = 'healthy' | 'cooling' | 'ejected' | 'half-open' | 'draining';

/** Passive outlier detection settings. */
export interface HealthOptions {
  /** Failures in a row that eject an endpoint. Default 3. */
  consecutiveFailures: number;
  /** Failure fraction over the recent window that ejects an endpoint. Default 0.5. */
  failureRate: number;
  /** Attempts remembered for the failure rate. Default 20. */
  failureWindow: number;
  /** Attempts in the window before the rate may eject. Default 10. */
  minSamples: number;
  /** First ejection's cooldown; each ejection in a row doubles it. Default 1,000 ms. */
  baseEjectionMs: number;
  /** Longest cooldown. Default 60,000 ms. */
  maxEjectionMs: number;
}

export const DEFAULT_HEALTH: Readonly<HealthOptions> = {
  consecutiveFailures: 3,
  failureRate: 0.5,
  failureWindow: 20,
  minSamples: 10,
  baseEjectionMs: 1_000,
  maxEjectionMs: 60_000,
};

/** Weight of the newest sample in the time-to-first-token average. */
const TTFT_EWMA_ALPHA = 0.2;

/** How an attempt ended, for the endpoint's health. */
export type AttemptVerdict =
  /** The endpoint served (a token arrived, or the stream completed). */
  | 'ok'
  /** The endpoint failed (connect error, 5xx, reset, timeout, truncation). */
  | 'failed'
  /** Says nothing about the endpoint (the caller aborted, a 4xx for a bad request). */
  | 'neutral';

/** What a snapshot tells about one endpoint (`client.endpoints()`). */
export interface EndpointSnapshot {
  url: string;
  state: EndpointHealth;
  weight: number;
  inFlight: number;
  maxInFlight: number;
  /** Failures / attempts over the recent window (0 when none yet). */
  errorRate: number;
  /** Exponentially weighted average time to first token, ms (undefined before the first). */
  ewmaTtftMs: number | undefined;
  /** Prefix keys (blocks) remembered for cache-aware routing. */
  prefixBlocks: number;
  /** Attempts routed here, ever. */
  attempts: number;
  /** Times it was ejected, ever. */
  ejections: number;
  /** When an ejection or a cooling ends (ms, the router's clock), if one runs. */
  until: number | undefined;
  /** The last failure's message (no secrets: errors are scrubbed before they get here). */
  lastError: string | undefined;
}

export class EndpointState {
  inFlight = 0;
  health: EndpointHealth = 'healthy';
  ewmaTtftMs: number | undefined = undefined;
  consecutiveFailures = 0;
  /** Ejections in a row (reset by a successful trial): the cooldown's exponent. */
  ejectionStreak = 0;
  ejections = 0;
  attempts = 0;
  ejectedUntil = 0;
  coolUntil = 0;
  /** A half-open endpoint's trial request is in flight. */
  trialInFlight = false;
  draining = false;
  lastError: string | undefined;
  /** Smooth weighted round-robin's running credit. */
  credit = 0;
  readonly prefixes: PrefixCache;
  /** Recent verdicts, a ring: 1 failed, 0 ok. */
  private readonly window: Uint8Array;
  private windowNext = 0;
  private windowCount = 0;
  private windowFailures = 0;

  constructor(
    readonly url: string,
    public index: number,
    readonly weight: number,
    readonly maxInFlight: number,
    private readonly options: HealthOptions,
    prefixCapacity?: number,
  ) {
    this.window = new Uint8Array(Math.max(1, options.failureWindow));
    this.prefixes = new PrefixCache(prefixCapacity);
  }

  /** Brings time-driven states up to `now` (an ejection's cooldown over → half-open; cooling over). */
  refresh(now: number): EndpointHealth {
    if (this.draining) return (this.health = 'draining');
    if (this.health === 'ejected' && now >= this.ejectedUntil) this.health = 'half-open';
    if (this.health === 'cooling' && now >= this.coolUntil) this.health = 'healthy';
    return this.health;
  }

  /** Whether a new request may go here now. */
  available(now: number): boolean {
    const health = this.refresh(now);
    if (this.inFlight >= this.maxInFlight) return false;
    if (health === 'healthy') return true;
    return health === 'half-open' && !this.trialInFlight;
  }

  /** When this endpoint may take a request again, if it cannot now (Infinity: only when load drops). */
  availableAt(now: number): number {
    const health = this.refresh(now);
    if (health === 'draining') return Number.POSITIVE_INFINITY;
    if (health === 'ejected') return this.ejectedUntil;
    if (health === 'cooling') return this.coolUntil;
    return this.available(now) ? now : Number.POSITIVE_INFINITY;
  }

  /** A request was sent here; true when it is a half-open endpoint's trial. */
  begin(now: number): boolean {
    this.inFlight++;
    this.attempts++;
    if (this.refresh(now) !== 'half-open') return false;
    this.trialInFlight = true;
    return true;
  }

  /**
   * A request sent here ended (or produced its first token, for `ok`): updates health.
   * `ttftMs` feeds the average; `coolMs` (a 429/503's Retry-After) pauses the endpoint.
   * `trial`: it was the half-open trial (begin() said so); one that ends saying nothing
   * (`neutral`: its caller gave up) frees the trial for the next request.
   */
  end(
    now: number,
    verdict: AttemptVerdict,
    ttftMs?: number,
    coolMs?: number,
    error?: string,
    trial = false,
  ): void {
    if (this.inFlight > 0) this.inFlight--;
    if (trial && verdict === 'neutral') this.trialInFlight = false;
    this.judge(now, verdict, ttftMs, coolMs, error);
  }

  /** Health bookkeeping of one verdict (also used when the verdict comes before the end). */
  judge(now: number, verdict: AttemptVerdict, ttftMs?: number, coolMs?: number, error?: string): void {
    const trial = this.trialInFlight;
    if (verdict !== 'neutral') this.trialInFlight = false;
    if (ttftMs !== undefined) {
      this.ewmaTtftMs =
        this.ewmaTtftMs === undefined
          ? ttftMs
          : this.ewmaTtftMs + TTFT_EWMA_ALPHA * (ttftMs - this.ewmaTtftMs);
    }
    if (verdict === 'neutral') return;
    this.record(verdict === 'failed');
    if (verdict === 'ok') {
      this.consecutiveFailures = 0;
      if (this.health === 'half-open' || trial) {
        this.health = this.draining ? 'draining' : 'healthy';
        this.ejectionStreak = 0;
        this.resetWindow();
      }
      return;
    }
    this.lastError = error;
    this.consecutiveFailures++;
    if (this.draining) return;
    if (coolMs !== undefined && coolMs > 0 && this.health !== 'ejected') {
      // The server said when to come back: only this endpoint pauses, for that long.
      this.coolUntil = Math.max(this.coolUntil, now + coolMs);
      if (this.health !== 'half-open') this.health = 'cooling';
    }
    const rateTrips =
      this.windowCount >= this.options.minSamples &&
      this.windowFailures / this.windowCount >= this.options.failureRate;
    if (
      trial ||
      this.health === 'half-open' ||
      this.consecutiveFailures >= this.options.consecutiveFailures ||
      rateTrips
    ) {
      this.eject(now);
    }
  }

  /** Stops sending here for a cooldown that doubles with each ejection in a row. */
  eject(now: number): void {
    this.ejectionStreak++;
    this.ejections++;
    const cooldown = Math.min(
      this.options.maxEjectionMs,
      this.options.baseEjectionMs * 2 ** (this.ejectionStreak - 1),
    );
    this.ejectedUntil = Math.max(now + cooldown, this.coolUntil);
    this.health = 'ejected';
    this.consecutiveFailures = 0;
    this.resetWindow();
  }

  /**
   * A health probe succeeded: an ejected or half-open endpoint is healthy again at once.
   * True when that changed its state.
   */
  recover(now: number): boolean {
    const health = this.refresh(now);
    if (health !== 'ejected' && health !== 'half-open') return false;
    this.health = 'healthy';
    this.ejectionStreak = 0;
    this.consecutiveFailures = 0;
    this.trialInFlight = false;
    this.resetWindow();
    return true;
  }

  /** Failures / attempts over the recent window. */
  errorRate(): number {
    return this.windowCount === 0 ? 0 : this.windowFailures / this.windowCount;
  }

  snapshot(now: number): EndpointSnapshot {
    const state = this.refresh(now);
    return {
      url: this.url,
      state,
      weight: this.weight,
      inFlight: this.inFlight,
      maxInFlight: this.maxInFlight,
      errorRate: this.errorRate(),
      ewmaTtftMs: this.ewmaTtftMs,
      prefixBlocks: this.prefixes.size,
      attempts: this.attempts,
      ejections: this.ejections,
      until: state === 'ejected' ? this.ejectedUntil : state === 'cooling' ? this.coolUntil : undefined,
      lastError: this.lastError,
    };
  }

  private record(failed: boolean): void {
    const window = this.window;
    if (this.windowCount === window.length) this.windowFailures -= window[this.windowNext];
    else this.windowCount++;
    window[this.windowNext] = failed ? 1 : 0;
    if (failed) this.windowFailures++;
    this.windowNext = (this.windowNext + 1) % window.length;
  }

  private resetWindow(): void {
    this.window.fill(0);
    this.windowNext = 0;
    this.windowCount = 0;
    this.windowFailures = 0;
  }
}
