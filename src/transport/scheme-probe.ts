/**
 * A hint for `http://` to a TLS port: such a server closes the connection without
 * a word (Node's TLS server does), which looks like any connection reset. A short
 * TLS handshake with the same host and port tells the two apart.
 */
import { isIP } from 'node:net';
import { connect } from 'node:tls';
import type { TokenwireError } from '../errors.js';

/** Longest wait for the probe's handshake: a TLS server answers a local handshake in milliseconds. */
export const SCHEME_PROBE_TIMEOUT_MS = 1_000;

/** Whether `url`'s host and port complete a TLS handshake (certificate not checked), within `timeoutMs`. */
export function speaksTls(url: URL, timeoutMs = SCHEME_PROBE_TIMEOUT_MS): Promise<boolean> {
  return new Promise((resolve) => {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const socket = connect({
      host,
      port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
      rejectUnauthorized: false,
      servername: isIP(host) === 0 ? host : undefined,
    });
    const done = (tls: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(tls);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    timer.unref();
    socket.once('secureConnect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * `error` with a hint when it is a connection lost before any response on an `http://`
 * URL whose server speaks TLS; `error` itself otherwise.
 */
export async function withSchemeHint(error: TokenwireError): Promise<TokenwireError> {
  const lostBeforeHead =
    (error.code === 'connection_reset' || error.code === 'connection_error') && error.status === undefined;
  if (!lostBeforeHead || error.url === undefined || !error.url.startsWith('http:')) return error;
  let url: URL;
  try {
    url = new URL(error.url);
  } catch {
    return error;
  }
  if (!(await speaksTls(url))) return error;
  return error.withMessage(`${error.message}; the server speaks TLS: use https:// instead of http://`);
}
