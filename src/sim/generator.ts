/**
 * The simulator's "model": the next id is a pure function of the seed and the
 * entire id prefix (prompt + generated so far), via a rolling FNV-1a hash with a
 * murmur-style finalizer. So greedy continuation of `prompt + first k generated
 * ids` yields exactly the remaining ids, which is what resume-by-continuation
 * relies on. A first-half UTF-8 piece is always followed by its completing
 * piece, so generated text is valid UTF-8 as a whole (unless max_tokens cuts it
 * between the halves). BOS and pad are never generated.
 *
 * EOS (`eosAfter`): the generator counts the trailing run of ids in the prefix
 * that are themselves greedy continuations of what precedes them — that is, the
 * ids it generated, even when a client sends them back as part of a resumed
 * prompt — and emits EOS as run position `eosAfter`. The count is a function of
 * the prefix alone, so the continuation property holds with EOS too. (A user
 * prompt whose last ids happen to match the greedy choice, about 1 in 300 per id,
 * makes EOS come that much earlier.)
 */
import { EOS_ID, VOCAB } from './vocab.js';

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

function mix(state: number, id: number): number {
  state = Math.imul(state ^ (id & 0xff), FNV_PRIME);
  state = Math.imul(state ^ ((id >>> 8) & 0xff), FNV_PRIME);
  state = Math.imul(state ^ ((id >>> 16) & 0xff), FNV_PRIME);
  return state;
}

function finalize(state: number, seed: number): number {
  let h = (state ^ Math.imul(seed | 0, 0x9e3779b1)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Greedy generation state over a growing prefix. */
export class Generator {
  private state = FNV_OFFSET;
  private last = -1;
  /** Length of the trailing run of greedy ids in the prefix. */
  private run = 0;

  constructor(
    private readonly seed: number,
    private readonly eosAfter: number | undefined,
    prefix: readonly number[],
  ) {
    for (const id of prefix) this.push(id);
  }

  /** The free choice (ignoring EOS) for the current prefix. */
  private choice(): number {
    const forced = VOCAB.completion.get(this.last);
    if (forced !== undefined) return forced;
    const list = VOCAB.generatable;
    return list[finalize(this.state, this.seed) % list.length];
  }

  /** The greedy next id for the current prefix. */
  next(): number {
    if (this.eosAfter !== undefined && this.run + 1 >= this.eosAfter) return EOS_ID;
    return this.choice();
  }

  /** Appends an id to the prefix. */
  push(id: number): void {
    const greedy = this.last !== -1 && id === this.choice();
    this.run = greedy ? this.run + 1 : 0;
    this.state = mix(this.state, id);
    this.last = id;
  }
}

/**
 * Greedy ids: `count` ids continuing `promptIds` (stops after EOS when `eosAfter` is set).
 *
 * @example generate([1, 2, 3], 8, { seed: 0 }) // 8 word-piece ids, always the same
 */
export function generate(
  promptIds: readonly number[],
  count: number,
  opts: { seed?: number; eosAfter?: number } = {},
): number[] {
  const generator = new Generator(opts.seed ?? 0, opts.eosAfter, promptIds);
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const id = generator.next();
    out.push(id);
    if (id === EOS_ID) break;
    generator.push(id);
  }
  return out;
}
