/**
 * The client options about how connections are made: `proxy`, `dispatcher`, `tls`,
 * checked at the door like every other option.
 */
import type { Dispatcher } from 'undici';
import { InvalidOptionError } from './errors.js';
import { checkKeys, keySet } from './option-keys.js';
import { bad } from './option-values.js';
import type { ClientOptions, TlsOptions } from './options.js';

const TLS_KEYS = keySet<TlsOptions>({
  ca: true,
  cert: true,
  key: true,
  rejectUnauthorized: true,
  servername: true,
});

/** PEM text or bytes, or a list of them. */
function isPem(value: unknown): boolean {
  const one = (v: unknown) => typeof v === 'string' || Buffer.isBuffer(v);
  return one(value) || (Array.isArray(value) && value.length > 0 && value.every(one));
}

/** Checks `proxy`, `dispatcher` and `tls`, and that they are not combined in ways that do nothing. */
export function resolveTransport(options: ClientOptions): {
  proxy: string | false | undefined;
  dispatcher: Dispatcher | undefined;
  tls: TlsOptions | undefined;
} {
  const { proxy, dispatcher, tls } = options;
  if (proxy !== undefined && proxy !== false) {
    if (typeof proxy !== 'string') bad('proxy', proxy, 'a proxy URL (http://host:port) or false');
    let url: URL | undefined;
    try {
      url = new URL(proxy);
    } catch {
      // shown below without credentials
    }
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      bad('proxy', hideCredentials(proxy), 'an http: or https: proxy URL such as http://127.0.0.1:3128');
    }
  }
  if (dispatcher !== undefined) {
    if (dispatcher === null || typeof (dispatcher as { dispatch?: unknown }).dispatch !== 'function') {
      bad('dispatcher', '[not a Dispatcher]', 'an undici Dispatcher (an object with a dispatch method)');
    }
    for (const name of ['proxy', 'tls', 'maxConnections'] as const) {
      if (options[name] !== undefined) {
        throw new InvalidOptionError(
          `invalid option ${name}: has no effect with dispatcher (your dispatcher makes the connections: set it there)`,
        );
      }
    }
  }
  if (tls !== undefined) {
    if (tls === null || typeof tls !== 'object') bad('tls', tls, 'an object');
    checkKeys(tls, TLS_KEYS, 'option', 'tls.');
    for (const name of ['ca', 'cert', 'key'] as const) {
      if (tls[name] !== undefined && !isPem(tls[name])) {
        bad(`tls.${name}`, name === 'key' ? '[hidden]' : tls[name], 'PEM text, a Buffer, or a list of them');
      }
    }
    if (tls.rejectUnauthorized !== undefined && typeof tls.rejectUnauthorized !== 'boolean') {
      bad('tls.rejectUnauthorized', tls.rejectUnauthorized, 'a boolean');
    }
    if (tls.servername !== undefined && (typeof tls.servername !== 'string' || tls.servername === '')) {
      bad('tls.servername', tls.servername, 'a host name');
    }
    if ((tls.cert === undefined) !== (tls.key === undefined)) {
      throw new InvalidOptionError(
        'invalid option tls: cert and key go together (a client certificate needs its key)',
      );
    }
  }
  return { proxy, dispatcher, tls };
}

function hideCredentials(url: string): string {
  return url.replace(/^(\s*[a-z][a-z0-9+.-]*:\/*)[^/?#\s]*@/i, '$1[redacted]@');
}

/** The password (and user:password) of a proxy URL, to keep out of logs and errors. */
export function proxySecrets(proxy: string | false | undefined): string[] {
  if (typeof proxy !== 'string') return [];
  try {
    const url = new URL(proxy);
    if (url.password === '') return [];
    const password = decodeURIComponent(url.password);
    const pair = `${decodeURIComponent(url.username)}:${password}`;
    return [password, pair, Buffer.from(pair).toString('base64')];
  } catch {
    return [];
  }
}
