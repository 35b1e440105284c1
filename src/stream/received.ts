/**
 * The tokens a stream has delivered, kept for `partial` on errors, for resume, and
 * for `final()`. Kept as parallel stores of ids and texts rather than the event
 * objects themselves: a consumer's events then die young, and the garbage
 * collector does not copy one object per token (measured: −20 to −28% CPU per token).
 *
 * Memory is what a thousand concurrent streams pay for this, so the stores are sized
 * from the request's `maxTokens` up front (a server sends no more than that) instead
 * of growing by copying, and ids sit in an Int32Array (4 bytes each instead of 8).
 * An id that does not fit one (never seen; servers send vocabulary indices) moves the
 * ids to a plain array, so that what was received is kept exactly as it came.
 */
import type { TokenEvent } from '../types.js';

/** Capacity when the request has no `maxTokens`. */
const DEFAULT_CAPACITY = 64;
/** At most this many slots are reserved up front, however large `maxTokens` is. */
const MAX_RESERVED = 2048;
/** The id slot of a token that came without one. */
const NO_ID = -1;
const EMPTY_IDS = new Int32Array(0);
const EMPTY_TEXTS: string[] = [];

export class ReceivedTokens {
  /** How many tokens were recorded. */
  length = 0;
  /** How many tokens came without an id. */
  missingIds = 0;
  /** Made at the first token: a stream still waiting for its response holds no store. */
  private idSlots: Int32Array = EMPTY_IDS;
  /** The ids once one did not fit `idSlots` (then `idSlots` is no longer used). */
  private wideIds: (number | undefined)[] | undefined;
  private texts: string[] = EMPTY_TEXTS;
  private readonly capacity: number;
  /** Log-probabilities by position; allocated only when a server sends them. */
  private logprobs: (number | undefined)[] | undefined;

  /** @param expected how many tokens the stream may deliver (the request's `maxTokens`), if known */
  constructor(expected?: number) {
    this.capacity = Math.max(1, Math.min(expected ?? DEFAULT_CAPACITY, MAX_RESERVED));
  }

  record(id: number | undefined, text: string, logprob: number | undefined): void {
    const n = this.length;
    if (n === 0 && this.texts === EMPTY_TEXTS) {
      this.idSlots = new Int32Array(this.capacity);
      this.texts = new Array(this.capacity);
    }
    if (logprob !== undefined) {
      this.logprobs ??= [];
      this.logprobs[n] = logprob;
    }
    if (id === undefined) this.missingIds++;
    if (this.wideIds !== undefined) this.wideIds.push(id);
    else if (id === undefined) this.storeId(n, NO_ID);
    else if ((id | 0) === id && id >= 0) this.storeId(n, id);
    else {
      this.wideIds = this.idArray();
      this.wideIds.push(id);
    }
    this.texts[n] = text;
    this.length = n + 1;
  }

  private storeId(n: number, id: number): void {
    let slots = this.idSlots;
    if (n === slots.length) {
      slots = new Int32Array(slots.length * 2);
      slots.set(this.idSlots);
      this.idSlots = slots;
    }
    slots[n] = id;
  }

  /** The ids in order, `undefined` where a token came without one (a new array each call). */
  idArray(): (number | undefined)[] {
    const n = this.length;
    if (this.wideIds !== undefined) return this.wideIds.slice(0, n);
    const slots = this.idSlots;
    const ids: (number | undefined)[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const id = slots[i];
      ids[i] = id === NO_ID ? undefined : id;
    }
    return ids;
  }

  /** Every id in order when each token came with one (and there was any), else undefined. */
  completeIds(): number[] | undefined {
    return this.length > 0 && this.missingIds === 0 ? (this.idArray() as number[]) : undefined;
  }

  /** Empties the text of every token from `index` on (text dropped after a stop string's beginning). */
  blankTextsFrom(index: number): void {
    for (let i = index; i < this.length; i++) this.texts[i] = '';
  }

  /** Replaces the text of token `index` (text settled after a resume: held text, a stop string). */
  setText(index: number, text: string): void {
    this.texts[index] = text;
  }

  /** The text of the tokens from `index` on. */
  textFrom(index: number): string {
    let text = '';
    for (let i = index; i < this.length; i++) text += this.texts[i];
    return text;
  }

  /** Forgets the tokens from `length` on (generated past a stop string the server did not see). */
  truncate(length: number): void {
    for (let i = length; i < this.length; i++) {
      if (this.wideIds === undefined ? this.idSlots[i] === NO_ID : this.wideIds[i] === undefined)
        this.missingIds--;
      this.texts[i] = '';
      if (this.logprobs !== undefined) this.logprobs[i] = undefined;
    }
    if (this.wideIds !== undefined) this.wideIds.length = Math.min(this.wideIds.length, length);
    this.length = Math.min(this.length, length);
  }

  /** The text of the last token, or undefined when there is none. */
  lastText(): string | undefined {
    return this.length > 0 ? this.texts[this.length - 1] : undefined;
  }

  /** At least the last `length` characters of the text of the tokens before `end` (whole tokens). */
  textTail(length: number, end = this.length): string {
    let tail = '';
    for (let i = end - 1; i >= 0 && tail.length < length; i--) tail = this.texts[i] + tail;
    return tail;
  }

  text(): string {
    // Slots past `length` are holes, which join() reads as empty.
    return this.texts.join('');
  }

  /** The tokens as event objects (made on demand: for errors and `final()`). */
  events(): TokenEvent[] {
    const { texts, logprobs } = this;
    const ids = this.idArray();
    const events: TokenEvent[] = new Array(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const event: TokenEvent = { type: 'token', id: ids[i], text: texts[i] };
      const logprob = logprobs?.[i];
      if (logprob !== undefined) event.logprob = logprob;
      events[i] = event;
    }
    return events;
  }
}
