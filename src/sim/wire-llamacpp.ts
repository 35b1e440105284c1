/**
 * llama.cpp `llama-server` wire shapes, as recorded from build b4748
 * (test/fixtures/llamacpp): `/v1/completions` and `/v1/chat/completions` chunks
 * with `chatcmpl-` ids and `system_fingerprint`, chat-style logprobs
 * (`logprobs.content[] = {id, token, bytes, logprob, top_logprobs}`), a final
 * chunk with empty text, finish_reason, `usage` and `timings` (stream_options is
 * ignored), then `[DONE]`; native `/completion` events with `tokens: [id]` and a
 * final `"stop": true` event without `[DONE]`. A token that leaves an incomplete
 * UTF-8 sequence produces no event: its id is lost, the next event carries the
 * combined text and only its own id, and counts still include it. In-stream
 * errors are the non-standard `error: {...}` line.
 */
import {
  DONE,
  dataEvent,
  json,
  positionOf,
  type StreamEncoder,
  timings,
  toolCallHeader,
  topAlternatives,
  usage,
} from './encoder.js';
import { type Collected, collect } from './generation.js';
import { type LlamaBuild, llamaBuild } from './llamacpp-builds.js';
import { B4748 } from './refusals.js';
import { finishOf, type GenRequest } from './request.js';
import type { Step } from './steps.js';
import { textOf } from './steps.js';
import { renderWithSpecials } from './tokenizer.js';
import { pieceText, VOCAB } from './vocab.js';

/** Echo of the sampling settings, in the recorded `generation_settings` order (abridged). */
function generationSettings(req: GenRequest): Record<string, unknown> {
  const body = req.body;
  const num = (key: string, fallback: number): number =>
    typeof body[key] === 'number' ? (body[key] as number) : fallback;
  return {
    n_predict: num('n_predict', num('max_tokens', -1)),
    seed: num('seed', 4294967295),
    temperature: num('temperature', 0.8),
    top_k: num('top_k', 40),
    top_p: num('top_p', 0.95),
    min_p: num('min_p', 0.05),
    repeat_penalty: num('repeat_penalty', 1),
    stop: Array.isArray(body.stop) ? body.stop : [],
    max_tokens: num('n_predict', num('max_tokens', -1)),
    n_keep: 0,
    ignore_eos: body.ignore_eos === true,
    stream: req.stream,
    n_probs: num('n_probs', 0),
    samplers: ['penalties', 'dry', 'top_k', 'typ_p', 'top_p', 'min_p', 'xtc', 'temperature'],
  };
}

export class LlamaCppEncoder implements StreamEncoder {
  private readonly chat: boolean;
  private readonly native: boolean;
  private readonly tail1: string;
  private readonly build: LlamaBuild;
  private toolHeaderSent = false;

  constructor(private readonly req: GenRequest) {
    this.chat = req.endpoint === 'chat';
    this.native = req.endpoint === 'native';
    this.build = llamaBuild(req.facts ?? B4748);
    // Field order as recorded: completions end with object, id; chat has id after created.
    const model = `"model":${json(req.model)},"system_fingerprint":"${this.build.fingerprint}"`;
    this.tail1 = this.chat
      ? `"created":${req.created},"id":${json(req.id)},${model},"object":"chat.completion.chunk"`
      : `"created":${req.created},${model},"object":"text_completion","id":${json(req.id)}`;
  }

  private probEntries(step: Step, sent: number): string {
    const count = Math.max(1, this.req.logprobs ?? 1);
    const id = step.ids[0];
    const position = positionOf(step, sent);
    const alts = topAlternatives(id, position, count);
    // The chosen entry spells the combined text (held-back bytes included), as recorded.
    const chosen = { id, token: step.text, bytes: [...step.bytes], logprob: alts[0].logprob };
    const top = alts.map((alt) => ({
      id: alt.id,
      token: alt.id === id ? pieceText(id) : pieceText(alt.id),
      bytes: [...VOCAB.bytes[alt.id]],
      logprob: alt.logprob,
    }));
    return json([{ ...chosen, top_logprobs: top }]);
  }

  head(): string {
    // 2026 chat opens with the role (llamacpp-2026/examples/10_chat_stream_plain.txt); b4748 does not.
    if (!this.chat || !this.build.roleChunk) return '';
    return dataEvent(
      `{"choices":[{"finish_reason":null,"index":0,"delta":{"role":"assistant","content":null}}],${this.tail1}}`,
    );
  }

  step(step: Step, sent: number): string {
    // No event for a token that leaves an incomplete UTF-8 character (recorded behaviour).
    if (step.held) return '';
    const text = json(step.text);
    const withProbs = this.req.logprobs !== undefined && step.kind !== 'tool';
    if (this.native) {
      const probs = withProbs ? `,"completion_probabilities":${this.probEntries(step, sent)}` : '';
      return dataEvent(
        `{"index":0,"content":${text},"tokens":${json(step.ids)},"stop":false,"id_slot":-1,"tokens_predicted":${sent},"tokens_evaluated":${this.req.promptIds.length}${probs}}`,
      );
    }
    const logprobs = withProbs ? `{"content":${this.probEntries(step, sent)}}` : 'null';
    if (this.chat) {
      let delta: string;
      if (step.kind === 'reasoning') delta = `{"reasoning_content":${text}}`;
      else if (step.kind === 'tool') delta = `{"tool_calls":[{"index":0,"function":{"arguments":${text}}}]}`;
      else delta = `{"content":${text}}`;
      let out = '';
      if (step.kind === 'tool' && !this.toolHeaderSent && this.req.tool) {
        this.toolHeaderSent = true;
        const header = toolCallHeader(this.req.tool);
        out += dataEvent(`{"choices":[{"finish_reason":null,"index":0,"delta":${header}}],${this.tail1}}`);
      }
      const lp = withProbs ? `,"logprobs":${logprobs}` : '';
      return `${out}${dataEvent(`{"choices":[{"finish_reason":null,"index":0,"delta":${delta}${lp}}],${this.tail1}}`)}`;
    }
    return dataEvent(
      `{"choices":[{"text":${text},"index":0,"logprobs":${logprobs},"finish_reason":null}],${this.tail1}}`,
    );
  }

  /**
   * The native final event's `truncated` (wire-facts `context`): a cut prompt, or a
   * generation that reached the end of the context. 2026 (`process_token`, no context
   * shift) sets it whenever the last token fills the context; b4748 would shift the
   * context (dropping prompt tokens) to go past it, which the simulator does not model:
   * it stops there, saying truncated as the shifted run would.
   */
  private truncated(): boolean {
    const req = this.req;
    if (req.promptCut) return true;
    const full = req.generation.produced > 0 && req.generation.produced >= req.contextRoom;
    return this.build.contextError !== undefined ? full : full && req.maxTokensAsked > req.contextRoom;
  }

  /** The native final event; `all` is the whole output of a non-streaming answer. */
  private finalNative(all?: Collected): Record<string, unknown> {
    const req = this.req;
    return {
      index: 0,
      content: all ? textOf(all.outputIds) : '',
      tokens: all && req.body.return_tokens === true ? all.outputIds : [],
      id_slot: 0,
      stop: true,
      model: typeof req.body.model === 'string' ? req.body.model : 'gpt-3.5-turbo',
      tokens_predicted: req.generation.produced,
      tokens_evaluated: req.promptIds.length,
      generation_settings: generationSettings(req),
      prompt: renderWithSpecials(req.promptIds),
      has_new_line: false,
      truncated: this.truncated(),
      stop_type: finishOf(req) === 'stop' ? 'eos' : 'limit',
      stopping_word: '',
      // The last token is not in the cache yet: every recorded final event has
      // tokens_cached = tokens_evaluated + tokens_predicted - 1 (e.g. llamacpp-2026 20, 43, 47).
      tokens_cached: req.promptIds.length + Math.max(0, req.generation.produced - 1),
      timings: llamaTimings(req, this.build),
    };
  }

  private finishChunk(): string {
    const req = this.req;
    const reason = json(finishOf(req));
    const usageJson = json(usageLlama(req, this.build));
    const timingsJson = json(llamaTimings(req, this.build));
    const model = `"model":${json(req.model)},"system_fingerprint":"${this.build.fingerprint}"`;
    if (this.chat) {
      // 2026 chat: usage only in its own chunk, and only with include_usage (10, 11, 76 of the recordings).
      // With include_usage the timings move to the usage chunk (11 of the recordings).
      let counts = `,"usage":${usageJson},"timings":${timingsJson}`;
      if (this.build.chatUsageChunk) counts = req.includeUsage ? '' : `,"timings":${timingsJson}`;
      return dataEvent(
        `{"choices":[{"finish_reason":${reason},"index":0,"delta":{}}],"created":${req.created},"id":${json(req.id)},${model},"object":"chat.completion.chunk"${counts}}`,
      );
    }
    return dataEvent(
      `{"choices":[{"text":"","index":0,"logprobs":null,"finish_reason":${reason}}],"created":${req.created},${model},"object":"text_completion","usage":${usageJson},"id":${json(req.id)},"timings":${timingsJson}}`,
    );
  }

  /** 2026 chat's usage chunk (with include_usage): `choices: []`, usage and timings, before [DONE]. */
  private usageChunk(): string {
    const req = this.req;
    const usageJson = json(usageLlama(req, this.build));
    const timingsJson = json(llamaTimings(req, this.build));
    return dataEvent(`{"choices":[],${this.tail1},"usage":${usageJson},"timings":${timingsJson}}`);
  }

  tail(): string[] {
    if (this.native) return [dataEvent(json(this.finalNative()))];
    if (this.chat && this.build.chatUsageChunk && this.req.includeUsage) {
      return [this.finishChunk(), this.usageChunk(), DONE];
    }
    return [this.finishChunk(), DONE];
  }

  error(message: string): string {
    const error = { code: 500, message, type: 'server_error' };
    // b4748: the non-standard `error:` line, [DONE] after it on /v1; 2026: `data: {"error"}`, then nothing.
    if (this.build.dataError) {
      return dataEvent(json({ error })) + (this.build.doneAfterError && !this.native ? DONE : '');
    }
    const line = `error: ${json(error)}\n\n`;
    return this.native || !this.build.doneAfterError ? line : line + DONE;
  }

  badJson(): string {
    return this.native
      ? dataEvent('{"index":0,"content":"this event is cut short')
      : dataEvent('{"choices":[{"text":"this event is cut short');
  }

  huge(bytes: number): string {
    const padding = `"sim_padding":"${'x'.repeat(Math.max(0, bytes))}"`;
    if (this.native) {
      return dataEvent(
        `{"index":0,"content":"","tokens":[],"stop":false,"id_slot":-1,"tokens_predicted":0,"tokens_evaluated":${this.req.promptIds.length},${padding}}`,
      );
    }
    return dataEvent(`{"choices":[],${this.tail1},${padding}}`);
  }

  afterDone(): string {
    const junk = this.native
      ? '{"index":0,"content":" JUNK AFTER STOP","tokens":[],"stop":false}'
      : '{"choices":[{"text":" JUNK AFTER DONE","index":0,"logprobs":null,"finish_reason":null}]}';
    return dataEvent(junk) + dataEvent(junk);
  }

  body(): unknown {
    const req = this.req;
    const all = collect(req.generation);
    if (this.native) return this.finalNative(all);
    const text = textOf(all.contentIds);
    const choice: Record<string, unknown> = this.chat
      ? {
          finish_reason: finishOf(req),
          index: 0,
          message:
            req.tool && req.generation.toolSteps > 0
              ? {
                  role: 'assistant',
                  content: null,
                  tool_calls: [
                    {
                      type: 'function',
                      function: {
                        name: req.tool.name,
                        arguments: all.toolArguments,
                      },
                      id: req.tool.id,
                    },
                  ],
                }
              : { role: 'assistant', content: text },
        }
      : { text: textOf(all.outputIds), index: 0, logprobs: null, finish_reason: finishOf(req) };
    return {
      choices: [choice],
      created: req.created,
      model: req.model,
      system_fingerprint: this.build.fingerprint,
      object: this.chat ? 'chat.completion' : 'text_completion',
      usage: usageLlama(req, this.build),
      id: req.id,
      timings: llamaTimings(req, this.build),
    };
  }
}

/** llama.cpp spells usage completion-first; 2026 adds the prompt-cache count, even 0. */
function usageLlama(req: GenRequest, build: LlamaBuild): Record<string, unknown> {
  const u = usage(req);
  const out: Record<string, unknown> = {
    completion_tokens: u.completion_tokens,
    prompt_tokens: u.prompt_tokens,
    total_tokens: u.total_tokens,
  };
  if (build.cacheCounts) out.prompt_tokens_details = { cached_tokens: req.cachedTokens ?? 0 };
  return out;
}

/** `timings`; 2026 starts them with the prompt-cache count `cache_n` (prompt_n is then what was evaluated). */
function llamaTimings(req: GenRequest, build: LlamaBuild): Record<string, number> {
  const measured = timings(req);
  if (!build.cacheCounts) return measured;
  const cached = req.cachedTokens ?? 0;
  return { cache_n: cached, ...measured, prompt_n: measured.prompt_n - cached };
}
