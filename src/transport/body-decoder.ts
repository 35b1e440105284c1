/**
 * Decoding a compressed response body that was not asked for. tokenwire sends no
 * Accept-Encoding, but proxies in front of servers compress event streams anyway;
 * the body is decoded transparently (the other codings are a protocol error, see
 * response-check.ts).
 */

import type { Transform } from 'node:stream';
import {
  brotliDecompressSync,
  constants,
  createBrotliDecompress,
  createGunzip,
  createInflate,
  gunzipSync,
  inflateSync,
} from 'node:zlib';

/** The content codings decoded (RFC 9110 section 8.4.1; `x-gzip` is gzip's old name). */
export const DECODED_CODINGS: ReadonlySet<string> = new Set(['gzip', 'x-gzip', 'deflate', 'br']);

/**
 * A streaming decoder for `coding` (one of DECODED_CODINGS). Each input chunk is
 * flushed through at once: an event must not wait in the decoder for more bytes.
 */
export function createBodyDecoder(coding: string): Transform {
  if (coding === 'br') return createBrotliDecompress({ flush: constants.BROTLI_OPERATION_FLUSH });
  if (coding === 'deflate') return createInflate({ flush: constants.Z_SYNC_FLUSH });
  return createGunzip({ flush: constants.Z_SYNC_FLUSH });
}

/**
 * A whole compressed body, decoded (for JSON answers, read whole anyway), at most
 * `maxBytes` of output. Throws when `coding` is not decoded or the bytes are not valid.
 */
export function decodeWholeBody(coding: string, bytes: Buffer, maxBytes: number): Buffer {
  const options = { maxOutputLength: maxBytes };
  if (coding === 'gzip' || coding === 'x-gzip') return gunzipSync(bytes, options);
  if (coding === 'deflate') return inflateSync(bytes, options);
  if (coding === 'br') return brotliDecompressSync(bytes, options);
  throw new Error(`a body compressed as ${JSON.stringify(coding)} (content-encoding) cannot be decoded`);
}
