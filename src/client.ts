/**
 * The Client: options, the connection pool, dialect detection, and the
 * entry points (streams, tokenize/detokenize, models).
 */
import { type Dispatcher, request as undiciRequest } from 'undici';
import { detectServer, type GetJson, type ServerIdentity } from './detection.js';
import { captureJsonFailure } from './diagnostics/json-capture.js';
import { makeLog, stderrLogger } from './diagnostics/logger.js';
import { scrub, scrubError, secretForms } from './diagnostics/redact.js';
import type { Dialect, WireRequest } from './dialects/dialect.js';
import { dialectByName } from './dialects/index.js';
import {
  AbortError,
  describeRequest,
  InvalidOptionError,
  TokenwireError,
  UnsupportedError,
} from './errors.js';
import {
  DEFAULT_DISCOVERY_INTERVAL_MS,
  Discovery,
  type DiscoveryOptions,
  systemResolver,
} from './fleet/discovery.js';
import { type EndpointOption, resolveEndpoints, resolveRouting } from './fleet/endpoint-options.js';
import type { EndpointSnapshot } from './fleet/endpoint-state.js';
import { Fleet, type FleetEndpoint } from './fleet/fleet.js';
import { Prober } from './fleet/probe.js';
import { resolveHeaders, resolveTimeouts } from './option-values.js';
import {
  type ClientOptions,
  type LogRecord,
  normalizeBaseUrl,
  type ResolvedOptions,
  requestHeaders,
  secretValues,
} from './options.js';
import { ChatStream } from './stream/chat-stream.js';
import { CompletionStream } from './stream/completion-stream.js';
import type { StreamContext } from './stream/context.js';
import { Telemetry } from './telemetry/telemetry.js';
import { decodeWholeBody } from './transport/body-decoder.js';
import { createDispatcher, envProxies } from './transport/client-dispatcher.js';
import { httpError, networkError } from './transport/http-errors.js';
import { contentCoding } from './transport/response-check.js';
import { withSchemeHint } from './transport/scheme-probe.js';
import { proxySecrets } from './transport-options.js';
import type { ChatRequest, CommonRequestOptions, CompletionRequest, DialectName } from './types.js';
import { validateChatRequest, validateCompletionRequest } from './validate.js';
import { VERSION } from './version.js';

/** Largest JSON answer read for tokenize/detokenize/models (a long text's ids fit easily). */
const MAX_JSON_RESPONSE_BYTES = 64 * 1024 * 1024;

/** The dialect an endpoint is configured with (undefined for `auto`: detected on first use). */
function configuredDialect(options: ResolvedOptions): Dialect | undefined {
  if (options.dialect === 'auto') return undefined;
  const dialect = dialectByName(options.dialect);
  if (!dialect) {
    throw new InvalidOptionError(
      `invalid option dialect: "${options.dialect}" is not available in this build`,
    );
  }
  return dialect;
}

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
    this.options = resolved.options;
    this.baseUrl = this.options.rootUrl;
    this.secrets = [...secretForms(resolved.endpoints.flatMap((e) => secretValues(e.options)))];
    this.agent = createDispatcher(this.options, process.env);
    for (const secret of secretForms(envProxies(process.env).flatMap(proxySecrets))) {
      if (!this.secrets.includes(secret)) this.secrets.push(secret);
    }
    this.log = makeLog(this.options.logger ?? stderrLogger(this.secrets), this.options.debug, this.secrets);
    this.fleet = new Fleet(resolved.endpoints, resolveRouting(options.routing), VERSION, configuredDialect);
    this.streamContext = this.context();
    this.telemetry = Telemetry.create(this.options.telemetry);
    if (options.discovery !== undefined) this.startDiscovery(options.discovery);
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
    if (!ids) throw this.badJson(json.url, 'no "tokens" array in the tokenize answer', json.text);
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
    if (text === undefined) throw this.badJson(json.url, 'no text in the detokenize answer', json.text);
    return text;
  }

  /** The server's models (`GET /v1/models`). */
  async models(options: { signal?: AbortSignal } = {}): Promise<ModelInfo[]> {
    const json = await this.requestJson('GET', { path: '/v1/models', body: {} }, options.signal);
    // OpenAI-style `{"data": [...]}`; Together answers with a bare array.
    const data = Array.isArray(json.body) ? json.body : (json.body as { data?: unknown })?.data;
    if (!Array.isArray(data)) {
      throw this.badJson(json.url, 'no "data" array in the models answer', json.text, 'GET');
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

  private startDiscovery(options: DiscoveryOptions): void {
    const template = new URL(this.options.rootUrl);
    this.discovery = new Discovery(
      template,
      options.intervalMs ?? DEFAULT_DISCOVERY_INTERVAL_MS,
      options.resolver ?? systemResolver,
      (added, removed) => {
        for (const url of added) {
          const { endpoints } = resolveEndpoints({
            ...this.rawOptions,
            discovery: undefined,
            endpoints: [url],
          });
          this.fleet.add(endpoints[0]);
        }
        for (const url of removed) this.fleet.drain(url);
        this.log({ level: 'debug', event: 'discovery', url: template.href, added, removed });
      },
      (error) =>
        this.log({ level: 'warn', event: 'discovery_failed', url: template.href, error: String(error) }),
    );
    this.discovered = this.discovery.start();
  }

  private context(): StreamContext {
    return {
      dispatcher: this.agent,
      options: this.options,
      log: this.log,
      secrets: this.secrets,
      fleet: this.fleet,
      detect: (endpoint) => this.detect(endpoint, this.lifetime.signal),
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
    if (request.headers === undefined && request.timeouts === undefined) return this.streamContext;
    const context: StreamContext = { ...this.streamContext };
    if (request.timeouts !== undefined) {
      context.options = {
        ...this.options,
        timeouts: resolveTimeouts(request.timeouts, this.options.timeouts, 'request field'),
      };
    }
    if (request.headers !== undefined) context.requestHeaders = resolveHeaders(request.headers);
    return context;
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

  private async detect(endpoint: FleetEndpoint, signal: AbortSignal | undefined): Promise<Dialect> {
    // Probes a missing endpoint answers with an HTTP error or a non-JSON page: "not here".
    // Network failures are not: they fail the detection, which is retried like a request.
    const get: GetJson = async (path) => {
      try {
        return await this.requestJson('GET', { path, body: {} }, signal, endpoint, false);
      } catch (error) {
        if (
          error instanceof TokenwireError &&
          (error.code === 'http_error' || error.code === 'protocol_error')
        ) {
          return undefined;
        }
        throw error;
      }
    };
    const detected = await detectServer(endpoint.rootUrl, get);
    this.identities.set(endpoint, detected.identity);
    this.log({
      level: 'debug',
      event: 'dialect',
      detected: detected.recognised ?? 'unknown',
      version: detected.identity.version,
      using: detected.dialect.name,
      wire: detected.dialect.facts.label,
      url: endpoint.rootUrl,
    });
    return detected.dialect;
  }

  /**
   * One JSON request; its errors never show a secret the server echoed (scrubbed before
   * any cut), and a failure is saved as a fixture unless `capture` is false (dialect
   * detection: the stream that waited for it saves its own).
   */
  private async requestJson(
    method: 'GET' | 'POST',
    wire: WireRequest,
    signal: AbortSignal | undefined,
    endpoint: FleetEndpoint = this.fleet.primary(),
    capture = true,
  ): Promise<{ body: unknown; text: string; headers: Record<string, string>; url: string }> {
    const startedAt = { iso: new Date().toISOString(), ms: performance.now() };
    try {
      return await this.requestJsonOnce(method, wire, signal, endpoint.options);
    } catch (error) {
      if (!(error instanceof TokenwireError)) throw error;
      const failure = await withSchemeHint(error);
      scrubError(failure, this.secrets);
      const dir = this.options.failedRequestsDir;
      if (capture && dir !== false && failure.code !== 'aborted') {
        await captureJsonFailure(
          {
            method,
            url: endpoint.rootUrl + wire.path,
            headers: requestHeaders(endpoint.options, 'application/json', method === 'POST', VERSION),
            body: method === 'POST' ? wire.body : undefined,
            dialect: endpoint.knownDialect?.name ?? 'unknown',
            startedAt,
            error: failure,
          },
          dir,
          this.options.failedRequestsRetention,
          this.secrets,
          VERSION,
          this.log,
        );
      }
      throw failure;
    }
  }

  private async requestJsonOnce(
    method: 'GET' | 'POST',
    wire: WireRequest,
    signal: AbortSignal | undefined,
    endpoint: ResolvedOptions,
  ): Promise<{ body: unknown; text: string; headers: Record<string, string>; url: string }> {
    const url = endpoint.rootUrl + wire.path;
    const headers = requestHeaders(endpoint, 'application/json', method === 'POST', VERSION);
    const { timeouts } = this.options;
    const deadline = timeouts.totalMs > 0 ? AbortSignal.timeout(timeouts.totalMs) : undefined;
    const signals = [signal, deadline].filter((s): s is AbortSignal => s !== undefined);
    let response: Awaited<ReturnType<typeof undiciRequest>>;
    try {
      response = await undiciRequest(url, {
        method,
        headers,
        body: method === 'POST' ? JSON.stringify(wire.body) : undefined,
        dispatcher: this.agent,
        headersTimeout: timeouts.headersMs,
        bodyTimeout: timeouts.idleMs,
        signal: signals.length > 0 ? AbortSignal.any(signals) : undefined,
      });
    } catch (error) {
      throw networkError(error, 'connect', method, url, timeouts);
    }
    const responseHeaders: Record<string, string> = {};
    for (const [name, value] of Object.entries(response.headers)) {
      if (value !== undefined) responseHeaders[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    let raw: Buffer;
    try {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of response.body) {
        size += chunk.length;
        if (size > MAX_JSON_RESPONSE_BYTES)
          throw new Error(`answer larger than ${MAX_JSON_RESPONSE_BYTES} bytes`);
        chunks.push(chunk);
      }
      raw = Buffer.concat(chunks);
    } catch (error) {
      response.body.destroy();
      throw networkError(error, 'stream', method, url, timeouts);
    }
    const coding = contentCoding(responseHeaders);
    if (coding !== undefined) {
      // A proxy compressed the answer although nothing asked for it: decoded like a stream's.
      try {
        raw = decodeWholeBody(coding, raw, MAX_JSON_RESPONSE_BYTES);
      } catch (error) {
        throw this.badJson(url, `the answer could not be decoded (${(error as Error).message})`, '', method);
      }
    }
    const text = raw.toString('utf8');
    if (response.statusCode < 200 || response.statusCode >= 300) {
      throw httpError(response.statusCode, responseHeaders, scrub(text, this.secrets), method, url);
    }
    try {
      return { body: JSON.parse(text), text, headers: responseHeaders, url };
    } catch {
      throw this.badJson(url, 'the answer is not JSON', scrub(text, this.secrets), method);
    }
  }

  private badJson(url: string, what: string, text: string, method = 'POST'): TokenwireError {
    return new TokenwireError(
      `protocol_error: ${what}${describeRequest(method, url)}: ${text.slice(0, 200)}`,
      {
        code: 'protocol_error',
        phase: 'stream',
        url,
        method,
        body: text.slice(0, 4096),
      },
    );
  }

  private unsupported(dialect: Dialect, what: string): UnsupportedError {
    return new UnsupportedError(
      `unsupported: ${dialect.name} servers have no ${what} endpoint (${this.options.rootUrl}); use a server that has one (vLLM, SGLang, llama.cpp)`,
      { code: 'unsupported', phase: 'setup', url: this.options.rootUrl },
    );
  }
}

/** `promise`, or an `aborted` error as soon as `signal` aborts (the work behind it goes on). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  const aborted = (): AbortError =>
    new AbortError(
      `aborted by the caller${signal.reason instanceof Error ? `: ${signal.reason.message}` : ''}`,
      { code: 'aborted', phase: 'setup', cause: signal.reason },
    );
  if (signal.aborted) return Promise.reject(aborted());
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(aborted());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
