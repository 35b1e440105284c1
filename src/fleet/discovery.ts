/**
 * Endpoint discovery from DNS: a name that resolves to many addresses (a Kubernetes
 * headless Service) is one endpoint per address, re-resolved every `intervalMs`;
 * addresses that appear are added, addresses that disappear are drained (their
 * streams finish, no new ones go there). A failed resolution keeps the endpoints
 * as they are. The resolver is injectable (tests use their own).
 */
import { lookup } from 'node:dns/promises';

/** The `discovery` client option. */
export interface DiscoveryOptions {
  /** `http://name:port[/path]`: every address of `name` is an endpoint at that port and path. */
  url: string;
  /** How often the name is resolved again. Default 10,000 ms. */
  intervalMs?: number;
  /** Resolves a host name to addresses. Default: the system resolver (`dns.lookup`, all addresses). */
  resolver?: (hostname: string) => Promise<string[]>;
}

/** Most addresses taken from one resolution (a name with more is cut: a bound on the fleet). */
export const MAX_DISCOVERED = 1_024;
export const DEFAULT_DISCOVERY_INTERVAL_MS = 10_000;

/** The system resolver: every address of `hostname`, IPv4 and IPv6. */
export async function systemResolver(hostname: string): Promise<string[]> {
  const records = await lookup(hostname, { all: true });
  return records.map((r) => r.address);
}

/** The endpoint URL of one address under a discovery URL (IPv6 in brackets). */
export function addressUrl(template: URL, address: string): string {
  const host = address.includes(':') ? `[${address}]` : address;
  const port = template.port === '' ? '' : `:${template.port}`;
  const path = template.pathname.replace(/\/+$/, '');
  return `${template.protocol}//${host}${port}${path}`;
}

export class Discovery {
  private timer: NodeJS.Timeout | undefined;
  private current = new Set<string>();
  private stopped = false;
  private running: Promise<void> | undefined;

  constructor(
    private readonly template: URL,
    private readonly intervalMs: number,
    private readonly resolver: (hostname: string) => Promise<string[]>,
    private readonly apply: (added: string[], removed: string[]) => void,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Resolves now, then every interval (the timer does not keep the process alive). */
  start(): Promise<void> {
    const first = this.refresh();
    this.timer = setInterval(() => {
      void this.refresh();
    }, this.intervalMs);
    this.timer.unref();
    return first;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
  }

  /** One resolution (a second call while one runs waits for it instead). */
  refresh(): Promise<void> {
    this.running ??= this.resolveOnce().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async resolveOnce(): Promise<void> {
    let addresses: string[];
    try {
      addresses = await this.resolver(this.template.hostname.replace(/^\[|\]$/g, ''));
      if (!Array.isArray(addresses)) throw new TypeError('the resolver did not return an array of addresses');
    } catch (error) {
      if (!this.stopped) this.onError(error);
      return;
    }
    if (this.stopped) return;
    const next = new Set(
      addresses
        .filter((a) => typeof a === 'string' && a !== '')
        .slice(0, MAX_DISCOVERED)
        .map((a) => addressUrl(this.template, a)),
    );
    const added = [...next].filter((url) => !this.current.has(url));
    const removed = [...this.current].filter((url) => !next.has(url));
    this.current = next;
    if (added.length > 0 || removed.length > 0) this.apply(added, removed);
  }
}
