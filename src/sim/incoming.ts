/**
 * What the simulator reads from an incoming request (headers, body) and the
 * response headers each dialect's real server sends.
 */
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { FaultSyntaxError } from './faults.js';
import { type SimDialect, SimHttpError } from './request.js';

/** Largest request body accepted. */
const MAX_BODY_BYTES = 64 * 1024 * 1024;

/** A request header as one string (repeated ones joined with ","). */
export function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/** The request headers for the report, the Authorization value hidden. */
export function redactedHeaders(req: IncomingMessage): Record<string, string | string[] | undefined> {
  const headers: Record<string, string | string[] | undefined> = { ...req.headers };
  if (headers.authorization !== undefined) headers.authorization = '[redacted]';
  return headers;
}

/** The whole request body (a 413 SimHttpError past MAX_BODY_BYTES). */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new SimHttpError(413, `request body over ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The response headers the real server of `dialect` sends (request ids, Server, rate limits). */
export function dialectHeaders(
  dialect: SimDialect,
  req: IncomingMessage,
  seq: number,
  seed: number,
): OutgoingHttpHeaders {
  const requestId =
    headerValue(req, 'x-request-id') ?? `req_sim${seed.toString(16)}x${seq.toString(16).padStart(8, '0')}`;
  switch (dialect) {
    case 'llamacpp':
      return { server: 'llama.cpp', 'access-control-allow-origin': '' };
    case 'vllm':
    case 'sglang':
      return { server: 'uvicorn', 'x-request-id': requestId };
    case 'openai':
      return {
        'x-request-id': requestId,
        'openai-processing-ms': '12',
        'x-ratelimit-limit-requests': '10000',
        'x-ratelimit-remaining-requests': '9999',
        'x-ratelimit-reset-requests': '6ms',
        'x-ratelimit-limit-tokens': '2000000',
        'x-ratelimit-remaining-tokens': '1999000',
        'x-ratelimit-reset-tokens': '30ms',
      };
    default:
      return { 'x-request-id': requestId };
  }
}

/** A control header holding a non-negative integer (a FaultSyntaxError otherwise). */
export function integerHeader(name: string, value: string): number {
  if (!/^\d+$/.test(value.trim()))
    throw new FaultSyntaxError(`${name} must be a non-negative integer, got '${value}'`);
  return Number(value.trim());
}

/** What a request may set for itself through `x-sim-*` headers. */
export interface RequestKnobs {
  seed: number;
  eosAfter: number | undefined;
  reasoning: number | undefined;
}

/** The request's `x-sim-seed`, `x-sim-eos-after` and `x-sim-reasoning`, over the server's own settings. */
export function requestKnobs(req: IncomingMessage, seed: number, eosAfter: number | undefined): RequestKnobs {
  const seedHeader = headerValue(req, 'x-sim-seed');
  const eosHeader = headerValue(req, 'x-sim-eos-after');
  const reasoningHeader = headerValue(req, 'x-sim-reasoning');
  return {
    seed: seedHeader === undefined ? seed : integerHeader('x-sim-seed', seedHeader),
    eosAfter: eosHeader === undefined ? eosAfter : integerHeader('x-sim-eos-after', eosHeader),
    reasoning: reasoningHeader === undefined ? undefined : integerHeader('x-sim-reasoning', reasoningHeader),
  };
}
