/**
 * Runs the real `openai` package and the real AI SDK (`ai` + `@ai-sdk/openai-compatible`)
 * against a simulator fault, with their own fetch or with tokenwire's, and says what
 * the caller saw: a normal end (with what text), an error (which, with what message),
 * or nothing at all within the budget (a hang, stopped by the harness).
 */
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { streamText } from 'ai';
import OpenAI from 'openai';

export interface SdkOutcome {
  kind: 'ok' | 'threw' | 'hang';
  text: string;
  finishReason: string | undefined;
  /** The error the caller got (for the AI SDK: the stream's error part). */
  error: { name: string; code: string | undefined; message: string; partial: number | undefined } | undefined;
  ms: number;
}

type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** Stops a run that has not ended after `budgetMs` (a hang) and says so. */
async function bounded(
  budgetMs: number,
  run: (signal: AbortSignal, out: SdkOutcome) => Promise<void>,
): Promise<SdkOutcome> {
  const out: SdkOutcome = { kind: 'ok', text: '', finishReason: undefined, error: undefined, ms: 0 };
  const controller = new AbortController();
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<'hang'>((resolve) => {
    timer = setTimeout(() => resolve('hang'), budgetMs);
  });
  const result = await Promise.race([
    run(controller.signal, out).then(
      () => 'done' as const,
      (error) => {
        out.error = describe(error);
        return 'threw' as const;
      },
    ),
    hang,
  ]);
  clearTimeout(timer);
  out.ms = performance.now() - started;
  if (result === 'hang') {
    out.kind = 'hang';
    controller.abort(new Error('test budget'));
  } else if (result === 'threw' || out.error) out.kind = 'threw';
  return out;
}

function describe(error: unknown): SdkOutcome['error'] {
  const e = error as { name?: string; code?: unknown; message?: string; partial?: unknown[] };
  return {
    name: e?.name ?? typeof error,
    code: typeof e?.code === 'string' ? e.code : undefined,
    message: String(e?.message ?? error),
    partial: Array.isArray(e?.partial) ? e.partial.length : undefined,
  };
}

/** openai-node: `completions.create({ stream: true })` with a token-id prompt. */
export function runOpenAI(
  baseUrl: string,
  fault: string,
  fetch: Fetch | undefined,
  budgetMs: number,
  request: { maxTokens: number; dialect?: string } = { maxTokens: 16 },
): Promise<SdkOutcome> {
  const client = new OpenAI({ baseURL: `${baseUrl}/v1`, apiKey: 'sk-test-key-123456', maxRetries: 0, fetch });
  return bounded(budgetMs, async (signal, out) => {
    const headers: Record<string, string> = { 'x-sim-fault': fault };
    if (request.dialect) headers['x-sim-dialect'] = request.dialect;
    const stream = await client.completions.create(
      { model: 'm', prompt: [1, 2, 3], max_tokens: request.maxTokens, stream: true },
      { headers, signal },
    );
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (choice === undefined) continue;
      out.text += choice.text ?? '';
      if (choice.finish_reason) out.finishReason = choice.finish_reason;
    }
  });
}

/** The AI SDK: `streamText` over `@ai-sdk/openai-compatible`'s chat model, its fullStream read. */
export function runAiSdk(
  baseUrl: string,
  fault: string,
  fetch: Fetch | undefined,
  budgetMs: number,
  request: { maxTokens: number; dialect?: string } = { maxTokens: 16 },
): Promise<SdkOutcome> {
  (globalThis as { AI_SDK_LOG_WARNINGS?: boolean }).AI_SDK_LOG_WARNINGS = false;
  const headers: Record<string, string> = { 'x-sim-fault': fault };
  if (request.dialect) headers['x-sim-dialect'] = request.dialect;
  const provider = createOpenAICompatible({
    baseURL: `${baseUrl}/v1`,
    name: 'sim',
    apiKey: 'sk-test-key-123456',
    fetch,
    headers,
  });
  return bounded(budgetMs, async (signal, out) => {
    const result = streamText({
      model: provider.chatModel('m'),
      prompt: 'hi',
      maxOutputTokens: request.maxTokens,
      maxRetries: 0,
      abortSignal: signal,
      onError: () => {},
    });
    for await (const part of result.fullStream) {
      if (part.type === 'text-delta') out.text += part.text;
      else if (part.type === 'error') out.error ??= describe(part.error);
      else if (part.type === 'finish') out.finishReason = part.finishReason;
    }
  });
}
