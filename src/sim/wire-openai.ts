/**
 * Wire shapes of the OpenAI-like dialects (vLLM, SGLang, OpenAI, OpenRouter,
 * Together), per PROTOCOLS.md:
 *
 * - vLLM: ids live in `choices[0].token_ids` (several per chunk with
 *   idsPerChunk), `prompt_token_ids` on the first chunk (on the choice for
 *   completions, top level for chat), finish_reason on the last token's chunk,
 *   `stop_reason`, usage chunk `choices: []` with include_usage.
 * - SGLang (src/dialects/wire-facts-sglang.ts): completions stream ids live like
 *   vLLM with `return_token_ids`; chat gives them at the END, asked with
 *   `return_output_ids_in_sglext` / `return_input_ids_in_sglext`, in one
 *   `choices: []` chunk `{"sglext":{"input_ids":[…],"output_ids":[[…]]}}` (one list
 *   per choice, choice 0 only here). `matched_stop`, separate finish chunk.
 * - OpenAI: text only, first chat chunk `{"role":"assistant","content":"","refusal":null}`,
 *   separate finish chunk, usage chunk with include_usage, in-stream error with no `[DONE]`.
 * - OpenRouter: text only, `: OPENROUTER PROCESSING` comments first, role in
 *   every delta, `delta.reasoning`, usage on the last (finish) chunk, in-stream
 *   error = a chunk with `error` and `finish_reason: "error"`.
 * - Together: one id per chunk in `choices[0].delta.token_id` (beside `text` on
 *   completions), finish_reason and usage on the last token's chunk.
 */
import {
  DONE,
  dataEvent,
  json,
  positionOf,
  type StreamEncoder,
  spell,
  toolCallHeader,
  topAlternatives,
  usage,
} from './encoder.js';
import { collect } from './generation.js';
import { finishOf, type GenRequest, type SimDialect } from './request.js';
import type { Step } from './steps.js';
import { textOf } from './steps.js';
import { VOCAB } from './vocab.js';
import { STYLES, type Style } from './wire-styles.js';

/** Chat's first delta for each `roleChunk` of the wire-facts table. */
const ROLE_DELTAS: Record<string, string> = {
  'role-null': '{"role":"assistant","content":null}',
  'role-empty': '{"role":"assistant","content":""}',
  'role-empty-refusal': '{"role":"assistant","content":"","refusal":null}',
  'role-only': '{"role":"assistant"}',
};

function hasLogprobs(req: GenRequest): boolean {
  return req.logprobs !== undefined && req.dialect !== 'openrouter' && req.dialect !== 'together';
}

export class OpenAiLikeEncoder implements StreamEncoder {
  private readonly style: Style;
  private readonly chat: boolean;
  private readonly pre: string;
  private textOffset = 0;
  private toolHeaderSent = false;
  private stepsSent = 0;
  /** The delta field reasoning goes in: the emulated row's, else the plain wire's. */
  private readonly reasoningField: string;
  /** `return_token_ids` is known to the emulated version (vLLM < 0.10.2 ignores it: its row asks with logprobs). */
  private readonly idsHonoured: boolean;

  constructor(private readonly req: GenRequest) {
    this.style = STYLES[req.dialect as Exclude<SimDialect, 'llamacpp'>];
    this.chat = req.endpoint === 'chat';
    const facts = req.facts;
    this.reasoningField = facts?.chat.reasoningField ?? this.style.reasoningField;
    const endpointFacts = facts === undefined ? undefined : this.chat ? facts.chat : facts.completions;
    this.idsHonoured =
      endpointFacts === undefined || facts?.dialect !== 'vllm' || 'return_token_ids' in endpointFacts.ids.ask;
    const object = this.chat
      ? 'chat.completion.chunk'
      : req.dialect === 'together'
        ? 'completion.chunk'
        : 'text_completion';
    const provider = req.dialect === 'openrouter' ? ',"provider":"Sim"' : '';
    this.pre = `{"id":${json(req.id)},"object":"${object}","created":${req.created},"model":${json(req.model)}${provider},"choices":[`;
  }

  private chunk(choice: string, extra = ''): string {
    return dataEvent(`${this.pre}${choice}]${extra}}`);
  }

  private stopTail(finish: string | null): string {
    const stop = this.style.stopField ? `,"${this.style.stopField}":null` : '';
    return `,"finish_reason":${finish === null ? 'null' : json(finish)}${stop}`;
  }

  private usageJson(): string {
    return `"usage":${json(usage(this.req))}`;
  }

  head(): string {
    let out = '';
    for (let i = 0; i < this.style.processingComments; i++) out += ': OPENROUTER PROCESSING\n\n';
    const roleChunk = this.req.facts?.chat.roleChunk ?? this.style.roleChunk;
    if (this.chat && roleChunk !== 'none') {
      const delta = ROLE_DELTAS[roleChunk];
      const promptIds =
        this.style.ids === 'vllm' && this.liveIds() ? `,"prompt_token_ids":${json(this.req.promptIds)}` : '';
      out += this.chunk(`{"index":0,"delta":${delta},"logprobs":null${this.stopTail(null)}}`, promptIds);
    }
    return out;
  }

  private logprobsJson(step: Step, sent: number): string {
    if (!hasLogprobs(this.req) || step.kind === 'tool') return 'null';
    const count = Math.max(1, this.req.logprobs ?? 1);
    const position = positionOf(step, sent);
    const spelling = this.req.tokenIdSpelling;
    if (this.chat) {
      const content = step.ids.map((id, k) => {
        const alts = topAlternatives(id, position + k, count);
        const entry = (alt: { id: number; logprob: number }) => ({
          token: spell(alt.id, spelling),
          logprob: alt.logprob,
          bytes: [...VOCAB.bytes[alt.id]],
        });
        return { ...entry(alts[0]), top_logprobs: alts.map(entry) };
      });
      return json({ content });
    }
    const tokens: string[] = [];
    const tokenLogprobs: number[] = [];
    const top: Record<string, number>[] = [];
    const offsets: number[] = [];
    step.ids.forEach((id, k) => {
      const alts = topAlternatives(id, position + k, count);
      tokens.push(spell(id, spelling));
      tokenLogprobs.push(alts[0].logprob);
      top.push(Object.fromEntries(alts.map((alt) => [spell(alt.id, spelling), alt.logprob])));
      offsets.push(this.textOffset);
    });
    return json({ text_offset: offsets, token_logprobs: tokenLogprobs, tokens, top_logprobs: top });
  }

  /** Ids with each chunk: vLLM, and SGLang completions, with `return_token_ids`. */
  private liveIds(): boolean {
    return (
      this.idsHonoured &&
      this.req.returnTokenIds &&
      (this.style.ids === 'vllm' || (this.style.ids === 'end' && !this.chat))
    );
  }

  /** SGLang chat's end-of-stream ids, when asked (`serving_chat.py` `_generate_chat_stream`). */
  private sglext(): Record<string, unknown> | undefined {
    if (this.style.ids !== 'end' || !this.chat) return undefined;
    const { req } = this;
    if (!req.sglextOutputIds && !req.sglextInputIds) return undefined;
    const ext: Record<string, unknown> = {};
    if (req.sglextInputIds) ext.input_ids = req.promptIds;
    if (req.sglextOutputIds) ext.output_ids = [req.generation.outputIds ?? []];
    return ext;
  }

  private delta(step: Step): string {
    const text = json(step.text);
    const together =
      this.style.ids === 'together' && step.kind !== 'tool' ? `"token_id":${step.ids.at(-1)},` : '';
    const role = this.style.roleChunk === 'none' ? '"role":"assistant",' : '';
    if (step.kind === 'reasoning') {
      const content = role ? '"content":"",' : '';
      return `{${together}${role}${content}"${this.reasoningField}":${text}}`;
    }
    if (step.kind === 'tool') return `{"tool_calls":[{"index":0,"function":{"arguments":${text}}}]}`;
    return `{${together}${role}"content":${text}}`;
  }

  step(step: Step, sent: number, last: boolean): string {
    const finish = last && this.style.finishOnLastToken ? finishOf(this.req) : null;
    this.stepsSent += 1;
    const logprobs = this.logprobsJson(step, sent);
    this.textOffset += step.text.length;
    let ids = '';
    if (this.liveIds()) ids = `,"token_ids":${json(step.ids)}`;
    let extra = '';
    if (finish !== null && this.style.usage === 'on-finish') extra = `,${this.usageJson()}`;
    let out = '';
    if (this.chat) {
      if (step.kind === 'tool' && !this.toolHeaderSent && this.req.tool) {
        this.toolHeaderSent = true;
        const header = toolCallHeader(this.req.tool);
        out += this.chunk(`{"index":0,"delta":${header},"logprobs":null${this.stopTail(null)}}`);
      }
      out += this.chunk(
        `{"index":0,"delta":${this.delta(step)},"logprobs":${logprobs}${this.stopTail(finish)}${ids}}`,
        extra,
      );
      return out;
    }
    const promptIds =
      this.liveIds() && sent === step.ids.length ? `,"prompt_token_ids":${json(this.req.promptIds)}` : '';
    const tokenId = this.style.ids === 'together' ? `,"delta":{"token_id":${step.ids.at(-1)}}` : '';
    return this.chunk(
      `{"index":0,"text":${json(step.text)}${tokenId},"logprobs":${logprobs}${this.stopTail(finish)}${promptIds}${ids}}`,
      extra,
    );
  }

  tail(): string[] {
    const out: string[] = [];
    const finish = finishOf(this.req);
    if (!this.style.finishOnLastToken || this.stepsSent === 0) {
      const extra = this.style.usage === 'on-finish' ? `,${this.usageJson()}` : '';
      const choice = this.chat
        ? `{"index":0,"delta":${this.style.roleChunk === 'none' ? '{"role":"assistant","content":""}' : '{}'},"logprobs":null${this.stopTail(finish)}}`
        : `{"index":0,"text":"","logprobs":null${this.stopTail(finish)}}`;
      out.push(this.chunk(choice, extra));
    }
    const ext = this.sglext();
    if (ext !== undefined) out.push(this.chunk('', `,"sglext":${json(ext)}`));
    if (this.style.usage === 'chunk-if-requested' && this.req.includeUsage) {
      out.push(this.chunk('', `,${this.usageJson()}`));
    }
    out.push(DONE);
    return out;
  }

  error(message: string): string {
    if (this.req.dialect === 'openrouter') {
      const choice = this.chat
        ? '{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":"error","native_finish_reason":"error"}'
        : '{"index":0,"text":"","finish_reason":"error","native_finish_reason":"error"}';
      return this.chunk(choice, `,"error":${json({ code: 502, message })}`);
    }
    const row = this.req.facts?.inStreamError;
    if (
      row !== undefined &&
      row.shape === 'data-error' &&
      (this.req.dialect === 'vllm' || this.req.dialect === 'sglang')
    ) {
      // The emulated version's own error line: its row's example with this message (vLLM's
      // ErrorResponse, SGLang's with object "error" inside), [DONE] after it where the row says.
      const example = JSON.parse(row.example) as { error: Record<string, unknown> };
      return dataEvent(json({ error: { ...example.error, message } })) + (row.doneAfter ? DONE : '');
    }
    const error =
      this.req.dialect === 'openai'
        ? { message, type: this.style.errorType, param: null, code: null }
        : { message, type: this.style.errorType, code: 500 };
    return dataEvent(json({ error })) + (this.style.doneAfterError ? DONE : '');
  }

  badJson(): string {
    return dataEvent(`${this.pre}{"index":0,"text":"this event is cut short`);
  }

  huge(bytes: number): string {
    const choice = this.chat
      ? `{"index":0,"delta":{},"logprobs":null${this.stopTail(null)}}`
      : `{"index":0,"text":"","logprobs":null${this.stopTail(null)}}`;
    return this.chunk(choice, `,"sim_padding":"${'x'.repeat(Math.max(0, bytes))}"`);
  }

  afterDone(): string {
    const choice = this.chat
      ? '{"index":0,"delta":{"content":" JUNK AFTER DONE"},"finish_reason":null}'
      : '{"index":0,"text":" JUNK AFTER DONE","finish_reason":null}';
    return this.chunk(choice) + this.chunk(choice);
  }

  body(): unknown {
    const req = this.req;
    const all = collect(req.generation);
    const content = all.contentIds;
    const reasoning = all.reasoningIds;
    const wantsIds = this.liveIds();
    const base: Record<string, unknown> = {
      id: req.id,
      object: this.chat ? 'chat.completion' : 'text_completion',
      created: req.created,
      model: req.model,
    };
    if (req.dialect === 'openrouter') base.provider = 'Sim';
    const choice: Record<string, unknown> = { index: 0 };
    if (this.chat) {
      const message: Record<string, unknown> = { role: 'assistant', content: textOf(content) };
      if (reasoning.length > 0) message[this.reasoningField] = textOf(reasoning);
      if (req.tool && req.generation.toolSteps > 0) {
        message.content = null;
        message.tool_calls = [
          {
            id: req.tool.id,
            type: 'function',
            function: {
              name: req.tool.name,
              arguments: all.toolArguments,
            },
          },
        ];
      }
      choice.message = message;
    } else {
      choice.text = textOf(all.outputIds);
    }
    choice.logprobs = null;
    choice.finish_reason = finishOf(req);
    if (this.style.stopField) choice[this.style.stopField] = null;
    if (wantsIds) {
      choice.token_ids = all.outputIds;
      if (this.chat) base.prompt_token_ids = req.promptIds;
      else choice.prompt_token_ids = req.promptIds;
    }
    if (this.style.ids === 'together') choice.token_ids = all.outputIds;
    base.choices = [choice];
    base.usage = usage(req);
    const ext = this.sglext();
    if (ext !== undefined) base.sglext = ext;
    return base;
  }
}
