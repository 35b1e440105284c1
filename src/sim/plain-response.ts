/**
 * Answers that are not event streams — a non-streaming body, tokenize,
 * detokenize, error replies — and the faults that make sense for them: the
 * ones before the body (stall-headers, fail-first, status, html-200) and the
 * ones that break the body itself (reset-after and truncate-after cut it in its
 * middle, whatever K; byte-writes and trickle write it slowly).
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { FaultPlan } from './faults.js';
import { errorReply } from './http-errors.js';
import type { SimDialect } from './request.js';
import type { ResponderOptions, ResponseLog } from './responder.js';
import { sleep, Wire } from './wire.js';

const HTML_PAGE =
  '<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body><h1>Please sign in</h1><p>This page is what a captive portal or a misrouted proxy sends.</p></body></html>\n';

/** Writes a whole response at once. */
export function sendPlain(
  res: ServerResponse,
  status: number,
  headers: OutgoingHttpHeaders,
  contentType: string,
  body: string,
): void {
  res.writeHead(status, {
    ...headers,
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/** Retry-After headers for `status` faults. */
function retryHeaders(plan: FaultPlan['status']): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {};
  if (plan?.retryAfter !== undefined) headers['retry-after'] = plan.retryAfter;
  if (plan?.retryAfterMs !== undefined) headers['retry-after-ms'] = plan.retryAfterMs;
  return headers;
}

/**
 * The faults that answer instead of the real response (after stall-headers):
 * true when one of them did.
 */
export async function answerBeforeBody(
  res: ServerResponse,
  dialect: SimDialect,
  plan: FaultPlan,
  options: Pick<ResponderOptions, 'headers' | 'failFirst'>,
  log: ResponseLog,
  signal: AbortSignal,
): Promise<boolean> {
  if (plan.stallHeadersMs !== undefined) {
    log.fired('stall-headers');
    await sleep(plan.stallHeadersMs, signal);
  }
  if (plan.failFirst && options.failFirst(plan.failFirst.key, plan.failFirst.count)) {
    log.fired('fail-first');
    const code = plan.failFirst.code;
    const reply = errorReply(dialect, code, `simulated failure (sim fault ${plan.failFirst.key})`);
    // A 429 says when to come back, like real rate limiters.
    const extra: OutgoingHttpHeaders = code === 429 ? { 'retry-after': '1' } : {};
    sendPlain(res, reply.status, { ...options.headers, ...extra }, reply.contentType, reply.body);
    log.outcome = 'fault';
    return true;
  }
  if (plan.status) {
    log.fired('status');
    const reply = errorReply(
      dialect,
      plan.status.code,
      `simulated HTTP ${plan.status.code} (sim fault status)`,
    );
    sendPlain(
      res,
      reply.status,
      { ...options.headers, ...retryHeaders(plan.status) },
      reply.contentType,
      reply.body,
    );
    log.outcome = 'fault';
    return true;
  }
  if (plan.html200) {
    log.fired('html-200');
    sendPlain(res, 200, options.headers, 'text/html; charset=utf-8', HTML_PAGE);
    log.outcome = 'fault';
    return true;
  }
  return false;
}

/**
 * Sends a whole body with its Content-Length, applying the faults that break a
 * body: reset-after / truncate-after cut it after half its bytes (an RST, or a
 * clean close short of the length), byte-writes / trickle write it slowly.
 * Returns false when a fault cut it.
 */
export async function sendBody(
  res: ServerResponse,
  status: number,
  headers: OutgoingHttpHeaders,
  contentType: string,
  body: string,
  plan: FaultPlan,
  log: ResponseLog,
  signal: AbortSignal,
): Promise<boolean> {
  const cut =
    plan.resetAfter !== undefined ? 'reset' : plan.truncateAfter !== undefined ? 'truncate' : undefined;
  const slow = plan.byteWrites || plan.trickleMs !== undefined;
  if (cut === undefined && !slow) {
    sendPlain(res, status, headers, contentType, body);
    return true;
  }
  const bytes = Buffer.from(body, 'utf8');
  res.writeHead(status, { ...headers, 'content-type': contentType, 'content-length': bytes.length });
  // Line endings are an event-stream fault: a JSON body keeps its bytes.
  const wire = new Wire(res, { ...plan, lineEndings: undefined }, signal, false);
  if (plan.byteWrites) log.fired('byte-writes');
  if (plan.trickleMs !== undefined) log.fired('trickle');
  const sent = cut === undefined ? bytes : bytes.subarray(0, Math.floor(bytes.length / 2));
  await wire.sendBytes(sent, cut === 'reset');
  if (cut === undefined) {
    res.end();
    return true;
  }
  log.outcome = 'fault';
  if (cut === 'reset') {
    log.fired('reset-after');
    // Let the bytes leave before the RST overtakes them.
    await sleep(1, signal);
    log.serverDestroyed = true;
    res.socket?.resetAndDestroy();
  } else {
    log.fired('truncate-after');
    log.serverDestroyed = true;
    // A clean FIN short of Content-Length: the client sees a premature end.
    res.socket?.end();
  }
  return false;
}
