/**
 * The `endpoints` and `routing` client options: validation at the door (each bad
 * value an `invalid_option` naming it), `TOKENWIRE_ENDPOINTS`, and each endpoint's
 * own resolved options (its URL, key, headers, dialect, model over the client's).
 */
import { InvalidOptionError } from '../errors.js';
import {
  type ClientOptions,
  DIALECT_NAMES,
  type ResolvedOptions,
  resolveOptions,
  showValue,
} from '../options.js';
import type { DialectName } from '../types.js';
import { DEFAULT_HEALTH, type HealthOptions } from './endpoint-state.js';
import type { ProbeOptions } from './probe.js';
import { ROUTING_POLICIES, type RouterOptions } from './router.js';

/** One endpoint of a fleet: a URL, or a URL with its own settings. */
export type EndpointOption =
  | string
  | {
      /** Server URL, with or without `/v1`. */
      url: string;
      /** Relative capacity for `weighted` and load comparisons (default 1). */
      weight?: number;
      /** This endpoint's key (default: the client's `apiKey`). Never logged. */
      apiKey?: string;
      /** Headers for this endpoint, over the client's. */
      headers?: Record<string, string>;
      /** This endpoint's server family (default: the client's `dialect`, `auto` detecting per endpoint). */
      dialect?: DialectName | 'auto';
      /** Model name at this endpoint (default: the request's, else the client's). */
      model?: string;
      /** Most requests in flight here at once (default unlimited). */
      maxInFlight?: number;
    };

/** Routing settings of a fleet client. */
export interface RoutingOptions extends Omit<RouterOptions, 'health'> {
  /** Passive outlier detection. */
  health?: Partial<HealthOptions>;
  /** Active health probes (`GET /health` every `intervalMs`); off by default. */
  probe?: ProbeOptions;
}

/** An endpoint after validation: its own resolved options (URL, key, headers, dialect, model). */
export interface ResolvedEndpoint {
  options: ResolvedOptions;
  weight: number;
  maxInFlight: number;
}

function bad(option: string, value: unknown, expected: string): never {
  throw new InvalidOptionError(`invalid option ${option}: ${showValue(value)} (expected ${expected})`);
}

/** Most endpoints per client (a ring point table and a per-endpoint cache each). */
const MAX_ENDPOINTS = 1_024;

/** The endpoints of `options`: `endpoints`, else `baseUrl`, else `TOKENWIRE_ENDPOINTS`, else the base URL env. */
export function resolveEndpoints(
  options: ClientOptions,
  env: NodeJS.ProcessEnv = process.env,
): { options: ResolvedOptions; endpoints: ResolvedEndpoint[] } {
  let list: readonly EndpointOption[] | undefined = options.endpoints;
  const given = [options.baseUrl, options.endpoints, options.discovery].filter((o) => o !== undefined).length;
  if (given > 1) {
    throw new InvalidOptionError('invalid options: pass one of baseUrl, endpoints or discovery, not several');
  }
  if (options.discovery !== undefined) {
    const discovery = options.discovery;
    if (discovery === null || typeof discovery !== 'object' || typeof discovery.url !== 'string') {
      bad('discovery', discovery, 'an object with a url');
    }
    const resolved = resolveOptions({ ...options, baseUrl: discovery.url }, env);
    // Names already are addresses here: nothing to resolve.
    if (/^\d+\.\d+\.\d+\.\d+$|^\[/.test(new URL(resolved.rootUrl).host.replace(/:\d+$/, ''))) {
      bad('discovery.url', discovery.url, 'a URL whose host is a DNS name');
    }
    if (
      discovery.intervalMs !== undefined &&
      (typeof discovery.intervalMs !== 'number' ||
        !Number.isFinite(discovery.intervalMs) ||
        discovery.intervalMs < 100)
    ) {
      bad('discovery.intervalMs', discovery.intervalMs, 'a number of milliseconds ≥ 100');
    }
    if (discovery.resolver !== undefined && typeof discovery.resolver !== 'function') {
      bad('discovery.resolver', discovery.resolver, 'a function (hostname) => Promise<string[]>');
    }
    return { options: resolved, endpoints: [] };
  }
  if (list === undefined && options.baseUrl === undefined && env.TOKENWIRE_ENDPOINTS !== undefined) {
    list = parseEndpointList(env.TOKENWIRE_ENDPOINTS, 'TOKENWIRE_ENDPOINTS');
  }
  if (list === undefined) {
    const resolved = resolveOptions(options, env);
    return { options: resolved, endpoints: [{ options: resolved, weight: 1, maxInFlight: Infinity }] };
  }
  if (!Array.isArray(list) || list.length === 0)
    bad('endpoints', list, 'a non-empty array of URLs or { url }');
  if (list.length > MAX_ENDPOINTS) bad('endpoints', `[${list.length} endpoints]`, `at most ${MAX_ENDPOINTS}`);
  const endpoints: ResolvedEndpoint[] = [];
  const seen = new Set<string>();
  let clientOptions: ResolvedOptions | undefined;
  for (let i = 0; i < list.length; i++) {
    const raw = list[i];
    const name = `endpoints[${i}]`;
    const entry = typeof raw === 'string' ? { url: raw } : raw;
    if (entry === null || typeof entry !== 'object' || typeof entry.url !== 'string') {
      bad(name, raw, 'a URL string or an object with a url');
    }
    for (const key of Object.keys(entry)) {
      if (!['url', 'weight', 'apiKey', 'headers', 'dialect', 'model', 'maxInFlight'].includes(key)) {
        bad(
          `${name}.${key}`,
          (entry as Record<string, unknown>)[key],
          'one of url, weight, apiKey, headers, dialect, model, maxInFlight',
        );
      }
    }
    const weight = entry.weight ?? 1;
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight <= 0) {
      bad(`${name}.weight`, weight, 'a positive number');
    }
    const maxInFlight = entry.maxInFlight ?? Infinity;
    if (maxInFlight !== Infinity && (!Number.isInteger(maxInFlight) || maxInFlight < 1)) {
      bad(`${name}.maxInFlight`, maxInFlight, 'an integer ≥ 1');
    }
    if (entry.dialect !== undefined && entry.dialect !== 'auto' && !DIALECT_NAMES.includes(entry.dialect)) {
      bad(`${name}.dialect`, entry.dialect, `'auto' or one of ${DIALECT_NAMES.join(', ')}`);
    }
    let resolved: ResolvedOptions;
    try {
      resolved = resolveOptions(
        {
          ...options,
          baseUrl: entry.url,
          apiKey: entry.apiKey ?? options.apiKey,
          headers: { ...options.headers, ...entry.headers },
          dialect: entry.dialect ?? options.dialect,
          model: entry.model ?? options.model,
        },
        env,
      );
    } catch (error) {
      // The shared validation names the client option: say which endpoint it came from.
      if (error instanceof InvalidOptionError) {
        error.message = error.message.replace(
          /^invalid option (baseUrl|apiKey|headers|model)/,
          `invalid option ${name}.$1`,
        );
        error.message = error.message.replace(`${name}.baseUrl`, `${name}.url`);
      }
      throw error;
    }
    if (seen.has(resolved.rootUrl)) bad(`${name}.url`, entry.url, 'a URL not listed twice');
    seen.add(resolved.rootUrl);
    clientOptions ??= resolved;
    endpoints.push({ options: resolved, weight, maxInFlight });
  }
  return { options: clientOptions!, endpoints };
}

/** `a,b,c` (commas or whitespace) as endpoint URLs. */
export function parseEndpointList(text: string, option: string): string[] {
  const urls = text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (urls.length === 0) bad(option, text, 'one or more comma-separated URLs');
  return urls;
}

/** Validates `routing` (policy, factors, health) into router options. */
export function resolveRouting(routing: RoutingOptions | undefined): RouterOptions {
  if (routing === undefined) return {};
  if (routing === null || typeof routing !== 'object') bad('routing', routing, 'an object');
  const out: RouterOptions = {};
  if (routing.policy !== undefined) {
    if (!ROUTING_POLICIES.includes(routing.policy)) {
      bad('routing.policy', routing.policy, `one of ${ROUTING_POLICIES.join(', ')}`);
    }
    out.policy = routing.policy;
  }
  if (routing.cacheAffinity !== undefined) {
    if (typeof routing.cacheAffinity !== 'boolean')
      bad('routing.cacheAffinity', routing.cacheAffinity, 'a boolean');
    out.cacheAffinity = routing.cacheAffinity;
  }
  for (const key of ['affinityLoadFactor', 'sessionLoadFactor'] as const) {
    const value = routing[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 1)
      bad(`routing.${key}`, value, 'a number ≥ 1');
    out[key] = value;
  }
  for (const key of ['affinityLoadSlack', 'prefixCapacity'] as const) {
    const value = routing[key];
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value < 0) bad(`routing.${key}`, value, 'an integer ≥ 0');
    out[key] = value;
  }
  if (routing.random !== undefined) {
    if (typeof routing.random !== 'function')
      bad('routing.random', routing.random, 'a function returning [0, 1)');
    out.random = routing.random;
  }
  if (routing.probe !== undefined) {
    const probe = routing.probe;
    if (probe === null || typeof probe !== 'object') bad('routing.probe', probe, 'an object with intervalMs');
    if (
      typeof probe.intervalMs !== 'number' ||
      !Number.isFinite(probe.intervalMs) ||
      probe.intervalMs < 100
    ) {
      bad('routing.probe.intervalMs', probe.intervalMs, 'a number of milliseconds ≥ 100');
    }
    if (probe.path !== undefined && (typeof probe.path !== 'string' || !probe.path.startsWith('/'))) {
      bad('routing.probe.path', probe.path, "a path starting with '/'");
    }
    if (
      probe.timeoutMs !== undefined &&
      (typeof probe.timeoutMs !== 'number' || !Number.isFinite(probe.timeoutMs) || probe.timeoutMs <= 0)
    ) {
      bad('routing.probe.timeoutMs', probe.timeoutMs, 'a positive number of milliseconds');
    }
  }
  if (routing.health !== undefined) {
    if (routing.health === null || typeof routing.health !== 'object')
      bad('routing.health', routing.health, 'an object');
    const health: Partial<HealthOptions> = {};
    for (const [key, value] of Object.entries(routing.health)) {
      if (!(key in DEFAULT_HEALTH))
        bad(`routing.health.${key}`, value, `one of ${Object.keys(DEFAULT_HEALTH).join(', ')}`);
      if (value === undefined) continue;
      const rate = key === 'failureRate';
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (rate && value > 1)) {
        bad(`routing.health.${key}`, value, rate ? 'a number from 0 to 1' : 'a non-negative number');
      }
      if (
        !rate &&
        key !== 'baseEjectionMs' &&
        key !== 'maxEjectionMs' &&
        (!Number.isInteger(value) || value < 1)
      ) {
        bad(`routing.health.${key}`, value, 'an integer ≥ 1');
      }
      (health as Record<string, number>)[key] = value;
    }
    out.health = health;
  }
  return out;
}
