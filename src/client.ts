/**
 * The Client: options, the connection pool, dialect detection, and the
 * entry points (streams, tokenize/detokenize, models).
 */
import type { Dispatcher } from 'undici';
import { normalizeBaseUrl } from './base-url.js';
import { configuredDialect, detectEndpoint, startDiscovery, untilAborted } from './client-wiring.js';
import { secretValues } from './credentials.js';
import type { ServerIdentity } from './detection.js';
import { makeLog, stderrLogger } from './diagnostics/logger.js';
import { secretForms } from './diagnostics/redact.js';
import type { Dialect, WireRequest } from './dialects/dialect.js';
import { InvalidOptionError, UnsupportedError } from './errors.js';
import type { Discovery } from './fleet/discovery.js';
import { type EndpointOption, resolveEndpoints, resolveRouting } from './fleet/endpoint-options.js';
import type { EndpointSnapshot } from './fleet/endpoint-state.js';
import { Fleet, type FleetEndpoint } from './fleet/fleet.js';
import { Prober } from './fleet/probe.js';
import { badJson, detokenizeOn, type JsonAnswer, requestJson } from './json-request.js';
import { resolveHeaders, resolveHedge, resolveTimeouts, showValue } from './option-values.js';
import type { ClientOptions, LogRecord, ResolvedOptions } from './options.js';
import { ChatStream } from './stream/chat-stream.js';
import { CompletionStream } from './stream/completion-stream.js';
import type { StreamContext } from './stream/context.js';
import { Telemetry } from './telemetry/telemetry.js';
import { createDispatcher, envProxies } from './transport/client-dispatcher.js';
import { proxySecrets } from './transport-options.js';
import type { ChatRequest, CommonRequestOptions, CompletionRequest, DialectName } from './types.js';
import { validateChatRequest, validateCompletionRequest } from './validate.js';
import { VERSION } from './version.js';

/** A model as listed by `GET /v1/models`. */
export interface ModelInfo {
  id: string;
  ownedBy: string | undefined;
  /** Context length where the server says it (vLLM `max_model_len`). */
  maxModelLen: number | undefined;
  raw: Record<string, unknown>;
}

/**
 * A client for one OpenAI-compatible server, or for several replicas of one model
 * (`endpoints`): each request goes to one of them (cache-aware, least outstanding by
 * default), failures move to another, and a stream that breaks mid-way resumes on
 * another replica by continuation.
 *
 * @example
 * const client = new Client({ baseUrl: 'http://127.0.0.1:8000', model: 'my-model' });
 * const result = await client.streamCompletion({ prompt: [1, 2, 3], maxTokens: 32 }).final();
 * console.log(result.ids, result.text, result.finishReason);
 * await client.close();
 *
 * @example
 * const fleet = new Client({ endpoints: ['http://10.0.0.1:8000', 'http://10.0.0.2:8000'] });
 * const done = await fleet.streamCompletion({ prompt: ids, maxTokens: 64 }).final();
 * console.log(done.stats.endpoints); // [{ url, chosenBy: 'affinity', tokens: 64 }]
 */
export class Client {
  /** The (first) endpoint's root URL. */
  readonly baseUrl: string;
  private readonly options: ResolvedOptions;
  /** Where requests go: the client's own pool, a proxy router over it, or the user's dispatcher. */
  private readonly agent: Dispatcher;
  private readonly log: (record: LogRecord) => void;
  /** Every secret's every form (grows when an endpoint with its own key is added). */
  private readonly secrets: (string | undefined)[];
  private readonly rawOptions: ClientOptions;
  /** Re-resolves `discovery.url` (when the endpoints come from DNS). */
  private discovery: Discovery | undefined;
  /** Active health probes, when `routing.probe` asks for them. */
  private prober: Prober | undefined;
  /** The first resolution of `discovery.url`. */
  private discovered: Promise<void> | undefined;
  /** The endpoints and the router among them (one endpoint for a single baseUrl). */
  private readonly fleet: Fleet;
  /** What every stream of this client shares (built once: streams are many). */
  private readonly streamContext: StreamContext;
  /** OpenTelemetry, when it can be on (the API installed, not turned off). */
  private readonly telemetry: Telemetry | undefined;
  /** Several endpoints may serve it (endpoints, discovery, TOKENWIRE_ENDPOINTS): hedging makes sense. */
  private readonly fleetConfigured: boolean;
  private closed = false;
  /** The lifetime of the work streams share (dialect detection): ended by close(). */
  private readonly lifetime = new AbortController();
  /** Streams not yet ended, so that close() can end them (sleeping before a retry included). */
  private readonly liveStreams = new Set<{ abort(reason?: unknown): void }>();
  /** What detection learned of each endpoint (absent for a dialect named in the options). */
  private readonly identities = new WeakMap<FleetEndpoint, ServerIdentity>();

  constructor(options: ClientOptions = {}) {
    this.rawOptions = options;
    const resolved = resolveEndpoints(options);
    this.fleetConfigured =
      options.baseUrl === undefined &&
      (options.endpoints !== undefined ||
        options.discovery !== undefined ||
        process.env.TOKENWIRE_ENDPOINTS !== undefined);
    if (resolved.options.hedgeAfterMs !== undefined) this.assertHedgeable('option hedge', options.hedge);
    this.options = resolved.options;
    this.baseUrl = this.options.rootUrl;
    this.secrets = [...secretForms(resolved.endpoints.flatMap((e) => secretValues(e.options)))];
    this.agent = createDispatcher(this.options, process.env);
    for (const secret of secretForms(envProxies(process.env).flatMap(proxySecrets))) {
      if (!this.secrets.includes(secret)) this.secrets.push(secret);
    }
    this.log = makeLog(this.options.logger ?? stderrLogger(this.secrets), this.options.debug, this.secrets);
    const routing = resolveRouting(options.routing);
    // One server (baseUrl): there is nowhere else to send a call, so failures do not eject it
    // (each later call would only wait out a cooldown growing to a minute); the retry policy
    // alone paces it, and a Retry-After still cools it. routing.health set explicitly wins.
    if (!this.fleetConfigured && options.routing?.health === undefined) {
      routing.health = {
        ...routing.health,
        consecutiveFailures: Number.POSITIVE_INFINITY,
        failureRate: Number.POSITIVE_INFINITY,
      };
    }
    this.fleet = new Fleet(resolved.endpoints, routing, VERSION, configuredDialect);
    this.streamContext = this.context();
    this.telemetry = Telemetry.create(this.options.telemetry);
    if (options.discovery !== undefined) {
      const started = startDiscovery(this.options.rootUrl, options.discovery, options, this.fleet, this.log);
      this.discovery = started.discovery;
      this.discovered = started.started;
    }
    if (options.routing?.probe !== undefined) {
      this.prober = new Prober(this.fleet, this.agent, options.routing.probe);
      this.prober.start();
    }
  }

  /**
   * Streams a completion for a token-id (or text) prompt.
   * Throws `invalid_option` at once for a bad request; every other failure surfaces
   * while iterating (or from `final()`).
   */
  streamCompletion(request: CompletionRequest): CompletionStream {
    this.assertOpen();
    validateCompletionRequest(request);
    const stream = new CompletionStream(this.contextOf(request), request, this.options.model);
    const observer = this.telemetry?.completion(
      request,
      this.options.model,
      this.baseUrl,
      this.dialectName(),
    );
    if (observer !== undefined) stream.observe(observer);
    return stream;
  }

  /**
   * Streams a chat completion: text, reasoning and tool-call events, then `done` with the
   * assembled assistant message. Same errors, clocks, retries and capture as completions.
   */
  streamChat(request: ChatRequest): ChatStream {
    this.assertOpen();
    validateChatRequest(request);
    const stream = new ChatStream(this.contextOf(request), request, this.options.model);
    const observer = this.telemetry?.chat(request, this.options.model, this.baseUrl, this.dialectName());
    if (observer !== undefined) stream.observe(observer);
    return stream;
  }

  /** The dialect in use (detecting it on first call when `auto`); of the first endpoint that can take a request. */
  async dialect(): Promise<DialectName> {
    return (await this.primaryDialect(undefined)).name;
  }

  /**
   * The server behind the first endpoint that can take a request: its dialect and the
   * version it reported (vLLM `GET /version`, SGLang `GET /server_info`, llama.cpp
   * `GET /props` `build_info`), detected once. With a `dialect` named in the options
   * nothing is probed and `version` is undefined (the newest wire of that dialect is used).
   *
   * @example
   * const { dialect, version } = await client.server(); // { dialect: 'vllm', version: '0.11.0' }
   */
  async server(): Promise<ServerIdentity> {
    const primary = this.fleet.primary();
    const dialect = await primary.dialect((e, s) => this.detect(e, s));
    return this.identities.get(primary) ?? { dialect: dialect.name, version: undefined };
  }

  /**
   * A snapshot of every endpoint: state (healthy, cooling, ejected, half-open, draining),
   * requests in flight, recent error rate, EWMA time to first token, prefix-cache size.
   * Times (`until`) are on the `performance.now()` clock.
   */
  endpoints(): EndpointSnapshot[] {
    return this.fleet.snapshot();
  }

  /** Adds an endpoint to the fleet (a draining one of that URL comes back). */
  addEndpoint(endpoint: EndpointOption): void {
    this.assertOpen();
    const { endpoints } = resolveEndpoints({ ...this.rawOptions, baseUrl: undefined, endpoints: [endpoint] });
    for (const secret of secretForms(secretValues(endpoints[0].options))) {
      if (!this.secrets.includes(secret)) this.secrets.push(secret);
    }
    this.fleet.add(endpoints[0]);
  }

  /**
   * Stops sending new requests to `url` (as given or normalized); streams on it finish
   * there, and it leaves the list when the last one ends. False when no such endpoint.
   */
  drainEndpoint(url: string): boolean {
    return this.fleet.drain(normalizeBaseUrl(url, 'url'));
  }

  /** Token ids of `text`, from the server's own tokenizer. */
  async tokenize(text: string, options: { signal?: AbortSignal } = {}): Promise<number[]> {
    if (typeof text !== 'string')
      throw new InvalidOptionError(`invalid text: ${String(text)} (expected a string)`);
    const dialect = await this.primaryDialect(options.signal);
    if (!dialect.tokenizeRequest || !dialect.parseTokenize) throw this.unsupported(dialect, 'tokenize');
    const wire = dialect.tokenizeRequest(text, this.options.model);
    const json = await this.requestJson('POST', wire, options.signal);
    const ids = dialect.parseTokenize(json.body);
    if (!ids) throw badJson(json.url, 'no "tokens" array in the tokenize answer', json.text);
    return ids;
  }

  /** Text of `ids`, from the server's own detokenizer. */
  async detokenize(ids: readonly number[], options: { signal?: AbortSignal } = {}): Promise<string> {
    if (!Array.isArray(ids) || !ids.every((id) => Number.isInteger(id) && id >= 0)) {
      throw new InvalidOptionError('invalid ids: expected an array of token ids (integers ≥ 0)');
    }
    const dialect = await this.primaryDialect(options.signal);
    if (!dialect.detokenizeRequest || !dialect.parseDetokenize) throw this.unsupported(dialect, 'detokenize');
    const wire = dialect.detokenizeRequest(ids, this.options.model);
    const json = await this.requestJson('POST', wire, options.signal);
    const text = dialect.parseDetokenize(json.body);
    if (text === undefined) throw badJson(json.url, 'no text in the detokenize answer', json.text);
    return text;
  }

  /** The server's models (`GET /v1/models`). */
  async models(options: { signal?: AbortSignal } = {}): Promise<ModelInfo[]> {
    const json = await this.requestJson('GET', { path: '/v1/models', body: {} }, options.signal);
    // OpenAI-style `{"data": [...]}`; Together answers with a bare array.
    const data = Array.isArray(json.body) ? json.body : (json.body as { data?: unknown })?.data;
    if (!Array.isArray(data)) {
      throw badJson(json.url, 'no "data" array in the models answer', json.text, 'GET');
    }
    return data.map((raw: Record<string, unknown>) => ({
      id: String(raw.id),
      ownedBy: typeof raw.owned_by === 'string' ? raw.owned_by : undefined,
      maxModelLen: typeof raw.max_model_len === 'number' ? raw.max_model_len : undefined,
      raw,
    }));
  }

  /**
   * Closes the connection pool. Unfinished streams end at once with `aborted` (those in
   * flight, waiting for the dialect, or sleeping before a retry); no timer of theirs is left.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.discovery?.stop();
    this.prober?.stop();
    this.lifetime.abort(new Error('the client was closed'));
    for (const stream of [...this.liveStreams]) stream.abort('the client was closed');
    // A dispatcher of the user's is theirs to close.
    if (this.options.dispatcher === undefined) await this.agent.destroy();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Resolves the discovery name now (endpoints that appeared are added, those gone
   * drained); it is also done every `discovery.intervalMs`. Without discovery, nothing.
   */
  async refreshEndpoints(): Promise<void> {
    await this.discovered;
    await this.discovery?.refresh();
  }

  // ---- internals ----------------------------------------------------------------

  private context(): StreamContext {
    return {
      dispatcher: this.agent,
      options: this.options,
      log: this.log,
      secrets: this.secrets,
      fleet: this.fleet,
      detect: (endpoint) => this.detect(endpoint, this.lifetime.signal),
      detokenize: (endpoint, dialect, ids, model) =>
        detokenizeOn(
          this.streamContext,
          this.lifetime.signal,
          endpoint,
          dialect,
          ids,
          model ?? this.options.model,
        ),
      liveStreams: this.liveStreams,
      version: VERSION,
    };
  }

  /** The dialect when set (not `auto`): telemetry names the provider at span creation then. */
  private dialectName(): string | undefined {
    return this.options.dialect === 'auto' ? undefined : this.options.dialect;
  }

  /**
   * The context of one stream: the client's shared one, or, for a request with its own
   * `headers` or `timeouts`, a copy with them laid over the client's.
   */
  private contextOf(request: CommonRequestOptions): StreamContext {
    if (request.headers === undefined && request.timeouts === undefined && request.hedge === undefined) {
      return this.streamContext;
    }
    const context: StreamContext = { ...this.streamContext };
    if (request.timeouts !== undefined || request.hedge !== undefined) {
      const hedge = resolveHedge(request.hedge, 'request field');
      if (hedge !== undefined && hedge !== null) this.assertHedgeable('hedge', request.hedge);
      context.options = {
        ...this.options,
        timeouts:
          request.timeouts === undefined
            ? this.options.timeouts
            : resolveTimeouts(request.timeouts, this.options.timeouts, 'request field'),
        hedgeAfterMs: hedge === undefined ? this.options.hedgeAfterMs : (hedge ?? undefined),
      };
    }
    if (request.headers !== undefined) context.requestHeaders = resolveHeaders(request.headers);
    return context;
  }

  /**
   * Hedging needs a second server to send to: with one `baseUrl` it would send the same
   * request twice to the same server, which only adds load (a demand a user would rather
   * hear about than pay for silently). With `endpoints` of one URL it is allowed: more may
   * be added, and a hedge is only sent when another endpoint can take it.
   */
  private assertHedgeable(label: string, value: unknown): void {
    if (this.fleetConfigured) return;
    throw new InvalidOptionError(
      `invalid ${label}: ${showValue(value)} (hedging sends a second request to another endpoint: it needs endpoints or discovery, not a single baseUrl)`,
    );
  }

  private assertOpen(): void {
    if (this.closed) throw new InvalidOptionError('this client is closed: create a new Client');
  }

  /** The first endpoint's dialect; a caller's signal stops its wait, not the shared detection. */
  private primaryDialect(signal: AbortSignal | undefined): Promise<Dialect> {
    return untilAborted(
      this.fleet.primary().dialect((endpoint) => this.detect(endpoint, this.lifetime.signal)),
      signal,
    );
  }

  private detect(endpoint: FleetEndpoint, signal: AbortSignal | undefined): Promise<Dialect> {
    return detectEndpoint(this.streamContext, endpoint, signal, this.identities);
  }

  /** One JSON request (see json-request.ts), to the first endpoint unless told. */
  private requestJson(
    method: 'GET' | 'POST',
    wire: WireRequest,
    signal: AbortSignal | undefined,
    endpoint: FleetEndpoint = this.fleet.primary(),
  ): Promise<JsonAnswer> {
    return requestJson(this.streamContext, method, wire, signal, endpoint);
  }

  private unsupported(dialect: Dialect, what: string): UnsupportedError {
    return new UnsupportedError(
      `unsupported: ${dialect.name} servers have no ${what} endpoint (${this.options.rootUrl}); use a server that has one (vLLM, SGLang, llama.cpp)`,
      { code: 'unsupported', phase: 'setup', url: this.options.rootUrl },
    );
  }
}
