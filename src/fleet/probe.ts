/**
 * Active health probes: every `intervalMs`, `GET <endpoint><path>` (default
 * `/health`, which vLLM, SGLang and llama.cpp serve) on each endpoint not draining.
 * A failed probe counts as a failed attempt (enough of them eject the endpoint before
 * a request is lost to it); a good probe brings an ejected endpoint back at once.
 */
import { type Dispatcher, request } from 'undici';
import type { Fleet, FleetEndpoint } from './fleet.js';

/** The `routing.probe` option. */
export interface ProbeOptions {
  /** Time between two rounds of probes, ms (≥ 100). */
  intervalMs: number;
  /** Path probed (default `/health`). */
  path?: string;
  /** A probe without a response head within this long failed. Default 2,000 ms. */
  timeoutMs?: number;
}

export const DEFAULT_PROBE_TIMEOUT_MS = 2_000;

export class Prober {
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;

  constructor(
    private readonly fleet: Fleet,
    private readonly dispatcher: Dispatcher,
    private readonly options: ProbeOptions,
  ) {}

  /** Starts probing (the timer does not keep the process alive). */
  start(): void {
    this.timer = setInterval(() => {
      this.round ??= this.probeAll().finally(() => {
        this.round = undefined;
      });
    }, this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** One round: every endpoint not draining, in parallel. */
  async probeAll(): Promise<void> {
    const endpoints = this.fleet.list().filter((e) => !e.state.draining);
    await Promise.all(endpoints.map((endpoint) => this.probe(endpoint)));
  }

  private async probe(endpoint: FleetEndpoint): Promise<void> {
    const url = endpoint.rootUrl + (this.options.path ?? '/health');
    const timeoutMs = this.options.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
    let error: string | undefined;
    try {
      const { authorization, ...rest } = endpoint.streamHeaders;
      const response = await request(url, {
        method: 'GET',
        headers: { ...rest, accept: '*/*', ...(authorization ? { authorization } : {}) },
        dispatcher: this.dispatcher,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: AbortSignal.timeout(timeoutMs * 2),
      });
      await response.body.dump();
      if (response.statusCode < 200 || response.statusCode >= 300) {
        error = `health probe: HTTP ${response.statusCode} (GET ${url})`;
      }
    } catch (cause) {
      error = `health probe failed (GET ${url}): ${(cause as Error).message}`;
    }
    this.fleet.probed(endpoint, error);
  }
}
