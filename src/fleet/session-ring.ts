/**
 * Consistent hashing with bounded loads (Mirrokni, Thorup, Zadimoghaddam 2018):
 * a session key maps to a point on a ring of endpoint points and takes the first
 * endpoint clockwise whose load stays within `c` times the fair share. Adding or
 * removing an endpoint moves only the sessions that hashed near its points; a hot
 * session spills to the next endpoint instead of overloading one.
 */
import type { EndpointState } from './endpoint-state.js';
import { hashString } from './prefix-keys.js';

/** Ring points per unit of weight: enough that shares even out within ~10% at 4–64 endpoints. */
const POINTS_PER_WEIGHT = 64;
/** Most points of one endpoint (a huge weight must not make a huge ring). */
const MAX_POINTS = 4_096;

export class SessionRing {
  private hashes = new Uint32Array(0);
  private owners = new Int32Array(0);
  /** Endpoints already judged during one lookup (reused: a lookup allocates nothing). */
  private judged = new Uint8Array(0);

  /** Rebuilds the ring over `endpoints` (their `index` is their position in that list). */
  rebuild(endpoints: readonly EndpointState[]): void {
    const points: { hash: number; owner: number }[] = [];
    for (let e = 0; e < endpoints.length; e++) {
      const endpoint = endpoints[e];
      const count = Math.min(MAX_POINTS, Math.max(1, Math.round(POINTS_PER_WEIGHT * endpoint.weight)));
      for (let p = 0; p < count; p++) points.push({ hash: hashString(`${endpoint.url}#${p}`), owner: e });
    }
    points.sort((a, b) => a.hash - b.hash || a.owner - b.owner);
    this.hashes = Uint32Array.from(points, (p) => p.hash);
    this.owners = Int32Array.from(points, (p) => p.owner);
    this.judged = new Uint8Array(endpoints.length);
  }

  /**
   * The endpoint for `key`: the first clockwise from its hash that `accept`s it (available,
   * not excluded, under its load bound). -1 when none does.
   */
  lookup(key: string, accept: (endpointIndex: number) => boolean): number {
    const hashes = this.hashes;
    const n = hashes.length;
    if (n === 0) return -1;
    const h = hashString(key);
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (hashes[mid] < h) lo = mid + 1;
      else hi = mid;
    }
    const judged = this.judged;
    judged.fill(0);
    let left = judged.length;
    for (let step = 0; step < n && left > 0; step++) {
      const owner = this.owners[(lo + step) % n];
      // Each endpoint is judged once per lookup, at its first point clockwise.
      if (judged[owner] === 1) continue;
      judged[owner] = 1;
      left--;
      if (accept(owner)) return owner;
    }
    return -1;
  }
}
