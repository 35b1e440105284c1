/**
 * The router: which endpoint an attempt goes to, and what its end says about that
 * endpoint. Pure policies over EndpointState (no network, no timers; the clock and
 * the random source are passed in), so every decision is table-tested:
 *
 * 1. endpoints that cannot take a request (ejected, cooling, draining, at maxInFlight)
 *    are out; endpoints this request already tried are avoided while another can serve;
 * 2. an explicit session / affinity key pins by consistent hashing with bounded loads;
 * 3. cache affinity: the endpoint holding the longest prefix of the prompt, unless its
 *    load exceeds the least-loaded one's by more than `affinityLoadFactor` (+ slack);
 * 4. otherwise the policy: `least-outstanding` (power of two random choices; the
 *    cost of a candidate is its requests in flight, times its EWMA time to first token
 *    once both candidates have one), `round-robin`, or `weighted` (smooth weighted
 *    round-robin).
 *
 * A client with one endpoint goes through the same code: a fleet of one.
 */

import type { RouteReason } from '../types.js';
import {
  type AttemptVerdict,
  DEFAULT_HEALTH,
  type EndpointSnapshot,
  EndpointState,
  type HealthOptions,
} from './endpoint-state.js';
import { SessionRing } from './session-ring.js';

/** How to choose among endpoints when neither a session nor the cache decides. */
export type RoutingPolicy = 'least-outstanding' | 'round-robin' | 'weighted';

export const ROUTING_POLICIES: readonly RoutingPolicy[] = ['least-outstanding', 'round-robin', 'weighted'];

export type { RouteReason };

/** Router settings (all optional; validated by the client). */
export interface RouterOptions {
  /** Default `least-outstanding`. */
  policy?: RoutingPolicy;
  /** Route to the endpoint holding the longest cached prefix (default true). */
  cacheAffinity?: boolean;
  /** Affinity yields when the cached endpoint's load exceeds the least-loaded one's by this factor. Default 1.25. */
  affinityLoadFactor?: number;
  /** …plus this many requests (so that light load does not break affinity). Default 2. */
  affinityLoadSlack?: number;
  /** Session keys: an endpoint takes at most this factor times its fair share. Default 1.25. */
  sessionLoadFactor?: number;
  health?: Partial<HealthOptions>;
  /** Prefix keys (blocks) remembered per endpoint. Default 16,384. */
  prefixCapacity?: number;
  /** Random source in [0, 1) for power-of-two choices (inject a seeded one in tests). */
  random?: () => number;
}

/** One endpoint as the router is given it. */
export interface RouterEndpoint {
  url: string;
  /** Relative capacity (default 1). */
  weight?: number;
  /** Most requests in flight here (default unlimited). */
  maxInFlight?: number;
}

/** What a request tells the router. */
export interface RouteQuery {
  /** Prefix keys of the prompt (prefix-keys.ts), for cache affinity. */
  keys?: readonly number[];
  /** Session or affinity key: pins by consistent hashing. */
  affinityKey?: string;
  /** Endpoints this request already tried: avoided while another can serve. */
  tried?: readonly EndpointState[];
  /** An endpoint never to choose (a hedge's first endpoint). */
  exclude?: EndpointState;
}

/** The router's answer. */
export interface RouteChoice {
  endpoint: EndpointState;
  reason: RouteReason;
  /** Leading prefix blocks the chosen endpoint is believed to hold. */
  cachedBlocks: number;
}

export class Router {
  readonly policy: RoutingPolicy;
  private endpoints: EndpointState[] = [];
  private readonly ring = new SessionRing();
  private readonly health: HealthOptions;
  private readonly random: () => number;
  private readonly cacheAffinity: boolean;
  private readonly affinityLoadFactor: number;
  private readonly affinityLoadSlack: number;
  private readonly sessionLoadFactor: number;
  private readonly prefixCapacity: number | undefined;
  /** Eligible endpoints of the pick in progress (indices), and a membership mark (reused). */
  private scratch = new Int32Array(0);
  private eligible = new Uint8Array(0);
  private roundRobinNext = 0;
  private waiters: (() => void)[] = [];
  private lastFailure: string | undefined;

  constructor(endpoints: readonly RouterEndpoint[], options: RouterOptions = {}) {
    this.policy = options.policy ?? 'least-outstanding';
    this.health = { ...DEFAULT_HEALTH, ...options.health };
    this.random = options.random ?? Math.random;
    this.cacheAffinity = options.cacheAffinity ?? true;
    this.affinityLoadFactor = options.affinityLoadFactor ?? 1.25;
    this.affinityLoadSlack = options.affinityLoadSlack ?? 2;
    this.sessionLoadFactor = options.sessionLoadFactor ?? 1.25;
    this.prefixCapacity = options.prefixCapacity;
    for (const endpoint of endpoints) this.add(endpoint);
  }

  /** Endpoints (draining ones included until their last request ends). */
  list(): readonly EndpointState[] {
    return this.endpoints;
  }

  get size(): number {
    return this.endpoints.length;
  }

  find(url: string): EndpointState | undefined {
    return this.endpoints.find((e) => e.url === url);
  }

  /** Adds an endpoint (a draining one of that URL comes back instead). */
  add(config: RouterEndpoint): EndpointState {
    const existing = this.find(config.url);
    if (existing) {
      existing.draining = false;
      if (existing.health === 'draining') existing.health = 'healthy';
      this.notify();
      return existing;
    }
    const endpoint = new EndpointState(
      config.url,
      this.endpoints.length,
      config.weight ?? 1,
      config.maxInFlight ?? Number.POSITIVE_INFINITY,
      this.health,
      this.prefixCapacity,
    );
    this.endpoints.push(endpoint);
    this.reindex();
    this.notify();
    return endpoint;
  }

  /** Takes no new requests to `url`; it leaves the list when its last request ends. */
  drain(url: string): boolean {
    const endpoint = this.find(url);
    if (!endpoint) return false;
    endpoint.draining = true;
    endpoint.health = 'draining';
    this.prune();
    return true;
  }

  /** Where the next attempt goes; undefined when no endpoint can take it now. */
  pick(query: RouteQuery, now: number): RouteChoice | undefined {
    let count = this.collect(query.tried, now, true, query.exclude);
    if (count === 0 && query.tried !== undefined && query.tried.length > 0) {
      count = this.collect(undefined, now, false, query.exclude);
    }
    if (count === 0) return undefined;
    const endpoints = this.endpoints;
    const scratch = this.scratch;
    if (count === 1) {
      const endpoint = endpoints[scratch[0]];
      // The turn moves past it as if round-robin had chosen it: else it is served again
      // when the others return (twice in a row after every failover to it).
      if (this.policy === 'round-robin') this.roundRobinNext = (scratch[0] + 1) % endpoints.length;
      return {
        endpoint,
        reason: endpoints.length === 1 ? 'only' : this.policy,
        cachedBlocks: this.cachedBlocks(endpoint, query.keys),
      };
    }
    if (query.affinityKey !== undefined) {
      const chosen = this.sessionPick(query.affinityKey, count);
      if (chosen !== undefined) {
        return { endpoint: chosen, reason: 'session', cachedBlocks: this.cachedBlocks(chosen, query.keys) };
      }
    }
    if (this.cacheAffinity && query.keys !== undefined && query.keys.length > 0) {
      const choice = this.affinityPick(query.keys, count);
      if (choice !== undefined) return choice;
    }
    const endpoint = this.policyPick(count);
    return { endpoint, reason: this.policy, cachedBlocks: this.cachedBlocks(endpoint, query.keys) };
  }

  /**
   * An attempt was sent to `endpoint` with prompt `keys`: counts it, remembers the prefix.
   * True when it is the endpoint's half-open trial (pass that back to end()).
   */
  begin(endpoint: EndpointState, keys: readonly number[] | undefined, now: number): boolean {
    const trial = endpoint.begin(now);
    if (keys !== undefined && keys.length > 0 && this.endpoints.length > 1) endpoint.prefixes.add(keys);
    return trial;
  }

  /**
   * An attempt sent to `endpoint` ended. `coolMs`: the server's Retry-After on a 429/503;
   * `ttftMs`: its time to first token when one came; `trial`: begin() said it was a trial.
   */
  end(
    endpoint: EndpointState,
    verdict: AttemptVerdict,
    now: number,
    details: { ttftMs?: number; coolMs?: number; error?: string; trial?: boolean } = {},
  ): void {
    endpoint.end(now, verdict, details.ttftMs, details.coolMs, details.error, details.trial);
    if (verdict === 'failed' && details.error !== undefined) this.lastFailure = details.error;
    if (endpoint.draining && endpoint.inFlight === 0) this.prune();
    this.notify();
  }

  /** Remembers more of a prefix at `endpoint` (the generated ids, once a request completed). */
  remember(endpoint: EndpointState, keys: readonly number[]): void {
    if (keys.length > 0 && this.endpoints.length > 1 && this.endpoints.includes(endpoint)) {
      endpoint.prefixes.add(keys);
    }
  }

  /** The earliest time an endpoint may take a request (Infinity when only a release can free one). */
  nextAvailableAt(now: number): number {
    let earliest = Number.POSITIVE_INFINITY;
    for (const endpoint of this.endpoints) earliest = Math.min(earliest, endpoint.availableAt(now));
    return earliest;
  }

  /** Resolves at the next change that may free an endpoint (a request ended, one was added). */
  changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** The last failure message reported for any endpoint. */
  lastError(): string | undefined {
    return this.lastFailure;
  }

  snapshot(now: number): EndpointSnapshot[] {
    return this.endpoints.map((e) => e.snapshot(now));
  }

  // ---- internals ----------------------------------------------------------------

  /** Marks the endpoints a request may go to now into scratch; returns how many. */
  private collect(
    tried: readonly EndpointState[] | undefined,
    now: number,
    avoidTried: boolean,
    exclude: EndpointState | undefined,
  ): number {
    const endpoints = this.endpoints;
    const scratch = this.scratch;
    const eligible = this.eligible;
    let count = 0;
    for (let i = 0; i < endpoints.length; i++) {
      const endpoint = endpoints[i];
      const ok =
        endpoint !== exclude && endpoint.available(now) && !(avoidTried && tried?.includes(endpoint));
      eligible[i] = ok ? 1 : 0;
      if (ok) scratch[count++] = i;
    }
    return count;
  }

  private load(endpoint: EndpointState): number {
    return endpoint.inFlight / endpoint.weight;
  }

  private cachedBlocks(endpoint: EndpointState, keys: readonly number[] | undefined): number {
    if (keys === undefined || keys.length === 0 || this.endpoints.length === 1) return 0;
    return endpoint.prefixes.longestPrefix(keys);
  }

  private sessionPick(key: string, count: number): EndpointState | undefined {
    const endpoints = this.endpoints;
    let total = 0;
    let weights = 0;
    for (let c = 0; c < count; c++) {
      const endpoint = endpoints[this.scratch[c]];
      total += endpoint.inFlight;
      weights += endpoint.weight;
    }
    const eligible = this.eligible;
    const factor = this.sessionLoadFactor;
    const index = this.ring.lookup(key, (i) => {
      if (eligible[i] !== 1) return false;
      const endpoint = endpoints[i];
      // Bounded loads: at most ⌈c · (m + 1) · w / W⌉ requests, this one counted.
      return endpoint.inFlight + 1 <= Math.ceil((factor * (total + 1) * endpoint.weight) / weights);
    });
    return index < 0 ? undefined : endpoints[index];
  }

  private affinityPick(keys: readonly number[], count: number): RouteChoice | undefined {
    const endpoints = this.endpoints;
    const scratch = this.scratch;
    let best: EndpointState | undefined;
    let bestBlocks = 0;
    let minLoad = Number.POSITIVE_INFINITY;
    let allEqual = true;
    for (let c = 0; c < count; c++) {
      const endpoint = endpoints[scratch[c]];
      const load = this.load(endpoint);
      if (load < minLoad) minLoad = load;
      const prefixes = endpoint.prefixes;
      if (best === undefined) {
        best = endpoint;
        bestBlocks = prefixes.longestPrefix(keys);
        continue;
      }
      // Only whether it beats the best so far matters: one or two lookups, not a search,
      // for every endpoint that does not.
      if (bestBlocks > 0 && !prefixes.has(keys[bestBlocks - 1])) {
        allEqual = false;
        continue;
      }
      if (bestBlocks < keys.length && prefixes.has(keys[bestBlocks])) {
        best = endpoint;
        bestBlocks = prefixes.longestPrefix(keys, bestBlocks + 1);
        allEqual = false;
      } else if (load < this.load(best)) {
        // As long a prefix: the less loaded one.
        best = endpoint;
      }
    }
    // Nothing cached anywhere, or the same prefix everywhere (a shared system prompt): load decides.
    if (best === undefined || bestBlocks === 0 || allEqual) return undefined;
    if (this.load(best) > minLoad * this.affinityLoadFactor + this.affinityLoadSlack) return undefined;
    return { endpoint: best, reason: 'affinity', cachedBlocks: bestBlocks };
  }

  private policyPick(count: number): EndpointState {
    const endpoints = this.endpoints;
    const scratch = this.scratch;
    if (this.policy === 'round-robin') {
      // The next eligible endpoint after the last one served, in list order.
      const n = endpoints.length;
      for (let step = 0; step < n; step++) {
        const i = (this.roundRobinNext + step) % n;
        if (this.eligible[i] === 1) {
          this.roundRobinNext = (i + 1) % n;
          return endpoints[i];
        }
      }
    }
    if (this.policy === 'weighted') {
      // Smooth weighted round-robin (nginx): each gains its weight, the richest pays the total.
      let total = 0;
      let best: EndpointState | undefined;
      for (let c = 0; c < count; c++) {
        const endpoint = endpoints[scratch[c]];
        endpoint.credit += endpoint.weight;
        total += endpoint.weight;
        if (best === undefined || endpoint.credit > best.credit) best = endpoint;
      }
      best!.credit -= total;
      return best!;
    }
    // Power of two random choices: the less loaded of two distinct random endpoints.
    const first = Math.min(count - 1, Math.floor(this.random() * count));
    let second = Math.min(count - 2, Math.floor(this.random() * (count - 1)));
    if (second >= first) second++;
    const a = endpoints[scratch[first]];
    const b = endpoints[scratch[second]];
    // With a time to first token known for both, the cost of one more request there is
    // (in flight + 1) × that time ("peak EWMA"): a replica three times slower takes a third
    // of the load. Without, requests in flight alone.
    const ttftA = a.ewmaTtftMs;
    const ttftB = b.ewmaTtftMs;
    if (ttftA !== undefined && ttftB !== undefined && ttftA > 0 && ttftB > 0) {
      const costA = ((a.inFlight + 1) / a.weight) * ttftA;
      const costB = ((b.inFlight + 1) / b.weight) * ttftB;
      return costB < costA ? b : a;
    }
    const loadA = this.load(a);
    const loadB = this.load(b);
    if (loadA !== loadB) return loadA < loadB ? a : b;
    // Equal load: the one answering faster lately.
    return (ttftB ?? 0) < (ttftA ?? 0) ? b : a;
  }

  private reindex(): void {
    const endpoints = this.endpoints;
    for (let i = 0; i < endpoints.length; i++) endpoints[i].index = i;
    this.scratch = new Int32Array(endpoints.length);
    this.eligible = new Uint8Array(endpoints.length);
    this.roundRobinNext = 0;
    this.ring.rebuild(endpoints);
  }

  /** Drops draining endpoints with nothing in flight. */
  private prune(): void {
    const kept = this.endpoints.filter((e) => !(e.draining && e.inFlight === 0));
    if (kept.length !== this.endpoints.length) {
      this.endpoints = kept;
      this.reindex();
    }
  }

  /** Wakes calls waiting for an endpoint (one came back by other means, e.g. a probe). */
  notifyChange(): void {
    this.notify();
  }

  private notify(): void {
    if (this.waiters.length === 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }
}
