/**
 * The AI SDK's call options (LanguageModelV3CallOptions) as tokenwire requests:
 * the prompt as chat messages or as a completions prompt (text, or the token ids
 * given in `providerOptions.tokenwire.promptIds`), sampling, stop, tools; what
 * tokenwire cannot honour is returned as warnings, as the specification asks.
 */
import type { LanguageModelV3CallOptions, LanguageModelV3Prompt, SharedV3Warning } from '@ai-sdk/provider';
import { InvalidOptionError } from '../errors.js';
import type { ChatMessage, ChatRequest, CommonRequestOptions, CompletionRequest } from '../types.js';

/** `providerOptions.tokenwire` of a call. */
export interface TokenwireCallOptions {
  /** Completions: the prompt as token ids (the text prompt is then ignored). */
  promptIds?: number[];
  /** Merged into the JSON body last. */
  extraBody?: Record<string, unknown>;
  /** Scheduling priority (lower = served earlier; translated per server). */
  priority?: number;
}

function tokenwireOptions(options: LanguageModelV3CallOptions): TokenwireCallOptions {
  const raw = options.providerOptions?.tokenwire as TokenwireCallOptions | undefined;
  if (raw === undefined) return {};
  const ids = raw.promptIds;
  if (ids !== undefined && (!Array.isArray(ids) || !ids.every((id) => Number.isInteger(id) && id >= 0))) {
    throw new InvalidOptionError(
      'invalid option providerOptions.tokenwire.promptIds: expected an array of token ids (integers ≥ 0)',
    );
  }
  return raw;
}

/** What every request takes from the call options. */
function common(options: LanguageModelV3CallOptions, warnings: SharedV3Warning[]): CommonRequestOptions {
  const tw = tokenwireOptions(options);
  const request: CommonRequestOptions = {
    maxTokens: options.maxOutputTokens,
    sampling: {
      temperature: options.temperature,
      topP: options.topP,
      topK: options.topK,
      seed: options.seed,
      presencePenalty: options.presencePenalty,
      frequencyPenalty: options.frequencyPenalty,
    },
    signal: options.abortSignal,
  };
  if (options.stopSequences !== undefined && options.stopSequences.length > 0)
    request.stop = options.stopSequences;
  if (tw.extraBody !== undefined) request.extraBody = { ...tw.extraBody };
  if (tw.priority !== undefined) request.priority = tw.priority;
  if (options.headers !== undefined && Object.keys(options.headers).length > 0) {
    warnings.push({
      type: 'unsupported',
      feature: 'headers',
      details: 'per-call headers are not sent; give them to createTokenwire({ headers })',
    });
  }
  return request;
}

/** Text of a message's text parts; other parts are reported as unsupported. */
function textOf(
  content: ReadonlyArray<{ type: string; text?: string }>,
  role: string,
  warnings: SharedV3Warning[],
): string {
  let text = '';
  for (const part of content) {
    if (part.type === 'text') text += part.text;
    else if (part.type !== 'reasoning' && part.type !== 'tool-call' && part.type !== 'tool-result') {
      warnings.push({ type: 'unsupported', feature: `${part.type} parts`, details: `in a ${role} message` });
    }
  }
  return text;
}

/** The prompt as OpenAI-style chat messages. */
export function chatMessages(prompt: LanguageModelV3Prompt, warnings: SharedV3Warning[]): ChatMessage[] {
  const messages: ChatMessage[] = [];
  for (const message of prompt) {
    switch (message.role) {
      case 'system':
        messages.push({ role: 'system', content: message.content });
        break;
      case 'user':
        messages.push({ role: 'user', content: textOf(message.content, 'user', warnings) });
        break;
      case 'assistant': {
        const toolCalls = message.content
          .filter((part) => part.type === 'tool-call')
          .map((part) => ({
            id: part.toolCallId,
            type: 'function',
            function: {
              name: part.toolName,
              arguments: typeof part.input === 'string' ? part.input : JSON.stringify(part.input),
            },
          }));
        const out: ChatMessage = {
          role: 'assistant',
          content: textOf(message.content, 'assistant', warnings),
        };
        if (toolCalls.length > 0) out.tool_calls = toolCalls;
        messages.push(out);
        break;
      }
      case 'tool':
        for (const part of message.content) {
          if (part.type !== 'tool-result') continue;
          const output = part.output;
          const content =
            output.type === 'text' || output.type === 'error-text'
              ? output.value
              : JSON.stringify('value' in output ? output.value : output);
          messages.push({ role: 'tool', tool_call_id: part.toolCallId, content });
        }
        break;
    }
  }
  return messages;
}

/** A chat request from the call options. */
export function chatRequest(options: LanguageModelV3CallOptions, warnings: SharedV3Warning[]): ChatRequest {
  const request: ChatRequest = {
    ...common(options, warnings),
    messages: chatMessages(options.prompt, warnings),
  };
  const tools = (options.tools ?? []).flatMap((tool) => {
    if (tool.type === 'function') {
      return [
        {
          type: 'function',
          function: { name: tool.name, description: tool.description, parameters: tool.inputSchema },
        },
      ];
    }
    warnings.push({ type: 'unsupported', feature: `provider tool ${tool.name}` });
    return [];
  });
  if (tools.length > 0) request.tools = tools;
  const choice = options.toolChoice;
  if (choice !== undefined && tools.length > 0) {
    request.toolChoice =
      choice.type === 'tool' ? { type: 'function', function: { name: choice.toolName } } : choice.type;
  }
  if (options.responseFormat?.type === 'json') {
    request.responseFormat =
      options.responseFormat.schema === undefined
        ? { type: 'json_object' }
        : {
            type: 'json_schema',
            json_schema: {
              name: options.responseFormat.name ?? 'response',
              schema: options.responseFormat.schema,
            },
          };
  }
  return request;
}

/**
 * A completions request from the call options: `promptIds` when given, else the text
 * of the messages (a lone user message as it is; several, each on its own lines
 * after its role, as a plain transcript).
 */
export function completionRequest(
  options: LanguageModelV3CallOptions,
  warnings: SharedV3Warning[],
): CompletionRequest {
  const ids = tokenwireOptions(options).promptIds;
  if (ids !== undefined) return { ...common(options, warnings), prompt: ids };
  const prompt = options.prompt;
  let text: string;
  if (prompt.length === 1 && prompt[0]!.role === 'user') text = textOf(prompt[0]!.content, 'user', warnings);
  else {
    text = prompt
      .map((message) =>
        message.role === 'system'
          ? message.content
          : `${message.role}:\n${textOf(message.content as { type: string; text?: string }[], message.role, warnings)}`,
      )
      .join('\n\n');
  }
  if ((options.tools ?? []).length > 0)
    warnings.push({ type: 'unsupported', feature: 'tools', details: 'completion models take no tools' });
  return { ...common(options, warnings), prompt: text };
}
