/**
 * What one endpoint probably has in its prefix cache: the prefix keys
 * (prefix-keys.ts) of the prompts sent there, in a bounded set. A prefix tree in
 * effect (key i stands for the whole prefix up to block i), approximate (the server
 * evicts on its own schedule) and of fixed memory (at most {@link PrefixCache.capacity}
 * keys).
 *
 * Eviction is LRU by generations: keys used lately are in `young`; when it is full it
 * becomes `old` and the previous `old` is dropped; a key found in `old` is moved back
 * to `young`. So a key unused for a whole generation goes, a key in use stays, and
 * every operation is one or two Set lookups (a per-key LRU list cost ~2x more per
 * request, measured in bench/fleet.mjs's routing row).
 */

/** Default keys kept per endpoint: 16,384 blocks = 262,144 tokens of distinct prefixes. */
export const DEFAULT_PREFIX_CAPACITY = 16_384;

export class PrefixCache {
  private young = new Set<number>();
  private old = new Set<number>();
  private readonly generation: number;

  constructor(readonly capacity: number = DEFAULT_PREFIX_CAPACITY) {
    this.generation = Math.max(1, Math.floor(capacity / 2));
  }

  /** Keys held now. */
  get size(): number {
    return this.young.size + this.old.size;
  }

  /** Whether `key` is held. */
  has(key: number): boolean {
    return this.young.has(key) || this.old.has(key);
  }

  /**
   * How many leading keys of `keys` this cache holds. The keys of one prefix are added
   * together, so "held" is monotone along a prompt: a binary search is enough (a key
   * evicted in the middle makes the answer a lower bound, as a server would also miss).
   * `known`: leading keys already known to be held (the search starts after them).
   */
  longestPrefix(keys: readonly number[], known = 0): number {
    let lo = known;
    let hi = keys.length;
    // Invariant: the first `lo` keys are held (as far as the search can tell); key `hi` is not.
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.has(keys[mid - 1])) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /**
   * Records that `keys` were sent here (most recent use). Added last to first: a prefix's
   * head lands in the same generation as its tail or a later one, so eviction takes a
   * prefix's tail before its head (as a server's cache does), and a shared head (a system
   * prompt) stays.
   */
  add(keys: readonly number[]): void {
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i];
      if (this.young.has(key)) continue;
      if (this.young.size >= this.generation) {
        this.old = this.young;
        this.young = new Set();
      }
      this.young.add(key);
      this.old.delete(key);
    }
  }

  clear(): void {
    this.young.clear();
    this.old.clear();
  }
}
