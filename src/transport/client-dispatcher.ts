/**
 * The dispatcher a client sends through: the user's own (`dispatcher`), or tokenwire's
 * pool, behind a proxy router when a proxy is set (`proxy`, or the environment's).
 */
import type { Dispatcher } from 'undici';
import type { ResolvedOptions } from '../options.js';
import { createAgent } from './dispatch.js';
import { ProxyRouter, proxyPlan } from './proxy.js';

/** Makes the dispatcher of a client with these options. */
export function createDispatcher(options: ResolvedOptions, env: NodeJS.ProcessEnv): Dispatcher {
  if (options.dispatcher !== undefined) return options.dispatcher;
  const tls = options.tls as Readonly<Record<string, unknown>> | undefined;
  const agent = createAgent(options.timeouts.connectMs, options.maxConnections, tls);
  const plan = proxyPlan(options.proxy, env);
  if (plan === undefined) return agent;
  return new ProxyRouter(agent, plan, { maxConnections: options.maxConnections, tls: options.tls as never });
}

/** The proxy URLs the environment sets (for redaction: their passwords are secrets too). */
export function envProxies(env: NodeJS.ProcessEnv): string[] {
  return [env.http_proxy, env.HTTP_PROXY, env.https_proxy, env.HTTPS_PROXY].filter(
    (value): value is string => value !== undefined && value !== '',
  );
}
