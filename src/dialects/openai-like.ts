/**
 * A factory for the dialects that share the OpenAI wire shapes. What differs per
 * server version — how to ask for ids, whether ids are live, usage, finish
 * reasons — is read from the dialect's wire-facts row; the spec adds the rest
 * (priority, sampling, tokenize, extra decoding).
 */
import type { DialectName, SamplingOptions } from '../types.js';
import { forwardAffinity } from './affinity.js';
import type { DecodeSink, Dialect, ServerInfo, WireRequest } from './dialect.js';
import { fastDecodeCompletionBytes } from './fast-chunk.js';
import { learnCompletionTemplate, mayLearn } from './fast-chunk-learn.js';
import { chatLogprobContent, contentIds, contentLogprobs } from './logprob-shapes.js';
import {
  chatBody,
  commonSampling,
  completionBody,
  decodeChatDelta,
  decodeCompletionChoice,
  firstChoice,
  type Json,
  numberArray,
  parseStreamEvent,
  reportUsageAndFinish,
} from './openai-shapes.js';
import type { WireFacts } from './wire-facts-types.js';

export interface OpenAiLikeSpec {
  name: DialectName;
  /** The wire-facts row: ids (how to ask, live or not), usage, finish reasons. */
  facts: WireFacts;
  /** Send `top_k`, `min_p`, `repetition_penalty` (OpenAI rejects them). */
  fullSampling: boolean;
  /** Priority in the server's convention, or undefined to drop it. */
  priority?: (priority: number) => Record<string, unknown>;
  tokenizePath?: string;
  detokenizePath?: string;
  /** Extra per-chunk decoding of chat streams (ids delivered at the end, etc.), after the common part. */
  decodeChatExtra?: (json: Json, sink: DecodeSink) => void;
  /** Extra per-chunk decoding of completion streams (turns the byte fast path off). */
  decodeCompletionExtra?: (json: Json, sink: DecodeSink) => void;
  /** The variant for a detected server (see Dialect.forServer). */
  forServer?: (info: ServerInfo) => Dialect;
  explainHttpError?: Dialect['explainHttpError'];
}

/** Builds a dialect module from its knobs and its wire-facts row. */
export function openAiLike(spec: OpenAiLikeSpec): Dialect {
  const { facts } = spec;
  const sampling = (options: SamplingOptions) => commonSampling(options, spec.fullSampling);
  const completionAsk = facts.completions.ids.ask;
  const chatAsk = facts.chat.ids.ask;
  // `include_usage` is asked wherever a server may send usage: needed where it is
  // `include_usage`, harmless where usage comes always (these OpenAI-style servers accept it).
  const completionUsage = facts.completions.usage.when !== 'never';
  const chatUsage = facts.chat.usage.when !== 'never';
  const finishReasons = facts.finishReasons;
  const decodeCompletionExtra = spec.decodeCompletionExtra;
  const decodeChatExtra = spec.decodeChatExtra;
  const affinity = facts.affinity;
  const dialect: Dialect = {
    name: spec.name,
    facts,
    liveIds: facts.completions.ids.delivery === 'live',
    chatLiveIds: facts.chat.ids.delivery === 'live',
    idPrompts: true,
    completionRequest(input) {
      const body = completionBody(input, dialect, completionUsage);
      Object.assign(body, completionAsk);
      if (input.request.logprobs && body.logprobs === undefined) body.logprobs = 1;
      return forwardAffinity({ path: '/v1/completions', body }, input.request, affinity, false);
    },
    decodeCompletion(event, sink) {
      const json = parseStreamEvent(event, sink);
      if (json === undefined) return;
      decodeCompletionChoice(json, sink, finishReasons);
      if (decodeCompletionExtra !== undefined) {
        decodeCompletionExtra(json, sink);
        return;
      }
      const state = sink.decoderState;
      if (state !== undefined && mayLearn(state)) learnCompletionTemplate(event.data, json, state);
    },
    chatRequest(input) {
      const body = chatBody(input, dialect, chatUsage);
      Object.assign(body, chatAsk);
      if (input.continueAssistant !== undefined) {
        // Only where the row says the server continues a partial assistant message (vLLM's
        // `continue_final_message`): chat.resume.
        if (!facts.chat.resume) return undefined;
        body.messages = [...input.request.messages, { role: 'assistant', content: input.continueAssistant }];
        body.continue_final_message = true;
        body.add_generation_prompt = false;
      }
      return forwardAffinity({ path: '/v1/chat/completions', body }, input.request, affinity, true);
    },
    decodeChat(event, sink) {
      const json = parseStreamEvent(event, sink);
      if (json === undefined) return;
      const choice = firstChoice(json.choices);
      if (Array.isArray(json.prompt_token_ids)) sink.promptIds(json.prompt_token_ids);
      if (choice) {
        if (Array.isArray(choice.prompt_token_ids)) sink.promptIds(choice.prompt_token_ids);
        // vLLM/Fireworks: choice.token_ids; Together: delta.token_id (null: no id);
        // llama.cpp / vLLM < 0.10.2: logprobs.content[k].id or "token_id:N".
        let ids = numberArray(choice.token_ids);
        const one = choice.delta?.token_id;
        if (ids === undefined && typeof one === 'number') ids = [one];
        const content = chatLogprobContent(choice);
        let logprobs: number[] | undefined;
        if (content !== undefined) {
          logprobs = contentLogprobs(content);
          if (ids === undefined) ids = contentIds(content);
        }
        decodeChatDelta(choice, ids, sink, logprobs);
      }
      reportUsageAndFinish(json, choice, sink, finishReasons);
      decodeChatExtra?.(json, sink);
    },
    priority(priority) {
      return spec.priority?.(priority);
    },
    sampling,
  };
  if (spec.forServer) dialect.forServer = spec.forServer;
  if (spec.explainHttpError) dialect.explainHttpError = spec.explainHttpError;
  // The byte fast path knows only the common decoding; a dialect with extras goes the full way.
  if (decodeCompletionExtra === undefined) {
    dialect.decodeCompletionBytes = (line, start, end, sink) =>
      sink.decoderState !== undefined && fastDecodeCompletionBytes(line, start, end, sink, sink.decoderState);
  }
  if (spec.tokenizePath) {
    const path = spec.tokenizePath;
    dialect.tokenizeRequest = (text, model): WireRequest => ({
      path,
      body: model === undefined ? { prompt: text } : { model, prompt: text },
    });
    dialect.parseTokenize = (json) => numberArray((json as Json)?.tokens);
  }
  if (spec.detokenizePath) {
    const path = spec.detokenizePath;
    dialect.detokenizeRequest = (ids, model): WireRequest => ({
      path,
      body: model === undefined ? { tokens: ids } : { model, tokens: ids },
    });
    dialect.parseDetokenize = (json) => {
      const text = (json as Json)?.prompt ?? (json as Json)?.text;
      return typeof text === 'string' ? text : undefined;
    };
  }
  return dialect;
}
