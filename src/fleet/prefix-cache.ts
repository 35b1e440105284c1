/**
 * What one endpoint probably has in its prefix cache: the prefix keys
 * (prefix-keys.ts) of the prompts sent there, in a bounded LRU set. A prefix tree
 * in effect (key i stands for the whole prefix up to block i), approximate (the
 * server evicts on its own schedule) and of fixed memory ({@link PrefixCache.capacity}
 * keys).
 */

/** Default keys kept per endpoint: 16,384 blocks = 262,144 tokens of distinct prefixes (~1.5 MB). */
export const DEFAULT_PREFIX_CAPACITY = 16_384;

export class PrefixCache {
  /** Key → nothing; Map keeps insertion order, so the first entry is the least recently used. */
  private readonly keys = new Map<number, true>();

  constructor(readonly capacity: number = DEFAULT_PREFIX_CAPACITY) {}

  /** Keys held now. */
  get size(): number {
    return this.keys.size;
  }

  /**
   * How many leading keys of `keys` this cache holds. The keys of one prefix are added
   * together, so "held" is monotone along a prompt: a binary search is enough (a key
   * evicted in the middle makes the answer a lower bound, as a server would also miss).
   */
  longestPrefix(keys: readonly number[]): number {
    let lo = 0;
    let hi = keys.length;
    // Invariant: the first `lo` keys are held (as far as the search can tell); key `hi` is not.
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.keys.has(keys[mid - 1])) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /**
   * Records that `keys` were sent here (most recent use); evicts the least recently used
   * beyond capacity. Added last to first, so that a prefix's first key is its most recent:
   * eviction then takes a prefix's tail before its head (as a server's cache does), and a
   * shared head (a system prompt) stays.
   */
  add(keys: readonly number[]): void {
    const map = this.keys;
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i];
      if (map.has(key)) map.delete(key);
      map.set(key, true);
    }
    let excess = map.size - this.capacity;
    if (excess <= 0) return;
    for (const key of map.keys()) {
      map.delete(key);
      if (--excess === 0) break;
    }
  }

  clear(): void {
    this.keys.clear();
  }
}
