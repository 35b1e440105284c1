/**
 * What the Client wires together around its fleet: the dialect an endpoint is
 * configured with, endpoints found by DNS discovery, and server detection over
 * the client's JSON requests. Functions over explicit inputs, so that client.ts
 * stays the public surface.
 */
import { detectServer, type GetJson, type ServerIdentity } from './detection.js';
import type { Dialect } from './dialects/dialect.js';
import { dialectByName } from './dialects/index.js';
import { AbortError, InvalidOptionError, TokenwireError } from './errors.js';
import {
  DEFAULT_DISCOVERY_INTERVAL_MS,
  Discovery,
  type DiscoveryOptions,
  systemResolver,
} from './fleet/discovery.js';
import { resolveEndpoints } from './fleet/endpoint-options.js';
import type { Fleet, FleetEndpoint } from './fleet/fleet.js';
import { type JsonRequestContext, requestJson } from './json-request.js';
import type { ClientOptions, LogRecord, ResolvedOptions } from './options.js';

/** The dialect an endpoint is configured with (undefined for `auto`: detected on first use). */
export function configuredDialect(options: ResolvedOptions): Dialect | undefined {
  if (options.dialect === 'auto') return undefined;
  const dialect = dialectByName(options.dialect);
  if (!dialect) {
    throw new InvalidOptionError(
      `invalid option dialect: "${options.dialect}" is not available in this build`,
    );
  }
  return dialect;
}

/**
 * Starts re-resolving `rootUrl`'s host name: endpoints that appear join `fleet` (with
 * the client's other options), those gone are drained. `started` settles after the
 * first resolution.
 */
export function startDiscovery(
  rootUrl: string,
  options: DiscoveryOptions,
  rawOptions: ClientOptions,
  fleet: Fleet,
  log: (record: LogRecord) => void,
): { discovery: Discovery; started: Promise<void> } {
  const template = new URL(rootUrl);
  const headers = nameHeaders(template, rawOptions);
  const discovery = new Discovery(
    template,
    options.intervalMs ?? DEFAULT_DISCOVERY_INTERVAL_MS,
    options.resolver ?? systemResolver,
    (added, removed) => {
      for (const url of added) {
        const { endpoints } = resolveEndpoints({
          ...rawOptions,
          discovery: undefined,
          endpoints: [url],
          headers,
        });
        fleet.add(endpoints[0]);
      }
      for (const url of removed) fleet.drain(url);
      log({ level: 'debug', event: 'discovery', url: template.href, added, removed });
    },
    (error) => log({ level: 'warn', event: 'discovery_failed', url: template.href, error: String(error) }),
  );
  return { discovery, started: discovery.start() };
}

/**
 * The headers of an endpoint found by address. Over https the connection is for the
 * name: its requests carry it as Host, from which undici takes the TLS servername (SNI,
 * and the name the certificate is checked against: undici `lib/core/request.js`
 * `getServerName(this.host)`, 7.30). `tls.servername`, when set, is that name instead
 * (the request then keeps the address as Host, as any endpoint does). A Host header of
 * the caller's own is kept.
 */
function nameHeaders(template: URL, options: ClientOptions): Record<string, string> | undefined {
  const tls = options.tls as { servername?: unknown } | undefined;
  if (template.protocol !== 'https:' || tls?.servername !== undefined) return options.headers;
  return { host: template.host, ...options.headers };
}

/**
 * Detects the server behind `endpoint` (see detection.ts), records its identity in
 * `identities` and logs what was found.
 */
export async function detectEndpoint(
  ctx: JsonRequestContext,
  endpoint: FleetEndpoint,
  signal: AbortSignal | undefined,
  identities: WeakMap<FleetEndpoint, ServerIdentity>,
): Promise<Dialect> {
  // Probes a missing endpoint answers with an HTTP error or a non-JSON page: "not here".
  // Network failures are not: they fail the detection, which is retried like a request.
  const get: GetJson = async (path) => {
    try {
      return await requestJson(ctx, 'GET', { path, body: {} }, signal, endpoint, false);
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
  identities.set(endpoint, detected.identity);
  ctx.log({
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

/** `promise`, or an `aborted` error as soon as `signal` aborts (the work behind it goes on). */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  const aborted = (): AbortError =>
    new AbortError(
      `aborted by the caller${signal.reason instanceof Error ? `: ${signal.reason.message}` : ''}`,
      {
        code: 'aborted',
        phase: 'setup',
        cause: signal.reason,
      },
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
