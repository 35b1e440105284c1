/**
 * One call's telemetry: its CLIENT span (attributes, retry/resume/endpoint events,
 * status) and its metric points, fed by the engine's observer hook (StreamObserver).
 * Made only when telemetry is on for the call; a call without it never sees this file.
 */
import type { Attributes, Span } from '@opentelemetry/api';
import type { TokenwireError } from '../errors.js';
import type { StreamObserver } from '../stream/observer.js';
import type { ResponseInfo } from '../stream/response-info.js';
import type { StreamStats, Usage } from '../types.js';
import type { Api } from './api.js';
import type { Instruments } from './instruments.js';
import { ATTR, EVENT } from './semconv.js';

const now = (): number => performance.now();

/** What every call of a client shares (made once per client). */
export interface TelemetryShared {
  api: Api;
  captureContent: boolean;
}

/** How a call starts: its span (if traced), its instruments (if measured), what it asks for. */
export interface CallStart {
  shared: TelemetryShared;
  span: Span | undefined;
  instruments: Instruments | undefined;
  operation: string;
  model: string | undefined;
  /** The dialect when already known (else set at the first attempt). */
  provider: string | undefined;
}

/** `server.address` and `server.port` of a URL (the port made explicit from the scheme). */
export function serverOf(url: URL): { address: string; port: number } {
  const address = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  return { address, port };
}

/** The observer of one traced or measured call (see the file comment). */
export class CallTelemetry implements StreamObserver {
  private readonly startedAt = now();
  private firstChunkAt: number | undefined;
  private lastChunkAt = 0;
  private provider: string | undefined;
  private endpoint: string | undefined;
  private address: string | undefined;
  private port: number | undefined;
  /** The attributes of every metric point of this call (rebuilt when the endpoint changes). */
  private metricAttributes: Attributes = {};
  private attemptNumber = 0;
  private lastFailure: string | undefined;
  /** Tokens received when the last attempt failed. */
  private tokensSoFar = 0;
  /** Trace context headers to send (computed once), and the last merged header set. */
  private traceCarrier: Record<string, string> | undefined;
  private mergedFor: Readonly<Record<string, string>> | undefined;
  private merged: Readonly<Record<string, string>> | undefined;
  /** The call's response id and model (the engine's object, read when the call ends). */
  private responseInfo: ResponseInfo | undefined;
  /** The response model the metric attributes carry. */
  private metricModel: string | undefined;

  constructor(private readonly start: CallStart) {
    this.provider = start.provider;
  }

  attempt(number: number, url: URL, dialect: string): void {
    this.attemptNumber = number;
    const span = this.start.span;
    if (this.provider === undefined || this.provider === 'unknown') {
      this.provider = dialect;
      span?.setAttribute(ATTR.providerName, dialect);
    }
    const endpoint = `${url.protocol}//${url.host}`;
    if (endpoint === this.endpoint) return;
    const { address, port } = serverOf(url);
    if (this.endpoint !== undefined && span !== undefined) {
      // A later attempt went elsewhere (a fleet's failover): said, with why the last one ended.
      span.addEvent(EVENT.endpointChange, {
        [ATTR.previousEndpoint]: this.endpoint,
        [ATTR.endpoint]: endpoint,
        [ATTR.errorType]: this.lastFailure ?? 'none',
        [ATTR.attempt]: number,
        [ATTR.tokensReceived]: this.tokensSoFar,
      });
    }
    this.endpoint = endpoint;
    this.address = address;
    this.port = port;
    span?.setAttributes({ [ATTR.serverAddress]: address, [ATTR.serverPort]: port });
    this.metricAttributes = this.baseMetricAttributes();
  }

  hedge(number: number, url: URL, _dialect: string, first: URL | undefined): void {
    this.start.span?.addEvent(EVENT.hedge, {
      [ATTR.endpoint]: `${url.protocol}//${url.host}`,
      [ATTR.hedgeOther]: first === undefined ? 'none' : `${first.protocol}//${first.host}`,
      [ATTR.attempt]: number,
    });
  }

  hedgeDecided(winner: URL, loser: URL): void {
    const endpoint = `${winner.protocol}//${winner.host}`;
    this.start.span?.addEvent(EVENT.hedgeDecided, {
      [ATTR.endpoint]: endpoint,
      [ATTR.hedgeOther]: `${loser.protocol}//${loser.host}`,
    });
    if (endpoint === this.endpoint) return;
    // The hedge answered: the call's server is its endpoint from now on (no endpoint_change:
    // nothing failed, the hedge events say what happened).
    const { address, port } = serverOf(winner);
    this.endpoint = endpoint;
    this.address = address;
    this.port = port;
    this.start.span?.setAttributes({ [ATTR.serverAddress]: address, [ATTR.serverPort]: port });
    this.metricAttributes = this.baseMetricAttributes();
  }

  headers(base: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
    if (base === this.mergedFor && this.merged !== undefined) return this.merged;
    const carrier = (this.traceCarrier ??= this.traceContext());
    this.mergedFor = base;
    this.merged = Object.keys(carrier).length === 0 ? base : { ...base, ...carrier };
    return this.merged;
  }

  chunk(t: number): void {
    if (this.firstChunkAt === undefined) this.firstChunkAt = t;
    else
      this.start.instruments?.timePerOutputChunk.record((t - this.lastChunkAt) / 1000, this.metricAttributes);
    this.lastChunkAt = t;
  }

  response(response: ResponseInfo): void {
    this.responseInfo = response;
    if (response.model !== this.metricModel) {
      this.metricModel = response.model;
      this.metricAttributes = this.baseMetricAttributes();
    }
  }

  detectionFailed(
    failure: TokenwireError,
    detection: number,
    endpoint: string,
    retryDelayMs: number | undefined,
  ): void {
    const attributes: Attributes = {
      [ATTR.errorType]: failure.code,
      [ATTR.errorPhase]: failure.phase,
      // The message names the endpoint and what went wrong, never a key (scrubbed before).
      [ATTR.errorMessage]: failure.message,
      [ATTR.detection]: detection,
      [ATTR.endpoint]: endpoint,
    };
    if (retryDelayMs !== undefined) attributes[ATTR.delayMs] = Math.round(retryDelayMs);
    this.start.span?.addEvent(EVENT.detectionFailed, attributes);
  }

  retry(resume: boolean, failure: TokenwireError, tokensReceived: number, delayMs: number): void {
    this.lastFailure = failure.code;
    this.tokensSoFar = tokensReceived;
    this.start.span?.addEvent(resume ? EVENT.resume : EVENT.retry, {
      [ATTR.errorType]: failure.code,
      [ATTR.errorPhase]: failure.phase,
      [ATTR.attempt]: this.attemptNumber,
      [ATTR.tokensReceived]: tokensReceived,
      [ATTR.delayMs]: Math.round(delayMs),
    });
    const instruments = this.start.instruments;
    if (instruments !== undefined) {
      const counter = resume ? instruments.resumes : instruments.retries;
      counter.add(1, { ...this.metricAttributes, [ATTR.errorType]: failure.code });
    }
  }

  succeeded(finishReason: string, usage: Usage, stats: StreamStats, output: { text(): string }): void {
    const span = this.start.span;
    if (span !== undefined) {
      const attributes: Attributes = {
        [ATTR.responseFinishReasons]: [finishReason],
        [ATTR.usageOutputTokens]: usage.completionTokens,
        [ATTR.usageComputed]: usage.computed,
        ...this.callAttributes(stats, stats.tokens),
      };
      if (usage.promptTokens !== undefined) attributes[ATTR.usageInputTokens] = usage.promptTokens;
      if (usage.cachedPromptTokens !== undefined)
        attributes[ATTR.usageCacheReadInputTokens] = usage.cachedPromptTokens;
      if (this.start.shared.captureContent) {
        attributes[ATTR.outputMessages] = JSON.stringify([
          {
            role: 'assistant',
            parts: [{ type: 'text', content: output.text() }],
            finish_reason: finishReason,
          },
        ]);
      }
      span.setAttributes(attributes);
      span.end();
    }
    const instruments = this.start.instruments;
    if (instruments === undefined) return;
    const metricAttributes = this.metricAttributes;
    instruments.duration.record(stats.durationMs / 1000, metricAttributes);
    this.recordFirstChunk(instruments);
    // Token histograms only for operations that succeeded (the conventions' clarification #530).
    if (usage.promptTokens !== undefined) {
      instruments.tokenUsage.record(usage.promptTokens, { ...metricAttributes, [ATTR.tokenType]: 'input' });
    }
    instruments.tokenUsage.record(usage.completionTokens, {
      ...metricAttributes,
      [ATTR.tokenType]: 'output',
    });
  }

  failed(error: TokenwireError, stats: StreamStats): void {
    const span = this.start.span;
    if (span !== undefined) {
      span.setAttributes({
        [ATTR.errorType]: error.code,
        [ATTR.errorPhase]: error.phase,
        ...this.callAttributes(stats, error.partial.length),
      });
      // The message names method and URL, never a key (scrubbed before it gets here).
      span.setStatus({ code: this.start.shared.api.SpanStatusCode.ERROR, message: error.message });
      span.end();
    }
    const instruments = this.start.instruments;
    if (instruments === undefined) return;
    instruments.duration.record(stats.durationMs / 1000, {
      ...this.metricAttributes,
      [ATTR.errorType]: error.code,
    });
    this.recordFirstChunk(instruments);
  }

  /** What every metric point of the call carries. */
  private baseMetricAttributes(): Attributes {
    const attributes: Attributes = {
      [ATTR.operationName]: this.start.operation,
      [ATTR.providerName]: this.provider ?? 'unknown',
    };
    if (this.start.model !== undefined) attributes[ATTR.requestModel] = this.start.model;
    if (this.metricModel !== undefined) attributes[ATTR.responseModel] = this.metricModel;
    if (this.address !== undefined) {
      attributes[ATTR.serverAddress] = this.address;
      attributes[ATTR.serverPort] = this.port;
    }
    return attributes;
  }

  /** The span attributes every ending sets: time to first chunk and tokenwire's accounting. */
  private callAttributes(stats: StreamStats, tokens: number): Attributes {
    const attributes: Attributes = {
      [ATTR.attempts]: stats.attempts,
      [ATTR.resumes]: stats.resumes,
      [ATTR.idsIncomplete]: stats.idsIncomplete,
      [ATTR.tokensReceived]: tokens,
    };
    const response = this.responseInfo;
    if (response?.id !== undefined) attributes[ATTR.responseId] = response.id;
    if (response?.model !== undefined) attributes[ATTR.responseModel] = response.model;
    // Several attempts, several server ids: all of them, in order, to find each in server logs.
    let ids: string[] | undefined;
    for (const endpoint of stats.endpoints) {
      if (endpoint.responseId !== undefined) (ids ??= []).push(endpoint.responseId);
    }
    if (ids !== undefined && ids.length > 1) attributes[ATTR.responseIds] = ids;
    if (this.firstChunkAt !== undefined) {
      attributes[ATTR.responseTimeToFirstChunk] = (this.firstChunkAt - this.startedAt) / 1000;
    }
    return attributes;
  }

  private recordFirstChunk(instruments: Instruments): void {
    if (this.firstChunkAt === undefined) return;
    instruments.timeToFirstChunk.record((this.firstChunkAt - this.startedAt) / 1000, this.metricAttributes);
  }

  /**
   * The trace context of the call's span as headers: the registered propagator's, or W3C
   * `traceparent` written here when none is registered. A server that traces then joins
   * the caller's trace: vLLM reads W3C `traceparent` (vllm/tracing/otel.py
   * `extract_trace_context`, TraceContextTextMapPropagator; vllm-project/vllm 40eeb0c).
   */
  private traceContext(): Record<string, string> {
    const span = this.start.span;
    const carrier: Record<string, string> = {};
    if (span === undefined) return carrier;
    const { api } = this.start.shared;
    api.propagation.inject(api.trace.setSpan(api.context.active(), span), carrier);
    if (Object.keys(carrier).length === 0) {
      const spanContext = span.spanContext();
      if (api.isSpanContextValid(spanContext)) {
        const flags = (spanContext.traceFlags & 0xff).toString(16).padStart(2, '0');
        carrier.traceparent = `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`;
      }
    }
    return carrier;
  }
}
