/**
 * `tokenwire/ai-sdk`: a provider for the AI SDK (`ai`), whose models run on
 * tokenwire's Client — `streamText` / `generateText` get phase clocks, honest
 * endings, retries and resume by continuation, and `providerMetadata.tokenwire`
 * with the generated token ids and the stream's stats.
 */
import type { LanguageModelV3 } from '@ai-sdk/provider';
import { Client } from '../client.js';
import type { ClientOptions } from '../options.js';
import { TokenwireLanguageModel } from './language-model.js';

export { TokenwireLanguageModel } from './language-model.js';
export type { TokenwireCallOptions } from './prompt.js';

/** Options of {@link createTokenwire}: a Client's options, and the provider's name. */
export interface TokenwireProviderOptions extends ClientOptions {
  /** Provider name the AI SDK reports (`model.provider` is `<name>.chat` / `<name>.completion`). Default `tokenwire`. */
  name?: string;
}

/** A tokenwire provider: call it (or `languageModel`) for a chat model, `completionModel` for completions. */
export interface TokenwireProvider {
  (modelId: string): LanguageModelV3;
  /** A chat-completions model (`/v1/chat/completions`). */
  languageModel(modelId: string): LanguageModelV3;
  /** Same as {@link languageModel}. */
  chatModel(modelId: string): LanguageModelV3;
  /**
   * A completions model (`/v1/completions`): the prompt's text, or token ids given as
   * `providerOptions: { tokenwire: { promptIds: [...] } }` (resumed exactly on servers that
   * stream ids).
   */
  completionModel(modelId: string): LanguageModelV3;
  /** The Client under the models (tokenize, detokenize, models, streams of its own). */
  readonly client: Client;
  /** Closes the Client's connections. */
  close(): Promise<void>;
}

/**
 * Creates a tokenwire provider for the AI SDK.
 *
 * @example
 * import { streamText } from 'ai';
 * import { createTokenwire } from 'tokenwire/ai-sdk';
 * const tokenwire = createTokenwire({ baseUrl: 'http://127.0.0.1:8000' });
 * const result = streamText({ model: tokenwire('my-model'), prompt: 'Hello' });
 * for await (const text of result.textStream) process.stdout.write(text);
 * console.log((await result.providerMetadata)?.tokenwire);
 */
export function createTokenwire(options: TokenwireProviderOptions = {}): TokenwireProvider {
  const { name = 'tokenwire', ...clientOptions } = options;
  const client = new Client(clientOptions);
  const chat = (modelId: string) => new TokenwireLanguageModel(client, modelId, 'chat', name);
  const provider = (modelId: string) => chat(modelId);
  return Object.assign(provider, {
    languageModel: chat,
    chatModel: chat,
    completionModel: (modelId: string) => new TokenwireLanguageModel(client, modelId, 'completion', name),
    client,
    close: () => client.close(),
  });
}
