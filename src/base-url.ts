/**
 * Base URLs as the options take them: normalised to the server root, their
 * credentials (`user:pass@`) taken out, and shown without them.
 */
import { bad } from './option-values.js';

/** A URL as it may be shown: credentials (`user:pass@`) replaced, whatever else is wrong with it. */
export function urlForDisplay(value: string): string {
  return value.replace(/^(\s*[a-z][a-z0-9+.-]*:\/*)[^/?#\s]*@/i, '$1[redacted]@');
}

/** Normalises a base URL to the server root (no `/v1`, no trailing slash, no credentials). */
export function normalizeBaseUrl(value: unknown, option = 'baseUrl'): string {
  if (typeof value !== 'string' || value.trim() === '') bad(option, value, 'an http(s) URL');
  const shown = urlForDisplay(value);
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    bad(option, shown, 'an http(s) URL such as http://127.0.0.1:8000');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') bad(option, shown, 'an http: or https: URL');
  if (url.search !== '' || url.hash !== '') bad(option, shown, 'a URL without query or fragment');
  let path = url.pathname.replace(/\/+$/, '');
  if (path.endsWith('/v1')) path = path.slice(0, -3);
  return `${url.protocol}//${url.host}${path}`;
}

/** The decoded `user:password` of a (valid) base URL, when it has any. */
export function urlCredentials(baseUrl: string): string | undefined {
  const url = new URL(baseUrl.trim());
  if (url.username === '' && url.password === '') return undefined;
  return `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
}
