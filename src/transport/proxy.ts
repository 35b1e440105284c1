/**
 * HTTP proxies: which one a request to an origin goes through, from the explicit `proxy`
 * option or from `HTTP_PROXY` / `HTTPS_PROXY` / `NO_PROXY` read as undici's
 * EnvHttpProxyAgent reads them (undici 7.30.2, lib/dispatcher/env-http-proxy-agent.js):
 * lower-case names first; an https origin uses `HTTPS_PROXY`, else `HTTP_PROXY`; `NO_PROXY`
 * is a list split on commas and spaces of `host`, `.host`, `*.host` (the host and its
 * subdomains) with an optional `:port`, or `*` for no proxy at all.
 *
 * Direct origins keep the client's own pool (the fast path is the same object as without a
 * proxy); proxied ones go through undici's ProxyAgent (a CONNECT tunnel, TLS to the server
 * inside it).
 */
import { type Agent, type Dispatcher, ProxyAgent } from 'undici';
import { PromiseDispatcher } from './promise-dispatcher.js';

/** Origins whose route is remembered (a client talks to a handful). */
const MAX_ROUTES = 256;

/** Where requests go: a proxy URL per scheme, and the NO_PROXY entries that bypass them. */
export interface ProxyPlan {
  http: string | undefined;
  https: string | undefined;
  noProxy: NoProxyEntry[] | '*';
}

interface NoProxyEntry {
  hostname: string;
  /** 0: any port. */
  port: number;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** The plan of an explicit proxy (every origin), or of the environment; undefined: all direct. */
export function proxyPlan(proxy: string | false | undefined, env: NodeJS.ProcessEnv): ProxyPlan | undefined {
  if (proxy === false) return undefined;
  if (proxy !== undefined) return { http: proxy, https: proxy, noProxy: [] };
  const http = nonEmpty(env.http_proxy ?? env.HTTP_PROXY);
  const https = nonEmpty(env.https_proxy ?? env.HTTPS_PROXY) ?? http;
  if (http === undefined && https === undefined) return undefined;
  return { http, https, noProxy: parseNoProxy(env.no_proxy ?? env.NO_PROXY ?? '') };
}

function parseNoProxy(value: string): NoProxyEntry[] | '*' {
  if (value === '*') return '*';
  const entries: NoProxyEntry[] = [];
  for (const entry of value.split(/[,\s]/)) {
    if (entry === '') continue;
    const withPort = /^(.+):(\d+)$/.exec(entry);
    entries.push({
      hostname: (withPort ? withPort[1]! : entry).replace(/^\*?\./, '').toLowerCase(),
      port: withPort ? Number.parseInt(withPort[2]!, 10) : 0,
    });
  }
  return entries;
}

/** The proxy URL a request to `origin` goes through, or undefined to go direct. */
export function proxyFor(plan: ProxyPlan, origin: string): string | undefined {
  const url = new URL(origin);
  const proxy = url.protocol === 'https:' ? plan.https : plan.http;
  if (proxy === undefined || plan.noProxy === '*') return undefined;
  // url.host keeps an IPv6 address's brackets; the port is taken off it.
  const hostname = url.host.replace(/:\d*$/, '').toLowerCase();
  const port = Number.parseInt(url.port, 10) || (url.protocol === 'https:' ? 443 : 80);
  for (const entry of plan.noProxy) {
    if (entry.port !== 0 && entry.port !== port) continue;
    if (hostname === entry.hostname || hostname.endsWith(`.${entry.hostname}`)) return undefined;
  }
  return proxy;
}

/** What a ProxyAgent needs besides the proxy URL. */
export interface ProxiedOptions {
  maxConnections: number;
  /** TLS to the server, inside the tunnel. */
  tls: Record<string, unknown> | undefined;
}

/**
 * Sends each request direct (the client's own pool) or through the proxy its origin has,
 * decided once per origin.
 */
export class ProxyRouter extends PromiseDispatcher {
  private readonly routes = new Map<string, Dispatcher>();
  private readonly proxies = new Map<string, ProxyAgent>();

  constructor(
    private readonly direct: Agent,
    private readonly plan: ProxyPlan,
    private readonly options: ProxiedOptions,
  ) {
    super();
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const origin = String(options.origin);
    let route = this.routes.get(origin);
    if (route === undefined) {
      route = this.route(origin);
      if (this.routes.size < MAX_ROUTES) this.routes.set(origin, route);
    }
    return route.dispatch(options, handler);
  }

  private route(origin: string): Dispatcher {
    const uri = proxyFor(this.plan, origin);
    if (uri === undefined) return this.direct;
    let agent = this.proxies.get(uri);
    if (agent === undefined) {
      agent = new ProxyAgent({
        uri,
        connections: this.options.maxConnections,
        pipelining: 1,
        // tokenwire runs its own clocks (connect, headers, first token, idle, total).
        bodyTimeout: 0,
        requestTls: this.options.tls,
      });
      this.proxies.set(uri, agent);
    }
    return agent;
  }

  protected closeAll(): Promise<void> {
    return Promise.all([this.direct.close(), ...[...this.proxies.values()].map((p) => p.close())]).then(
      () => undefined,
    );
  }

  protected destroyAll(error: Error | null): Promise<void> {
    return Promise.all([
      this.direct.destroy(error),
      ...[...this.proxies.values()].map((p) => p.destroy(error)),
    ]).then(() => undefined);
  }
}
