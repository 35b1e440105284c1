/**
 * One simulated replica's serving model, for clusters (cluster.ts): a prefix cache
 * (an LRU of token blocks, as vLLM's automatic prefix caching keeps KV blocks) that
 * decides how many prompt tokens were cached, and a service rate (streams running at
 * once slow each other down; a replica can be made slower than its peers).
 *
 * The cached count is reported the way vLLM does, as
 * `usage.prompt_tokens_details.cached_tokens`: vllm-project/vllm
 * vllm/entrypoints/openai/protocol.py `PromptTokenUsageInfo.cached_tokens` /
 * `UsageInfo.prompt_tokens_details` (commit 0052bed3), filled in
 * vllm/entrypoints/openai/serving_completion.py
 * `OpenAIServingCompletion.completion_stream_generator` (commit 00463e62) only when
 * the server runs with `--enable-prompt-tokens-details` and the count is non-zero
 * (`if self.enable_prompt_tokens_details and num_cached_tokens:`), in the final usage
 * chunk. So a replica here omits the field when nothing was cached.
 */

/** Tokens per cache block (vLLM's default `--block-size` is 16). */
export const SIM_BLOCK_TOKENS = 16;

/** Options of a replica's model. */
export interface ReplicaModelOptions {
  /** Cache blocks kept (LRU). Default 8,192 (131,072 tokens). 0 disables the cache. */
  cacheBlocks?: number;
  /** Pause between tokens of one stream when it runs alone, ms. Default 0 (as fast as possible). */
  tokenDelayMs?: number;
  /** Prefill time per uncached prompt token, ms. Default 0. */
  prefillMsPerToken?: number;
  /** Streams that run at full speed together; beyond, each slows in proportion. Default 16. */
  concurrency?: number;
  /** Multiplies every delay (3 = a replica three times slower). Default 1. */
  slowdown?: number;
}

/** What admitting one request decided. */
export interface Admission {
  /** Prompt tokens found in the cache (whole blocks of the prompt's prefix). */
  cachedTokens: number;
  /** Time to spend before the first token (prefill of the uncached part). */
  prefillMs: number;
  /** The request ended (call once). */
  release(): void;
}

/** Counters of one replica's model. */
export interface ReplicaStats {
  requests: number;
  promptTokens: number;
  cachedTokens: number;
  /** Streams running now, and the most at once. */
  active: number;
  maxActive: number;
}

const FNV_OFFSET = 0x811c9dc5;

export class ReplicaModel {
  slowdown: number;
  private readonly cache = new Map<number, true>();
  private readonly cacheBlocks: number;
  private readonly tokenDelay: number;
  private readonly prefillPerToken: number;
  private readonly concurrency: number;
  readonly stats: ReplicaStats = { requests: 0, promptTokens: 0, cachedTokens: 0, active: 0, maxActive: 0 };

  constructor(options: ReplicaModelOptions = {}) {
    this.cacheBlocks = options.cacheBlocks ?? 8_192;
    this.tokenDelay = options.tokenDelayMs ?? 0;
    this.prefillPerToken = options.prefillMsPerToken ?? 0;
    this.concurrency = Math.max(1, options.concurrency ?? 16);
    this.slowdown = options.slowdown ?? 1;
  }

  /** The current pause between tokens: slower with more streams running, and on a slow replica. */
  tokenDelayMs(): number {
    if (this.tokenDelay === 0) return 0;
    return this.tokenDelay * this.slowdown * Math.max(1, this.stats.active / this.concurrency);
  }

  /** Admits a request for `promptIds`: looks its blocks up, caches them, counts it as running. */
  admit(promptIds: readonly number[]): Admission {
    const stats = this.stats;
    stats.requests++;
    stats.promptTokens += promptIds.length;
    const cachedTokens = this.lookupAndInsert(promptIds);
    stats.cachedTokens += cachedTokens;
    stats.active++;
    if (stats.active > stats.maxActive) stats.maxActive = stats.active;
    const load = Math.max(1, stats.active / this.concurrency);
    const prefillMs = (promptIds.length - cachedTokens) * this.prefillPerToken * this.slowdown * load;
    let released = false;
    return {
      cachedTokens,
      prefillMs,
      release: () => {
        if (released) return;
        released = true;
        stats.active--;
      },
    };
  }

  /**
   * A request's generation ended (complete or cut short): the whole blocks of its prompt
   * and output stay cached, as the next turn of a conversation will send them. vLLM
   * caches the full blocks of every computed token, output included (vllm-project/vllm
   * `vllm/v1/core/kv_cache_manager.py` `KVCacheManager.allocate_slots`: `cache_blocks`
   * up to `min(total_computed_tokens + num_new_tokens, request.num_tokens)`, at 003df29);
   * SGLang inserts `origin_input_ids + output_ids` into its radix tree when a request
   * finishes (sgl-project/sglang `python/sglang/srt/mem_cache/radix_cache.py`
   * `RadixCache.cache_finished_req`, at 006b0e3). The last id's KV is never computed (it
   * is not fed back), so it is left out.
   */
  cacheOutput(promptIds: readonly number[], outputIds: readonly number[]): void {
    if (this.cacheBlocks === 0 || outputIds.length < 2) return;
    this.lookupAndInsert([...promptIds, ...outputIds.slice(0, -1)]);
  }

  /** Forgets the cache (a restarted replica starts cold). */
  clearCache(): void {
    this.cache.clear();
  }

  /** Leading whole blocks of `ids` already cached, in tokens; then caches every whole block. */
  private lookupAndInsert(ids: readonly number[]): number {
    if (this.cacheBlocks === 0) return 0;
    const cache = this.cache;
    let hash = FNV_OFFSET;
    let hit = true;
    let cached = 0;
    const blocks: number[] = [];
    for (let i = 0; i + SIM_BLOCK_TOKENS <= ids.length; i += SIM_BLOCK_TOKENS) {
      for (let j = i; j < i + SIM_BLOCK_TOKENS; j++) {
        hash = Math.imul(hash ^ ids[j], 0x01000193) >>> 0;
        hash = Math.imul(hash ^ (ids[j] >>> 16), 0x01000193) >>> 0;
      }
      // Block i's key covers the whole prefix up to it, as vLLM's block hashes chain.
      const key = hash * 64 + (blocks.length & 63);
      if (hit && cache.has(key)) cached += SIM_BLOCK_TOKENS;
      else hit = false;
      blocks.push(key);
    }
    // Most recent first for the prefix head, so eviction takes a prefix's tail first.
    for (let b = blocks.length - 1; b >= 0; b--) {
      cache.delete(blocks[b]);
      cache.set(blocks[b], true);
    }
    let excess = cache.size - this.cacheBlocks;
    if (excess > 0) {
      for (const key of cache.keys()) {
        cache.delete(key);
        if (--excess === 0) break;
      }
    }
    return cached;
  }
}
