/**
 * `@opentelemetry/api`, loaded only when telemetry could be on: an optional peer
 * dependency, never imported at the top of a module, so tokenwire loads and runs
 * without it. Loaded synchronously (createRequire) because a Client decides in its
 * constructor, and at most once per process.
 */
import { createRequire } from 'node:module';
import type * as OtelApi from '@opentelemetry/api';

/** The `@opentelemetry/api` module's type. */
export type Api = typeof OtelApi;

let loaded: Api | null | undefined;

/** The API module, or undefined when it is not installed (or does not load). */
export function otelApi(): Api | undefined {
  if (loaded === undefined) {
    try {
      loaded = createRequire(import.meta.url)('@opentelemetry/api') as Api;
    } catch {
      loaded = null;
    }
  }
  return loaded ?? undefined;
}

/**
 * The key under which API 1.x keeps the global providers (internal/global-utils.ts:
 * `opentelemetry.js.api.${major}`); the peer dependency range is ^1.
 */
const GLOBAL_KEY = Symbol.for('opentelemetry.js.api.1');

/**
 * Whether a global tracer or meter provider is registered. Without one, every API call
 * would be a no-op: tokenwire then makes no span and records nothing for the call.
 */
export function globalProviders(): { trace: boolean; metrics: boolean } {
  const registry = (globalThis as Record<symbol, Record<string, unknown> | undefined>)[GLOBAL_KEY];
  return { trace: registry?.trace !== undefined, metrics: registry?.metrics !== undefined };
}
