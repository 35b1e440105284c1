/**
 * Prefix keys: a prompt as a chain of block hashes, so that two prompts sharing
 * their first k blocks share their first k keys. Key i hashes block i together with
 * key i−1, so a key stands for the whole prefix up to its block (like a server's
 * prefix-cache block hash). Token ids are cut into blocks of {@link ID_BLOCK} ids,
 * text into blocks of {@link TEXT_BLOCK} UTF-16 units, chat into messages (role and
 * content, long contents cut like text). A partial last block has no key: a server
 * caches whole blocks only.
 *
 * Keys are 30-bit integers (small integers to V8: cheap to hash and to keep in a
 * Set); two different prefixes share a key about once in 10^9 lookups, which at worst
 * sends one request to a replica without its prefix: the cache is approximate anyway.
 */
import type { ChatMessage } from '../types.js';

/** Token ids per block (vLLM's default KV block is 16 tokens). */
export const ID_BLOCK = 16;
/** UTF-16 units per text block (about 16 tokens of English). */
export const TEXT_BLOCK = 64;
/** Most keys computed per prompt: longer prompts are keyed by their first blocks only (bounds cost). */
export const MAX_KEYS = 4096;

const SEED = 0x811c9dc5;
/** Keeps keys within V8's small-integer range on every platform. */
const KEY_MASK = 0x3fffffff;

/** One step of the running hash (FNV-style multiply, then a shift to spread high bits). */
function mix(h: number, value: number): number {
  h = Math.imul(h ^ value, 0x01000193);
  return h ^ (h >>> 15);
}

/** Closes a block: the chain's value avalanched (murmur3's finalizer). */
function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** Running state of a text chain (blocks of {@link TEXT_BLOCK} characters). */
class TextChain {
  h = SEED;
  inBlock = 0;
  readonly keys: number[] = [];

  push(value: number): void {
    this.h = mix(this.h, value);
  }

  /** Closes the current block; false once {@link MAX_KEYS} keys are made. */
  close(): boolean {
    this.h = finish(this.h);
    this.keys.push(this.h & KEY_MASK);
    this.inBlock = 0;
    return this.keys.length < MAX_KEYS;
  }

  pushText(text: string, closeTail: boolean): boolean {
    for (let i = 0; i < text.length; i++) {
      this.h = mix(this.h, text.charCodeAt(i));
      if (++this.inBlock === TEXT_BLOCK && !this.close()) return false;
    }
    // A message boundary closes its last partial block: the next message starts a new one.
    if (closeTail && this.inBlock > 0) return this.close();
    return true;
  }
}

/** The prefix keys of a token-id prompt (one per whole block of {@link ID_BLOCK} ids), `extra` appended. */
export function idPrefixKeys(ids: readonly number[], extra?: readonly number[]): number[] {
  const keys: number[] = [];
  let h = SEED;
  let inBlock = 0;
  for (let part = 0; part < 2; part++) {
    const list = part === 0 ? ids : extra;
    if (list === undefined) break;
    for (let i = 0; i < list.length; i++) {
      h = Math.imul(h ^ list[i], 0x01000193);
      h ^= h >>> 15;
      if (++inBlock === ID_BLOCK) {
        inBlock = 0;
        h = finish(h);
        keys.push(h & KEY_MASK);
        if (keys.length === MAX_KEYS) return keys;
      }
    }
  }
  return keys;
}

/** The prefix keys of a text prompt (one per whole block of {@link TEXT_BLOCK} characters). */
export function textPrefixKeys(text: string, extra?: string): number[] {
  const chain = new TextChain();
  chain.push(0x7e57);
  if (chain.pushText(text, false) && extra !== undefined) chain.pushText(extra, false);
  return chain.keys;
}

/**
 * The prefix keys of a chat: each message (role, content, tool fields) is a block or
 * several; the last message is included, so a conversation's next turn shares every
 * key of this one.
 */
export function chatPrefixKeys(messages: readonly ChatMessage[], extra?: readonly ChatMessage[]): number[] {
  const chain = new TextChain();
  chain.push(0xc4a7);
  const total = messages.length + (extra?.length ?? 0);
  for (let m = 0; m < total; m++) {
    const message = m < messages.length ? messages[m] : extra![m - messages.length];
    if (!chain.pushText(messageText(message), true)) break;
  }
  return chain.keys;
}

function messageText(message: ChatMessage): string {
  const content =
    typeof message.content === 'string'
      ? message.content
      : message.content === null
        ? ''
        : JSON.stringify(message.content);
  let text = `${String(message.role)}\u0000${content}`;
  if (Array.isArray(message.tool_calls)) {
    for (const call of message.tool_calls) text += `\u0000${toolCallText(call)}`;
  } else if (message.tool_calls !== undefined) text += `\u0000${JSON.stringify(message.tool_calls)}`;
  if (message.tool_call_id !== undefined) text += `\u0000${message.tool_call_id}`;
  return text;
}

/**
 * A tool call by what it says (id, function name, arguments), whatever the order of its
 * keys: the assistant message a stream learns (chat-stream.ts) and the one a caller
 * writes into the next turn must give the same keys.
 */
function toolCallText(call: unknown): string {
  if (typeof call === 'object' && call !== null) {
    const { id, function: fn } = call as { id?: unknown; function?: unknown };
    if (typeof fn === 'object' && fn !== null) {
      const { name, arguments: args } = fn as { name?: unknown; arguments?: unknown };
      const argsText = typeof args === 'string' ? args : JSON.stringify(args);
      return `${String(id)}\u0001${String(name)}\u0001${argsText}`;
    }
  }
  return JSON.stringify(call);
}

/** A 32-bit hash of a string (session keys, endpoint ring points). */
export function hashString(text: string, seed = 0): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < text.length; i++) h = mix(h, text.charCodeAt(i));
  return finish(h) >>> 0;
}
