/**
 * Serves one generation request: the pre-stream faults (status, fail-first,
 * stalls, html-200, json-200), then the event loop over the steps with the
 * in-stream faults at their token counts, then the tail. Ends in one of the
 * report outcomes; a closed socket aborts every wait at once.
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { errorMessage, type StreamEncoder } from './encoder.js';
import type { FaultPlan } from './faults.js';
import { errorReply } from './http-errors.js';
import { type GenRequest, groupSteps } from './request.js';
import { ResponseClosed, sleep, Wire } from './wire.js';

export type Outcome = 'complete' | 'fault' | 'client-closed' | 'error';

/** What the responder tells the report. */
export interface ResponseLog {
  fired(name: string): void;
  tokensSent: number;
  outcome: Outcome;
  /** The server destroyed the socket itself (reset fault): not a client close. */
  serverDestroyed: boolean;
}

export interface ResponderOptions {
  tokenDelayMs: number;
  idsPerChunk: number;
  headers: OutgoingHttpHeaders;
  /** Consumes one failure of a `fail-first` spec; true when this request must fail. */
  failFirst(key: string, count: number): boolean;
}

/** A mebibyte, for `huge-line:MIB`. */
const MIB = 1024 * 1024;

const HTML_PAGE =
  '<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body><h1>Please sign in</h1><p>This page is what a captive portal or a misrouted proxy sends.</p></body></html>\n';

function sendPlain(
  res: ServerResponse,
  status: number,
  headers: OutgoingHttpHeaders,
  contentType: string,
  body: string,
) {
  res.writeHead(status, {
    ...headers,
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/** Retry-After headers for `status` faults and 429 `fail-first` answers. */
function retryHeaders(plan: FaultPlan['status']): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {};
  if (plan?.retryAfter !== undefined) headers['retry-after'] = plan.retryAfter;
  if (plan?.retryAfterMs !== undefined) headers['retry-after-ms'] = plan.retryAfterMs;
  return headers;
}

export async function respond(
  res: ServerResponse,
  req: GenRequest,
  encoder: StreamEncoder,
  plan: FaultPlan,
  options: ResponderOptions,
  log: ResponseLog,
  signal: AbortSignal,
): Promise<void> {
  try {
    if (plan.stallHeadersMs !== undefined) {
      log.fired('stall-headers');
      await sleep(plan.stallHeadersMs, signal);
    }
    if (plan.failFirst && options.failFirst(plan.failFirst.key, plan.failFirst.count)) {
      log.fired('fail-first');
      const code = plan.failFirst.code;
      const reply = errorReply(req.dialect, code, `simulated failure (sim fault ${plan.failFirst.key})`);
      // A 429 says when to come back, like real rate limiters.
      const extra: OutgoingHttpHeaders = code === 429 ? { 'retry-after': '1' } : {};
      sendPlain(res, reply.status, { ...options.headers, ...extra }, reply.contentType, reply.body);
      log.outcome = 'fault';
      return;
    }
    if (plan.status) {
      log.fired('status');
      const reply = errorReply(
        req.dialect,
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
      return;
    }
    if (plan.html200) {
      log.fired('html-200');
      sendPlain(res, 200, options.headers, 'text/html; charset=utf-8', HTML_PAGE);
      log.outcome = 'fault';
      return;
    }
    if (!req.stream || plan.json200) {
      if (req.stream) log.fired('json-200');
      const contentType = req.dialect === 'llamacpp' ? 'application/json; charset=utf-8' : 'application/json';
      sendPlain(res, 200, options.headers, contentType, JSON.stringify(encoder.body()));
      log.tokensSent = req.completionTokens;
      log.outcome = req.stream ? 'fault' : 'complete';
      return;
    }
    await stream(res, req, encoder, plan, options, log, signal);
  } catch (error) {
    if (!(error instanceof ResponseClosed)) throw error;
    log.outcome = 'client-closed';
  }
}

async function stream(
  res: ServerResponse,
  req: GenRequest,
  encoder: StreamEncoder,
  plan: FaultPlan,
  options: ResponderOptions,
  log: ResponseLog,
  signal: AbortSignal,
): Promise<void> {
  const paced =
    options.tokenDelayMs > 0 ||
    plan.byteWrites ||
    plan.trickleMs !== undefined ||
    plan.keepaliveMs !== undefined;
  const wire = new Wire(res, plan, signal, !paced);
  res.writeHead(200, { ...options.headers, 'content-type': contentTypeOf(req), 'cache-control': 'no-cache' });
  // Headers go out now even when the first bytes are far away (stalls, keepalive-forever).
  res.flushHeaders();
  if (plan.keepaliveForeverMs !== undefined) {
    log.fired('keepalive-forever');
    wire.startKeepalive(plan.keepaliveForeverMs);
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    throw new ResponseClosed();
  }
  if (plan.keepaliveMs !== undefined) {
    log.fired('keepalive');
    wire.startKeepalive(plan.keepaliveMs);
  }
  if (plan.byteWrites) log.fired('byte-writes');
  if (plan.trickleMs !== undefined) log.fired('trickle');
  if (plan.lineEndings) log.fired('line-endings');
  try {
    await wire.send(encoder.head());
    const breaks = new Set<number>([
      ...plan.stallAfter.keys(),
      ...plan.badJsonAfter,
      ...[plan.resetAfter, plan.truncateAfter, plan.errorAfter, plan.hugeLine?.after].filter(
        (k): k is number => k !== undefined,
      ),
    ]);
    const groups = groupSteps(
      req.steps,
      req.dialect === 'llamacpp' || req.dialect === 'together' ? 1 : options.idsPerChunk,
      breaks,
    );
    let sent = 0;
    if (await afterTokens(0)) return;
    for (let g = 0; g < groups.length; g++) {
      const group = groups[g];
      if (g === 0 && plan.stallFirstTokenMs !== undefined) {
        log.fired('stall-first-token');
        await wire.flush();
        await sleep(plan.stallFirstTokenMs, signal);
      }
      sent += group.ids.length;
      await wire.send(encoder.step(group, sent, g === groups.length - 1));
      log.tokensSent = sent;
      if (await afterTokens(sent)) return;
      if (options.tokenDelayMs > 0 && g < groups.length - 1) {
        await wire.flush();
        await sleep(options.tokenDelayMs, signal);
      }
    }
    const tail = encoder.tail();
    if (plan.noBlankLineAtEnd) {
      log.fired('no-blank-line-at-end');
      const last = tail.length - 1;
      tail[last] = tail[last].slice(0, plan.noBlankLineAtEnd.bare ? -2 : -1);
    }
    for (const event of tail) await wire.send(event);
    if (plan.dataAfterDone) {
      log.fired('data-after-done');
      await wire.send(encoder.afterDone());
      await wire.flush();
      if (plan.dataAfterDone.holdMs > 0) await sleep(plan.dataAfterDone.holdMs, signal);
    }
    await wire.flush();
    wire.stopKeepalive();
    res.end();
    log.outcome = 'complete';
  } finally {
    wire.stopKeepalive();
  }

  /** Applies the faults due after `count` tokens; true when the response is over. */
  async function afterTokens(count: number): Promise<boolean> {
    if (plan.hugeLine && plan.hugeLine.after === count) {
      log.fired('huge-line');
      await wire.send(encoder.huge(plan.hugeLine.mib * MIB));
    }
    if (plan.badJsonAfter.has(count)) {
      log.fired('bad-json-after');
      await wire.send(encoder.badJson());
    }
    if (plan.errorAfter === count) {
      log.fired('error-after');
      await wire.send(encoder.error(errorMessage(count)));
      await wire.flush();
      res.end();
      log.outcome = 'fault';
      return true;
    }
    if (plan.truncateAfter === count) {
      log.fired('truncate-after');
      await wire.flush();
      res.end();
      log.outcome = 'fault';
      return true;
    }
    if (plan.resetAfter === count) {
      log.fired('reset-after');
      await wire.flush(true);
      // Let the bytes leave before the RST overtakes them.
      await sleep(1, signal);
      log.serverDestroyed = true;
      log.outcome = 'fault';
      res.socket?.resetAndDestroy();
      return true;
    }
    const stall = plan.stallAfter.get(count);
    if (stall !== undefined) {
      log.fired('stall-after');
      await wire.flush();
      await sleep(stall, signal);
    }
    return false;
  }
}

function contentTypeOf(req: GenRequest): string {
  if (req.dialect === 'openai') return 'text/event-stream; charset=utf-8';
  return 'text/event-stream';
}
