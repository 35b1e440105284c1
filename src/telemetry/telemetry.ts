/**
 * A client's telemetry: whether a call is traced and measured, and with what. On when
 * `@opentelemetry/api` is installed and either providers were passed
 * (`telemetry: { tracerProvider, meterProvider }`) or global ones are registered;
 * decided per call, so a provider registered after the Client was made is used too.
 * Off, a call gets no observer: the engine then does nothing more than before.
 */
import type { Attributes, Meter, MeterProvider, Tracer, TracerProvider } from '@opentelemetry/api';
import type { StreamObserver } from '../stream/observer.js';
import type { ChatRequest, CompletionRequest } from '../types.js';
import { VERSION } from '../version.js';
import { type Api, globalProviders, otelApi } from './api.js';
import { CallTelemetry, serverOf, type TelemetryShared } from './call.js';
import { inputMessages } from './content.js';
import { type Instruments, makeInstruments } from './instruments.js';
import { ATTR, OPERATION, SCOPE } from './semconv.js';

/**
 * OpenTelemetry options of a Client. Without them, the global providers are used when
 * registered; `telemetry: false` turns telemetry off.
 */
export interface TelemetryOptions {
  /** A `TracerProvider` of `@opentelemetry/api` (instead of the global one). */
  tracerProvider?: { getTracer(name: string, version?: string): unknown };
  /** A `MeterProvider` of `@opentelemetry/api` (instead of the global one). */
  meterProvider?: { getMeter(name: string, version?: string): unknown };
  /**
   * Record prompts and generated text on spans (`gen_ai.input.messages`,
   * `gen_ai.output.messages`). Default false: content is never recorded otherwise.
   */
  captureContent?: boolean;
}

/** A client's telemetry (see the file comment); made by `Telemetry.create`. */
export class Telemetry {
  private readonly shared: TelemetryShared;
  private tracer: Tracer | undefined;
  private instruments: Instruments | undefined;

  private constructor(api: Api, options: TelemetryOptions) {
    this.shared = { api, captureContent: options.captureContent === true };
    if (options.tracerProvider) {
      this.tracer = (options.tracerProvider as TracerProvider).getTracer(SCOPE, VERSION);
    }
    if (options.meterProvider)
      this.useMeter((options.meterProvider as MeterProvider).getMeter(SCOPE, VERSION));
  }

  /** The client's telemetry, or undefined when it can never be on (off, or no API installed). */
  static create(options: TelemetryOptions | false | undefined): Telemetry | undefined {
    if (options === false) return undefined;
    const api = otelApi();
    return api === undefined ? undefined : new Telemetry(api, options ?? {});
  }

  /** The observer of a completion call, or undefined when nothing would record it. */
  completion(request: CompletionRequest, model: string | undefined, rootUrl: string, provider?: string) {
    const attributes = this.requestAttributes(request, model, rootUrl);
    if (request.maxTokens !== undefined) attributes[ATTR.requestMaxTokens] = request.maxTokens;
    return this.start(OPERATION.completion, request.model ?? model, attributes, provider, () =>
      inputMessages(request.prompt),
    );
  }

  /** The observer of a chat call, or undefined when nothing would record it. */
  chat(request: ChatRequest, model: string | undefined, rootUrl: string, provider?: string) {
    const attributes = this.requestAttributes(request, model, rootUrl);
    if (request.maxTokens !== undefined) attributes[ATTR.requestMaxTokens] = request.maxTokens;
    return this.start(OPERATION.chat, request.model ?? model, attributes, provider, () =>
      inputMessages(request.messages),
    );
  }

  private start(
    operation: string,
    model: string | undefined,
    attributes: Attributes,
    provider: string | undefined,
    content: () => string,
  ): StreamObserver | undefined {
    const { api } = this.shared;
    const global =
      this.tracer === undefined || this.instruments === undefined ? globalProviders() : undefined;
    const tracer =
      this.tracer ?? (global?.trace ? (this.tracer = api.trace.getTracer(SCOPE, VERSION)) : undefined);
    if (this.instruments === undefined && global?.metrics)
      this.useMeter(api.metrics.getMeter(SCOPE, VERSION));
    const instruments = this.instruments;
    if (tracer === undefined && instruments === undefined) return undefined;
    attributes[ATTR.operationName] = operation;
    if (provider !== undefined) attributes[ATTR.providerName] = provider;
    let span: ReturnType<Tracer['startSpan']> | undefined;
    if (tracer !== undefined) {
      if (this.shared.captureContent) attributes[ATTR.inputMessages] = content();
      span = tracer.startSpan(
        model === undefined ? operation : `${operation} ${model}`,
        { kind: api.SpanKind.CLIENT, attributes },
        api.context.active(),
      );
    }
    return new CallTelemetry({ shared: this.shared, span, instruments, operation, model, provider });
  }

  private useMeter(meter: Meter): void {
    this.instruments = makeInstruments(meter);
  }

  /** The request's attributes (those the conventions want at span creation first). */
  private requestAttributes(
    request: CompletionRequest | ChatRequest,
    model: string | undefined,
    rootUrl: string,
  ): Attributes {
    const { address, port } = serverOf(new URL(rootUrl));
    const attributes: Attributes = {
      [ATTR.serverAddress]: address,
      [ATTR.serverPort]: port,
      [ATTR.requestStream]: true,
    };
    const requestModel = request.model ?? model;
    if (requestModel !== undefined) attributes[ATTR.requestModel] = requestModel;
    const sampling = request.sampling;
    if (sampling !== undefined) {
      if (sampling.temperature !== undefined) attributes[ATTR.requestTemperature] = sampling.temperature;
      if (sampling.topP !== undefined) attributes[ATTR.requestTopP] = sampling.topP;
      if (sampling.topK !== undefined) attributes[ATTR.requestTopK] = sampling.topK;
      if (sampling.seed !== undefined) attributes[ATTR.requestSeed] = sampling.seed;
      if (sampling.frequencyPenalty !== undefined)
        attributes[ATTR.requestFrequencyPenalty] = sampling.frequencyPenalty;
      if (sampling.presencePenalty !== undefined)
        attributes[ATTR.requestPresencePenalty] = sampling.presencePenalty;
    }
    const stop = request.stop;
    if (stop !== undefined)
      attributes[ATTR.requestStopSequences] = typeof stop === 'string' ? [stop] : [...stop];
    return attributes;
  }
}
