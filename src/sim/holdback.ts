/**
 * How the simulator holds back streamed text that may begin a stop string, as the
 * emulated server does (its wire-facts row's `stopHoldback`, read in the servers'
 * source: src/dialects/wire-facts-holdback.ts). Only the text waits: every token's
 * step still goes out with its ids. Text held when the connection breaks is never
 * sent, as on the real servers.
 */
import type { StopHoldbackFact, WireFacts } from '../dialects/wire-facts-types.js';

/** How a token ended the generation, for what happens to held text. */
export type TokenEnd = 'running' | 'eos' | 'length' | 'stop';

export class SimHoldback {
  /** Content generated but not sent yet. */
  private held = '';
  /** Characters of content sent so far (UTF-16 units). */
  private sent = 0;
  /** `suffix`: how many code points stay held while the generation runs. */
  private readonly buffer: number;

  constructor(
    private readonly mode: StopHoldbackFact['mode'],
    private readonly stops: readonly string[],
  ) {
    // vLLM: max(len(s) for s in stop) - 1, in Python characters (code points).
    this.buffer = Math.max(0, ...stops.map((stop) => [...stop].length - 1));
  }

  /**
   * The text to send with a token whose decoded content is `text`. `stopAt`, when a stop
   * string completed, is where it begins in the whole content (nothing from there is sent).
   */
  push(text: string, end: TokenEnd, stopAt?: number): string {
    const start = this.sent;
    let pending = this.held + text;
    if (stopAt !== undefined) {
      // What precedes the stop string and was not sent goes out now (a beginning already
      // sent, as SGLang sends it, stays sent).
      pending = pending.slice(0, Math.max(0, stopAt - start));
      return this.send(pending, pending.length);
    }
    switch (this.mode) {
      case 'none':
        return this.send(pending, pending.length);
      case 'suffix': {
        // vLLM: all of it once finished, else all but the last `buffer` characters.
        if (end !== 'running') return this.send(pending, pending.length);
        return this.send(pending, suffixStart(pending, this.buffer));
      }
      case 'partial': {
        // llama.cpp: nothing while the unsent text ends with a stop string's beginning (the
        // EOG token is not checked); a length finish never sends what is held.
        if (end !== 'eos' && this.endsWithPartialStop(pending)) {
          this.held = pending;
          return '';
        }
        return this.send(pending, pending.length);
      }
    }
  }

  private send(pending: string, upTo: number): string {
    this.held = pending.slice(upTo);
    this.sent += upTo;
    return pending.slice(0, upTo);
  }

  /** `string_find_partial_stop`: the text ends with a (non-empty, proper) beginning of a stop string. */
  private endsWithPartialStop(text: string): boolean {
    for (const stop of this.stops) {
      for (let length = Math.min(stop.length - 1, text.length); length > 0; length--) {
        if (text.endsWith(stop.slice(0, length))) return true;
      }
    }
    return false;
  }
}

/** Where the last `count` code points of `text` begin (0 when it has no more than that). */
export function suffixStart(text: string, count: number): number {
  let at = text.length;
  for (let n = 0; n < count && at > 0; n++) {
    at--;
    const code = text.charCodeAt(at);
    if (code >= 0xdc00 && code <= 0xdfff && at > 0) {
      const high = text.charCodeAt(at - 1);
      if (high >= 0xd800 && high <= 0xdbff) at--;
    }
  }
  return at;
}

/**
 * How the emulated server holds back content that may begin a stop string (its wire-facts
 * row; nothing when the request turns that off: vLLM `include_stop_str_in_output`), and
 * which stop string wins when several complete at once.
 */
export function holdbackOf(
  facts: WireFacts,
  body: Record<string, unknown>,
): { mode: StopHoldbackFact['mode']; firstMatch: StopHoldbackFact['firstMatch'] } | undefined {
  const fact = facts.stopHoldback;
  if (fact === undefined) return undefined;
  const off = fact.offWhen;
  const isOff = off !== undefined && Object.entries(off).every(([key, value]) => body[key] === value);
  return { mode: isOff ? 'none' : fact.mode, firstMatch: fact.firstMatch };
}
