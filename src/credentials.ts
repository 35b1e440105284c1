/**
 * An endpoint's credentials on the wire and off it: the headers every request
 * carries (the API key or Basic auth last), and every form of a secret that must
 * never be shown or written.
 */
import type { ResolvedOptions } from './options.js';
import { proxySecrets } from './transport-options.js';

/**
 * The headers of every request: what it accepts, a JSON body's type, the user agent,
 * the user's headers, then the API key (last, so a user header cannot shadow it by case).
 */
export function requestHeaders(
  options: ResolvedOptions,
  accept: string,
  jsonBody: boolean,
  version: string,
): Record<string, string> {
  const headers: Record<string, string> = {
    accept,
    'user-agent': `tokenwire/${version}`,
    ...options.headers,
  };
  if (jsonBody) headers['content-type'] = 'application/json';
  if (options.apiKey !== undefined) headers.authorization = `Bearer ${options.apiKey}`;
  else if (options.basicAuth !== undefined && headers.authorization === undefined) {
    headers.authorization = `Basic ${Buffer.from(options.basicAuth).toString('base64')}`;
  }
  return headers;
}

/**
 * What must never be shown or written: the API key and base-URL credentials, in every
 * form they can take (see `secretForms`), the Basic-auth header value included.
 */
export function secretValues(options: ResolvedOptions): (string | undefined)[] {
  const values = [options.apiKey, ...proxySecrets(options.proxy)];
  if (options.basicAuth !== undefined) {
    const password = options.basicAuth.slice(options.basicAuth.indexOf(':') + 1);
    values.push(options.basicAuth, password, Buffer.from(options.basicAuth).toString('base64'));
  }
  return values;
}
