/**
 * One request's output, generated a step at a time as the response is written:
 * a response of a million tokens holds one step in memory, not a million. The
 * steps are those of steps.ts (UTF-8 held back across tokens, reasoning first,
 * then the scripted tool call), and max_tokens bounds all of them together,
 * tool-call fragments included.
 */
import type { StopHoldbackFact } from '../dialects/wire-facts-types.js';
import { Generator } from './generator.js';
import { SimHoldback } from './holdback.js';
import { mergeSteps, type Step, type StepKind, toolSteps } from './steps.js';
import { idsToBytes, incompleteTail } from './tokenizer.js';
import { EOS_ID, VOCAB } from './vocab.js';

export type FinishReason = 'stop' | 'length' | 'tool_calls';

/** What a {@link Generation} is asked to produce. */
export interface GenerationPlan {
  seed: number;
  eosAfter: number | undefined;
  promptIds: readonly number[];
  /** Every id counts, tool-call fragments included. */
  maxTokens: number;
  /** The first this-many tokens are reasoning (already at most maxTokens). */
  reasoning: number;
  /** A tool call follows the reasoning (chat with tools). */
  tool: boolean;
  /** Keep every generated id (for wires that repeat them at the end). */
  keepIds: boolean;
  /**
   * Stop strings (the request's `stop`), checked in the generated content only (as vLLM
   * does: `check_stop_strings` over its output text, never the prompt). Generation ends on
   * the token that completes one, finish 'stop', its text cut before the stop string.
   */
  stop?: readonly string[];
  /**
   * How streamed content that may begin a stop string is held back, and which stop string
   * wins when several complete in one token (the emulated server's `stopHoldback`);
   * undefined: nothing held, the earliest one wins.
   */
  holdback?: { mode: StopHoldbackFact['mode']; firstMatch: StopHoldbackFact['firstMatch'] };
}

const EMPTY = Buffer.alloc(0);
/** The scripted tool call's fragments are the same for every request. */
let toolFragments: Step[] | undefined;

/** The ids of one request, produced lazily; finishReason is known once next() returned undefined. */
export class Generation {
  private readonly generator: Generator;
  private pending: Buffer = EMPTY;
  private toolIndex = 0;
  private ended = false;
  /** Ids produced so far (the usage's completion tokens once done). */
  produced = 0;
  /** Tool-call fragments produced so far. */
  toolSteps = 0;
  /** Set when the generation is over. */
  finishReason: FinishReason | undefined;
  /** Every id produced, when the plan kept them. */
  readonly outputIds: number[] | undefined;
  /** The end of the content generated so far (longest stop string − 1 characters), for stop strings. */
  private stopTail = '';
  /** Characters of content generated so far. */
  private contentLength = 0;
  /** Holds back content that may begin a stop string, when the plan has stop strings. */
  private readonly holdback: SimHoldback | undefined;

  constructor(private readonly plan: GenerationPlan) {
    this.generator = new Generator(plan.seed, plan.eosAfter, plan.promptIds);
    this.outputIds = plan.keepIds ? [] : undefined;
    const stops = plan.stop?.filter((stop) => stop !== '') ?? [];
    if (stops.length > 0) this.holdback = new SimHoldback(plan.holdback?.mode ?? 'none', stops);
  }

  /** The next step, or undefined when the generation is over. */
  next(): Step | undefined {
    if (this.ended) return undefined;
    // EOS, or max_tokens inside the tool call, decided the end on the step before.
    if (this.finishReason !== undefined) return this.end(this.finishReason);
    const plan = this.plan;
    const tokenBudget = plan.tool ? plan.reasoning : plan.maxTokens;
    if (this.produced < tokenBudget) return this.token(tokenBudget);
    if (plan.tool) return this.toolStep();
    return this.end('length');
  }

  private end(reason: FinishReason): undefined {
    this.ended = true;
    this.finishReason = reason;
    return undefined;
  }

  private token(budget: number): Step {
    const plan = this.plan;
    const i = this.produced;
    const id = this.generator.next();
    this.produced += 1;
    this.outputIds?.push(id);
    const eos = id === EOS_ID;
    if (eos) this.finishReason = 'stop';
    else this.generator.push(id);
    const kind: StepKind = i < plan.reasoning ? 'reasoning' : 'content';
    // Reasoning and content are separate texts: nothing is carried across the border.
    if (i === plan.reasoning && this.pending.length > 0) this.pending = EMPTY;
    const piece = VOCAB.bytes[id];
    const combined = this.pending.length === 0 ? piece : Buffer.concat([this.pending, piece]);
    // The last token of a text flushes what is held back (as U+FFFD), so no text is silently lost.
    const last = eos || this.produced === budget || this.produced === plan.reasoning;
    const tail = last ? 0 : incompleteTail(combined);
    const out = tail === 0 ? combined : combined.subarray(0, combined.length - tail);
    this.pending = tail === 0 ? EMPTY : Buffer.from(combined.subarray(combined.length - tail));
    const text = out.toString('utf8');
    if (kind === 'content' && this.holdback !== undefined) {
      const stopAt = this.stopAt(text, plan.stop as readonly string[]);
      const end = stopAt !== undefined ? 'stop' : eos ? 'eos' : last ? 'length' : 'running';
      const sent = this.holdback.push(text, end, stopAt);
      if (stopAt !== undefined) {
        this.finishReason = 'stop';
        this.pending = EMPTY;
        return { ids: [id], text: sent, bytes: Buffer.from(sent), held: false, kind };
      }
      return { ids: [id], text: sent, bytes: sent === text ? out : Buffer.from(sent), held: tail > 0, kind };
    }
    return { ids: [id], text, bytes: out, held: tail > 0, kind };
  }

  /**
   * When `text` completes a stop string (possibly begun in earlier text), where that stop
   * string begins in the whole content; else undefined.
   */
  private stopAt(text: string, stops: readonly string[]): number | undefined {
    const window = this.stopTail + text;
    const windowStart = this.contentLength - this.stopTail.length;
    this.contentLength += text.length;
    // vLLM and SGLang stop at the first of the list found; llama.cpp at the one that begins first.
    const listOrder = this.plan.holdback?.firstMatch === 'list-order';
    let first = -1;
    for (const stop of stops) {
      if (stop === '') continue;
      const at = window.indexOf(stop);
      if (at !== -1 && (first === -1 || at < first)) first = at;
      if (first !== -1 && listOrder) break;
    }
    if (first !== -1) return windowStart + first;
    const keep = Math.max(0, ...stops.map((stop) => stop.length - 1));
    this.stopTail = keep === 0 ? '' : window.slice(-keep);
    return undefined;
  }

  private toolStep(): Step | undefined {
    toolFragments ??= toolSteps();
    const room = this.plan.maxTokens - this.produced;
    if (this.toolIndex >= toolFragments.length) return this.end('tool_calls');
    if (room <= 0) return this.end('length');
    const fragment = toolFragments[this.toolIndex++];
    this.toolSteps += 1;
    if (fragment.ids.length <= room) {
      this.produced += fragment.ids.length;
      this.outputIds?.push(...fragment.ids);
      return fragment;
    }
    // max_tokens ends the call inside this fragment: the ids that fit, and their text.
    const ids = fragment.ids.slice(0, room);
    this.produced += room;
    this.outputIds?.push(...ids);
    this.toolIndex = toolFragments.length;
    const bytes = idsToBytes(ids);
    this.finishReason = 'length';
    return { ids, text: bytes.toString('utf8'), bytes, held: false, kind: 'tool' };
  }
}

/**
 * Groups a generation's steps into events: up to `idsPerChunk` ids of one kind
 * per event, never across a fault point (so "after token K" is an event
 * boundary). `last` says whether the group returned by next() is the final one
 * (one step of lookahead).
 */
export class StepGroups {
  private lookahead: Step | undefined;
  private sent = 0;
  /** The group next() returned is the last one. */
  last = false;

  constructor(
    private readonly generation: Generation,
    private readonly idsPerChunk: number,
    private readonly breaks: ReadonlySet<number>,
  ) {
    this.lookahead = generation.next();
  }

  next(): Step | undefined {
    const first = this.lookahead;
    if (first === undefined) return undefined;
    this.sent += first.ids.length;
    let step = this.generation.next();
    if (this.idsPerChunk > 1 && first.kind !== 'tool') {
      let group: Step[] | undefined;
      let ids = first.ids.length;
      while (
        step !== undefined &&
        ids < this.idsPerChunk &&
        !this.breaks.has(this.sent) &&
        step.kind === first.kind
      ) {
        group ??= [first];
        group.push(step);
        ids += step.ids.length;
        this.sent += step.ids.length;
        step = this.generation.next();
      }
      this.lookahead = step;
      this.last = step === undefined;
      return group === undefined ? first : mergeSteps(group);
    }
    this.lookahead = step;
    this.last = step === undefined;
    return first;
  }
}

/** A whole generation gathered for a non-streaming body. */
export interface Collected {
  contentIds: number[];
  reasoningIds: number[];
  toolArguments: string;
  outputIds: number[];
}

/** Runs a generation to its end, keeping what a non-streaming body needs. */
export function collect(generation: Generation): Collected {
  const out: Collected = { contentIds: [], reasoningIds: [], toolArguments: '', outputIds: [] };
  for (let step = generation.next(); step !== undefined; step = generation.next()) {
    for (const id of step.ids) out.outputIds.push(id);
    if (step.kind === 'tool') out.toolArguments += step.text;
    else {
      const into = step.kind === 'content' ? out.contentIds : out.reasoningIds;
      for (const id of step.ids) into.push(id);
    }
  }
  return out;
}
