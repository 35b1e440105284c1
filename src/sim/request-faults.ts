/**
 * The faults of one request (the server's and its `x-sim-fault` header's) and
 * the per-server `fail-first` counters they consume.
 */
import type { IncomingMessage } from 'node:http';
import { type FaultPlan, parseFaults, planFaults } from './faults.js';
import type { SimState } from './handler.js';
import { headerValue } from './incoming.js';

/** The faults of one request: the server's (unless not `serverWide`), then its `x-sim-fault` header's (a FaultSyntaxError when bad). */
export function requestPlan(state: SimState, req: IncomingMessage, serverWide = true): FaultPlan {
  const own = parseFaults(headerValue(req, 'x-sim-fault'));
  return planFaults(
    serverWide ? [...state.serverFaults, ...own] : own,
    (spec) => {
      if (state.onceFired.has(spec)) return false;
      state.onceFired.add(spec);
      return true;
    },
    (spec) => {
      const seen = (state.requestCounts.get(spec) ?? 0) + 1;
      state.requestCounts.set(spec, seen);
      return seen;
    },
  );
}

/** Consumes one failure of a `fail-first` spec on this server; true when the request must fail. */
export function failFirstOf(state: SimState): (key: string, count: number) => boolean {
  return (key, count) => {
    const used = state.failFirstCounts.get(key) ?? 0;
    if (used >= count) return false;
    state.failFirstCounts.set(key, used + 1);
    return true;
  };
}
