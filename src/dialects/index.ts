/**
 * The dialect table and auto-detection. Detection is a pure function of what
 * the server revealed (its URL, `GET /v1/models`, response headers).
 */
import type { DialectName } from '../types.js';
import type { Dialect } from './dialect.js';
import { fireworks } from './fireworks.js';
import { llamacpp } from './llamacpp.js';
import { openai } from './openai.js';
import { openrouter } from './openrouter.js';
import { sglang } from './sglang.js';
import { together } from './together.js';
import { vllm } from './vllm.js';

const DIALECTS: Record<DialectName, Dialect> = {
  vllm,
  sglang,
  llamacpp,
  openai,
  openrouter,
  together,
  fireworks,
};

/** The dialect module for a name, or undefined when none is registered. */
export function dialectByName(name: DialectName): Dialect | undefined {
  return DIALECTS[name];
}

/** Hosted providers recognisable from their URL alone (no request needed). */
export function dialectFromUrl(rootUrl: string): DialectName | undefined {
  const host = new URL(rootUrl).hostname;
  if (host === 'openrouter.ai' || host.endsWith('.openrouter.ai')) return 'openrouter';
  if (host.endsWith('together.xyz') || host.endsWith('together.ai')) return 'together';
  if (host.endsWith('fireworks.ai')) return 'fireworks';
  if (host === 'api.openai.com') return 'openai';
  return undefined;
}

/**
 * Recognises a server from its `GET /v1/models` answer and response headers.
 * Returns undefined when nothing is conclusive.
 */
export function detectDialect(models: unknown, headers: Record<string, string>): DialectName | undefined {
  const server = headers.server ?? '';
  if (server.includes('llama.cpp')) return 'llamacpp';
  const data = (models as { data?: unknown })?.data;
  const first = Array.isArray(data) ? (data[0] as Record<string, unknown> | undefined) : undefined;
  const ownedBy = typeof first?.owned_by === 'string' ? first.owned_by.toLowerCase() : '';
  if (ownedBy === 'vllm') return 'vllm';
  if (ownedBy === 'sglang') return 'sglang';
  if (ownedBy === 'llamacpp' || ownedBy === 'llama.cpp') return 'llamacpp';
  if (ownedBy === 'together') return 'together';
  if (ownedBy === 'fireworks') return 'fireworks';
  if (ownedBy === 'openai' || ownedBy === 'system' || ownedBy === 'openai-internal') return 'openai';
  // vLLM also lists `max_model_len` and `root` on each model.
  if (first && 'max_model_len' in first && 'root' in first) return 'vllm';
  return undefined;
}
