/**
 * The names tokenwire's telemetry uses, from the OpenTelemetry GenAI semantic
 * conventions (status: Development). Followed: open-telemetry/semantic-conventions-genai
 * (where the GenAI conventions moved from open-telemetry/semantic-conventions after
 * v1.41; no tagged release yet), `docs/gen-ai/gen-ai-spans.md` at 002c8a6 (the
 * inference span: name `{gen_ai.operation.name} {gen_ai.request.model}`, kind CLIENT,
 * its attributes) and `docs/gen-ai/gen-ai-metrics.md` at 004902b (the four client
 * histograms, their units and advised bucket boundaries). `gen_ai.response.id`,
 * `gen_ai.response.model` and `gen_ai.usage.cache_read.input_tokens` (Recommended; "SHOULD
 * be included in `gen_ai.usage.input_tokens`", which prompt_tokens already is) from
 * gen-ai-spans.md at 9430220; gen-ai-metrics.md at 7269173 lists `gen_ai.response.model` as
 * Recommended on the client metrics, and only `input` and `output` as `gen_ai.token.type`
 * values: cached tokens are not a token type of `gen_ai.client.token.usage`, so they are
 * recorded on spans only. Names under `tokenwire.*` are ours.
 */

/** `gen_ai.operation.name` of a completions call and of a chat call. */
export const OPERATION = { completion: 'text_completion', chat: 'chat' } as const;

/** Attribute names: the conventions' (`gen_ai.*`, `server.*`, `error.type`), then tokenwire's. */
export const ATTR = {
  operationName: 'gen_ai.operation.name',
  providerName: 'gen_ai.provider.name',
  requestModel: 'gen_ai.request.model',
  requestMaxTokens: 'gen_ai.request.max_tokens',
  requestTemperature: 'gen_ai.request.temperature',
  requestTopP: 'gen_ai.request.top_p',
  requestTopK: 'gen_ai.request.top_k',
  requestSeed: 'gen_ai.request.seed',
  requestStopSequences: 'gen_ai.request.stop_sequences',
  requestFrequencyPenalty: 'gen_ai.request.frequency_penalty',
  requestPresencePenalty: 'gen_ai.request.presence_penalty',
  requestStream: 'gen_ai.request.stream',
  responseFinishReasons: 'gen_ai.response.finish_reasons',
  responseId: 'gen_ai.response.id',
  responseModel: 'gen_ai.response.model',
  responseTimeToFirstChunk: 'gen_ai.response.time_to_first_chunk',
  usageInputTokens: 'gen_ai.usage.input_tokens',
  usageOutputTokens: 'gen_ai.usage.output_tokens',
  usageCacheReadInputTokens: 'gen_ai.usage.cache_read.input_tokens',
  inputMessages: 'gen_ai.input.messages',
  outputMessages: 'gen_ai.output.messages',
  tokenType: 'gen_ai.token.type',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  errorType: 'error.type',
  // tokenwire's own
  attempts: 'tokenwire.attempts',
  resumes: 'tokenwire.resumes',
  idsIncomplete: 'tokenwire.ids_incomplete',
  tokensReceived: 'tokenwire.tokens_received',
  usageComputed: 'tokenwire.usage.computed',
  errorPhase: 'tokenwire.error.phase',
  attempt: 'tokenwire.attempt',
  delayMs: 'tokenwire.retry.delay_ms',
  previousEndpoint: 'tokenwire.endpoint.previous',
  endpoint: 'tokenwire.endpoint',
  detection: 'tokenwire.detection',
  errorMessage: 'tokenwire.error.message',
  responseIds: 'tokenwire.response_ids',
  /** The endpoint of the attempt a hedge was sent beside (hedge), of the cancelled request (hedge decided). */
  hedgeOther: 'tokenwire.hedge.other_endpoint',
} as const;

/** Span events (tokenwire's own: the conventions define none for retries). */
export const EVENT = {
  retry: 'tokenwire.retry',
  resume: 'tokenwire.resume',
  endpointChange: 'tokenwire.endpoint_change',
  detectionFailed: 'tokenwire.detection_failed',
  /** A hedge's second request was sent (`tokenwire.endpoint`), beside the silent one (`…hedge.other_endpoint`). */
  hedge: 'tokenwire.hedge',
  /** A hedge race was decided: `tokenwire.endpoint` answered first, `…hedge.other_endpoint` was cancelled. */
  hedgeDecided: 'tokenwire.hedge_decided',
} as const;

/** Metric names: the four GenAI client histograms, then tokenwire's counters. */
export const METRIC = {
  duration: 'gen_ai.client.operation.duration',
  tokenUsage: 'gen_ai.client.token.usage',
  timeToFirstChunk: 'gen_ai.client.operation.time_to_first_chunk',
  timePerOutputChunk: 'gen_ai.client.operation.time_per_output_chunk',
  retries: 'tokenwire.client.retries',
  resumes: 'tokenwire.client.resumes',
} as const;

/** Advised boundaries of the three time histograms, in seconds (gen-ai-metrics.md). */
export const SECONDS_BUCKETS: readonly number[] = [
  0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];

/** Advised boundaries of `gen_ai.client.token.usage` (gen-ai-metrics.md). */
export const TOKEN_BUCKETS: readonly number[] = [
  1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
];

/** The instrumentation scope name of tokenwire's tracer and meter. */
export const SCOPE = 'tokenwire';
