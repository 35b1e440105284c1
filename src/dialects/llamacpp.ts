/**
 * llama.cpp `llama-server` (recorded: build b4748, and 2026 master b10587). Ids on
 * `/v1/completions` come from `"logprobs": 1` as `choices[0].logprobs.content[k].id`,
 * on chat from `"logprobs": true` the same way; the native `/completion` stream
 * (request option `native: true`) carries `tokens: [id]` and ends with `"stop": true`
 * instead of `[DONE]`. Completions usage rides on the finish chunk; chat usage too on
 * b4748, but 2026 sends it only with `stream_options.include_usage` (asked for
 * there). In-stream errors: b4748 sends a non-standard `error:` SSE field then
 * `[DONE]`; 2026 sends `data: {"error":{…}}` and closes. b4748 never sends a token
 * that ends inside a UTF-8 character, so ids can be incomplete: the stream layer
 * compares with the server's count. Priority is not supported and is dropped.
 * Facts and citations: wire-facts-llamacpp.ts.
 */
import type { SamplingOptions } from '../types.js';
import type { Dialect, ServerInfo, WireUsage } from './dialect.js';
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
  stringOrUndefined,
} from './openai-shapes.js';
import { wireFactsFor } from './wire-facts.js';
import { LLAMACPP_2026 } from './wire-facts-llamacpp.js';
import type { WireFacts } from './wire-facts-types.js';

/** llama.cpp spells repetition penalty `repeat_penalty`. */
function llamaSampling(sampling: SamplingOptions): Record<string, unknown> {
  const body = commonSampling(sampling, true);
  if (body.repetition_penalty !== undefined) {
    body.repeat_penalty = body.repetition_penalty;
    delete body.repetition_penalty;
  }
  return body;
}

/** Native `stop_type` → OpenAI-style finish reason. */
function nativeFinishReason(stopType: unknown): string {
  if (stopType === 'limit') return 'length';
  if (stopType === 'eos' || stopType === 'word') return 'stop';
  return typeof stopType === 'string' && stopType !== '' && stopType !== 'none' ? stopType : 'stop';
}

/**
 * What a native final event's `truncated: true` means (wire-facts `context`): tokens
 * were dropped, unless the context merely filled up — `stop_type: "limit"` with every
 * token still cached (`tokens_cached` = `tokens_evaluated` + `tokens_predicted` - 1) on a
 * build that refuses over-long prompts. Builds that cut them keep that equality after a
 * cut (the cut prompt is what they count), so there it is a cut. Returns what to report.
 */
function contextCut(json: Json, facts: WireFacts): string | undefined {
  const {
    stop_type: stopType,
    tokens_cached: cached,
    tokens_evaluated: evaluated,
    tokens_predicted: predicted,
  } = json;
  const counted =
    typeof cached === 'number' && typeof evaluated === 'number' && typeof predicted === 'number';
  const allCached = counted && cached >= evaluated + predicted - 1;
  if (stopType === 'limit' && allCached && facts.context?.overlongPrompt === 'refuse') return undefined;
  const counts = counted
    ? `tokens_evaluated ${evaluated}, tokens_predicted ${predicted}, tokens_cached ${cached}`
    : 'no token counts';
  return `llama.cpp sent truncated: true (stop_type ${JSON.stringify(stopType)}, ${counts})`;
}

function build(facts: WireFacts): Dialect {
  const chatUsage = facts.chat.usage.when === 'include_usage';
  const finishReasons = facts.finishReasons;
  const dialect: Dialect = {
    name: 'llamacpp',
    facts,
    liveIds: facts.completions.ids.delivery === 'live',
    chatLiveIds: facts.chat.ids.delivery === 'live',
    idPrompts: true,
    forServer,
    completionRequest(input) {
      const { request } = input;
      if (request.native) {
        const body: Record<string, unknown> = { prompt: input.prompt, stream: true, cache_prompt: true };
        if (input.maxTokens !== undefined) body.n_predict = input.maxTokens;
        if (request.stop !== undefined)
          body.stop = typeof request.stop === 'string' ? [request.stop] : request.stop;
        Object.assign(body, llamaSampling(request.sampling ?? {}));
        if (request.logprobs) body.n_probs = 1;
        return { path: '/completion', body };
      }
      const body = completionBody(input, dialect, false);
      // logprobs is the only way llama.cpp's /v1 endpoint reveals token ids.
      Object.assign(body, facts.completions.ids.ask);
      return { path: '/v1/completions', body };
    },
    decodeCompletion(event, sink, request) {
      const json = parseStreamEvent(event, sink);
      if (json === undefined) return;
      if (request.path !== '/completion') {
        decodeCompletionChoice(json, sink, finishReasons);
        return;
      }
      const ids = numberArray(json.tokens);
      const text = typeof json.content === 'string' ? json.content : '';
      let logprobs: number[] | undefined;
      if (Array.isArray(json.completion_probabilities) && json.completion_probabilities.length > 0) {
        logprobs = json.completion_probabilities.map(
          (entry: { logprob?: number }) => entry.logprob as number,
        );
      }
      if (text !== '' || (ids !== undefined && ids.length > 0)) sink.tokens(ids, text, logprobs);
      if (typeof json.tokens_predicted === 'number') sink.serverTokenCount(json.tokens_predicted);
      if (json.stop === true) {
        const usage: WireUsage = {};
        if (typeof json.tokens_evaluated === 'number') usage.promptTokens = json.tokens_evaluated;
        if (typeof json.tokens_predicted === 'number') usage.completionTokens = json.tokens_predicted;
        if (usage.promptTokens !== undefined && usage.completionTokens !== undefined) {
          usage.totalTokens = usage.promptTokens + usage.completionTokens;
        }
        // The native stream names its model, and its cached prompt tokens, on the final event only.
        const cached = json.timings?.cache_n;
        if (typeof cached === 'number' && Number.isSafeInteger(cached) && cached >= 0)
          usage.cachedPromptTokens = cached;
        const model = stringOrUndefined(json.model);
        if (model !== undefined) sink.response?.(undefined, model);
        sink.usage(usage);
        if (json.truncated === true) {
          const cut = contextCut(json, facts);
          if (cut !== undefined) sink.contextTruncated(cut);
        }
        sink.finish(nativeFinishReason(json.stop_type));
        sink.end();
      }
    },
    chatRequest(input) {
      if (input.continueAssistant !== undefined) return undefined;
      const body = chatBody(input, dialect, chatUsage);
      // Chat ids come only with logprobs: `logprobs.content[k].id`.
      Object.assign(body, facts.chat.ids.ask);
      return { path: '/v1/chat/completions', body };
    },
    decodeChat(event, sink) {
      const json = parseStreamEvent(event, sink);
      if (json === undefined) return;
      const choice = firstChoice(json.choices);
      if (choice) {
        const content = chatLogprobContent(choice);
        if (content === undefined) decodeChatDelta(choice, undefined, sink);
        else decodeChatDelta(choice, contentIds(content), sink, contentLogprobs(content));
      }
      reportUsageAndFinish(json, choice, sink, finishReasons);
    },
    tokenizeRequest(text) {
      return { path: '/tokenize', body: { content: text } };
    },
    parseTokenize(json) {
      const tokens = (json as { tokens?: unknown })?.tokens;
      if (!Array.isArray(tokens)) return undefined;
      // With `with_pieces` the entries are {id, piece}; plain ids otherwise.
      return tokens.map((entry) => (typeof entry === 'number' ? entry : (entry as { id: number }).id));
    },
    detokenizeRequest(ids) {
      return { path: '/detokenize', body: { tokens: ids } };
    },
    parseDetokenize(json) {
      const content = (json as { content?: unknown })?.content;
      return typeof content === 'string' ? content : undefined;
    },
    priority() {
      return undefined;
    },
    sampling: llamaSampling,
  };
  return dialect;
}

/** llama.cpp, newest recorded behaviour (also for servers whose build is unknown). */
export const llamacpp: Dialect = build(LLAMACPP_2026);
const byLabel = new Map<string, Dialect>([[LLAMACPP_2026.label, llamacpp]]);

function forServer(info: ServerInfo): Dialect {
  const facts = wireFactsFor('llamacpp', info.version);
  let dialect = byLabel.get(facts.label);
  if (dialect === undefined) {
    dialect = build(facts);
    byLabel.set(facts.label, dialect);
  }
  return dialect;
}
