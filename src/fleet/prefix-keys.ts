/**
 * Prefix keys: a prompt as a chain of block hashes, so that two prompts sharing
 * their first k blocks share their first k keys. Key i hashes block i together with
 * key i−1, so a key stands for the whole prefix up to its block (like a server's
 * prefix-cache block hash). Token ids are cut into blocks of {@link ID_BLOCK} ids,
 * text into blocks of {@link TEXT_BLOCK} UTF-16 units, chat into messages (role and
 * content, long contents cut like text). A partial last block has no key: a server
 * caches whole blocks only.
 *
 * Keys are 53-bit integers (two 32-bit hash lanes), exact as JavaScript numbers, so
 * that a collision between different prefixes is ~1 in 2^53 per pair.
 */
import type { ChatMessage } from '../types.js';

/** Token ids per block (vLLM's default KV block is 16 tokens). */
export const ID_BLOCK = 16;
/** UTF-16 units per text block (about 16 tokens of English). */
export const TEXT_BLOCK = 64;
/** Most keys computed per prompt: longer prompts are keyed by their first blocks only (bounds cost). */
export const MAX_KEYS = 4096;

const LANE2_SEED = 0x9e3779b9;
const TWO_POW_32 = 4_294_967_296;

function mix(h: number, value: number): number {
  h = Math.imul(h ^ value, 0x01000193);
  h ^= h >>> 15;
  return Math.imul(h, 0x2c1b3c6d);
}

function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Running state of the chained hash (two lanes). */
class Chain {
  a = 0x811c9dc5;
  b = LANE2_SEED;
  readonly keys: number[] = [];

  push(value: number): void {
    this.a = mix(this.a, value);
    this.b = mix(this.b, value ^ 0x5bd1e995);
  }

  /** Closes a block: its key (prefix so far) is appended, and seeds the next block. */
  close(): boolean {
    const a = finish(this.a);
    const b = finish(this.b);
    this.keys.push((b & 0x1fffff) * TWO_POW_32 + a);
    this.a = a;
    this.b = b;
    return this.keys.length < MAX_KEYS;
  }

  pushText(text: string, tail: boolean): boolean {
    let inBlock = 0;
    for (let i = 0; i < text.length; i++) {
      this.push(text.charCodeAt(i));
      if (++inBlock === TEXT_BLOCK) {
        inBlock = 0;
        if (!this.close()) return false;
      }
    }
    // A message boundary closes its last partial block: the next message starts a new one.
    if (tail && inBlock > 0) return this.close();
    return true;
  }
}

/** The prefix keys of a token-id prompt (one per whole block of {@link ID_BLOCK} ids). */
export function idPrefixKeys(ids: readonly number[], extra?: readonly number[]): number[] {
  const chain = new Chain();
  let inBlock = 0;
  const total = ids.length + (extra?.length ?? 0);
  for (let i = 0; i < total; i++) {
    chain.push(i < ids.length ? ids[i] : extra![i - ids.length]);
    if (++inBlock === ID_BLOCK) {
      inBlock = 0;
      if (!chain.close()) break;
    }
  }
  return chain.keys;
}

/** The prefix keys of a text prompt (one per whole block of {@link TEXT_BLOCK} characters). */
export function textPrefixKeys(text: string, extra?: string): number[] {
  const chain = new Chain();
  chain.push(0x7e57);
  chain.pushText(extra === undefined ? text : text + extra, false);
  return chain.keys;
}

/**
 * The prefix keys of a chat: each message (role, content, tool fields) is a block or
 * several; the last message is included, so a conversation's next turn shares every
 * key of this one.
 */
export function chatPrefixKeys(messages: readonly ChatMessage[], extra?: readonly ChatMessage[]): number[] {
  const chain = new Chain();
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
  if (message.tool_calls !== undefined) text += `\u0000${JSON.stringify(message.tool_calls)}`;
  if (message.tool_call_id !== undefined) text += `\u0000${message.tool_call_id}`;
  return text;
}

/** A 32-bit hash of a string (session keys, endpoint ring points). */
export function hashString(text: string, seed = 0): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < text.length; i++) h = mix(h, text.charCodeAt(i));
  return finish(h);
}
