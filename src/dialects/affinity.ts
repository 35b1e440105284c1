/**
 * Forwards a request's `session` / `affinityKey` the way its server (or the router in
 * front of it) reads one, as the dialect's wire-facts row says (`affinity`): a header,
 * a chat body field, or nothing. Made once per attempt, never per token.
 */
import { createHash } from 'node:crypto';
import type { CommonRequestOptions } from '../types.js';
import type { WireRequest } from './dialect.js';
import type { AffinityFact } from './wire-facts-types.js';

/** A header value carries visible ASCII only: anything else is percent-encoded (the same key, the same value). */
const HEADER_SAFE = /^[\x21-\x7e]+$/;

/** The value of the key as a header. */
export function affinityHeaderValue(key: string): string {
  return HEADER_SAFE.test(key) ? key : encodeURIComponent(key);
}

/** The value of the key as a body field of at most `maxLength` characters (a longer one: its SHA-256, hex). */
export function affinityFieldValue(key: string, maxLength: number | undefined): string {
  if (maxLength === undefined || key.length <= maxLength) return key;
  return createHash('sha256').update(key).digest('hex').slice(0, maxLength);
}

/** Adds the request's session key to `wire` where `fact` says the server reads it. */
export function forwardAffinity(
  wire: WireRequest,
  request: CommonRequestOptions,
  fact: AffinityFact | undefined,
  chat: boolean,
): WireRequest {
  const key = request.session ?? request.affinityKey;
  if (fact === undefined || key === undefined) return wire;
  if (fact.header !== undefined) wire.headers = { [fact.header]: affinityHeaderValue(key) };
  // A field set through extraBody is the caller's: it is laid over this one afterwards.
  if (chat && fact.chatField !== undefined)
    wire.body[fact.chatField] = affinityFieldValue(key, fact.maxLength);
  return wire;
}
