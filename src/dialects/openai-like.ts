/**
 * A factory for the dialects that share the OpenAI wire shapes and differ only
 * in a few knobs (how to ask for ids, usage, priority, sampling, tokenize).
 */
import type { DialectName, SamplingOptions } from '../types.js';
import type { DecodeSink, Dialect, WireRequest } from './dialect.js';
import { fastDecodeCompletionBytes } from './fast-chunk.js';
import { learnCompletionTemplate, mayLearn } from './fast-chunk-learn.js';
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

export interface OpenAiLikeSpec {
  name: DialectName;
  /** Ids arrive with each chunk (false: none, or only at the end). */
  liveIds: boolean;
  /** Fields that make the server send token ids, added to every streaming body. */
  idFields?: Record<string, unknown>;
  /** Send `stream_options.include_usage`. */
  includeUsage: boolean;
  /** Send `top_k`, `min_p`, `repetition_penalty` (OpenAI rejects them). */
  fullSampling: boolean;
  /** Priority in the server's convention, or undefined to drop it. */
  priority?: (priority: number) => Record<string, unknown>;
  /** The server can continue a partial assistant message (vLLM `continue_final_message`). */
  continueChat?: boolean;
  tokenizePath?: string;
  detokenizePath?: string;
  /** Extra per-chunk decoding (ids delivered at the end, etc.), after the common part. */
  decodeExtra?: (json: Json, sink: DecodeSink) => void;
}

/** Builds a dialect module from its knobs. */
export function openAiLike(spec: OpenAiLikeSpec): Dialect {
  const sampling = (options: SamplingOptions) => commonSampling(options, spec.fullSampling);
  const dialect: Dialect = {
    name: spec.name,
    liveIds: spec.liveIds,
    idPrompts: true,
    completionRequest(input) {
      const body = completionBody(input, dialect, spec.includeUsage);
      if (spec.idFields) Object.assign(body, spec.idFields);
      if (input.request.logprobs) body.logprobs = 1;
      return { path: '/v1/completions', body };
    },
    decodeCompletion(event, sink) {
      const json = parseStreamEvent(event, sink);
      if (json === undefined) return;
      decodeCompletionChoice(json, sink);
      spec.decodeExtra?.(json, sink);
      const state = sink.decoderState;
      if (state !== undefined && spec.decodeExtra === undefined && mayLearn(state)) {
        learnCompletionTemplate(event.data, json, state);
      }
    },
    chatRequest(input) {
      const body = chatBody(input, dialect, spec.includeUsage);
      if (spec.idFields) Object.assign(body, spec.idFields);
      if (input.continueAssistant !== undefined) {
        if (!spec.continueChat) return undefined;
        body.messages = [...input.request.messages, { role: 'assistant', content: input.continueAssistant }];
        body.continue_final_message = true;
        body.add_generation_prompt = false;
      }
      return { path: '/v1/chat/completions', body };
    },
    decodeChat(event, sink) {
      const json = parseStreamEvent(event, sink);
      if (json === undefined) return;
      const choice = firstChoice(json.choices);
      if (Array.isArray(json.prompt_token_ids)) sink.promptIds(json.prompt_token_ids);
      if (choice) {
        // vLLM: choice.token_ids; Together: delta.token_id.
        let ids = numberArray(choice.token_ids);
        if (ids === undefined && typeof choice.delta?.token_id === 'number') ids = [choice.delta.token_id];
        decodeChatDelta(choice, ids, sink);
      }
      reportUsageAndFinish(json, choice, sink);
      spec.decodeExtra?.(json, sink);
    },
    priority(priority) {
      return spec.priority?.(priority);
    },
    sampling,
  };
  // The byte fast path knows only the common decoding; a dialect with extras goes the full way.
  if (spec.decodeExtra === undefined) {
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
