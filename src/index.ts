/**
 * tokenwire: a client for OpenAI-compatible LLM servers that works with token
 * ids, streams, and never lies about how a stream ended.
 */
export { Client, type ModelInfo } from './client.js';
export type { ServerIdentity } from './detection.js';
export {
  AbortError,
  ConnectionError,
  type ErrorCode,
  type ErrorPhase,
  HttpError,
  InvalidOptionError,
  type PartialToken,
  ProtocolError,
  ServerError,
  StreamTruncatedError,
  TimeoutError,
  TokenwireError,
  UnsupportedError,
} from './errors.js';
export type { DiscoveryOptions } from './fleet/discovery.js';
export type { EndpointOption, RoutingOptions } from './fleet/endpoint-options.js';
export type { EndpointHealth, EndpointSnapshot, HealthOptions } from './fleet/endpoint-state.js';
export type { RoutingPolicy } from './fleet/router.js';
export type { ClientOptions, Logger, LogRecord, RetryOptions, TimeoutOptions } from './options.js';
export { probeServer } from './probe/probe.js';
export type { ProbeCheck, ProbeOptions, ProbeReport, ProbeStatus } from './probe/types.js';
export { ChatStream } from './stream/chat-stream.js';
export { CompletionStream } from './stream/completion-stream.js';
export type { TelemetryOptions } from './telemetry/telemetry.js';
export type {
  AssistantMessage,
  ChatDoneEvent,
  ChatEvent,
  ChatMessage,
  ChatReasoningEvent,
  ChatRequest,
  ChatResult,
  ChatTextEvent,
  ChatToolCallEvent,
  CommonRequestOptions,
  CompletionEvent,
  CompletionRequest,
  CompletionResult,
  DialectName,
  DoneEvent,
  EndpointAttempt,
  FinishReason,
  RouteReason,
  SamplingOptions,
  StreamStats,
  TokenEvent,
  ToolCall,
  Usage,
} from './types.js';
export { VERSION } from './version.js';
