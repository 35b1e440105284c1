/**
 * Serves one generation request: the pre-stream faults (status, fail-first,
 * stalls, html-200, json-200), then the event loop over the steps with the
 * in-stream faults at their token counts, then the tail. Ends in one of the
 * report outcomes; a closed socket aborts every wait at once.
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { errorMessage, type StreamEncoder } from './encoder.js';
import type { FaultPlan } from './faults.js';
import { StepGroups } from './generation.js';
import { answerBeforeBody, sendBody } from './plain-response.js';
import type { GenRequest } from './request.js';
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
    if (await answerBeforeBody(res, req.dialect, plan, options, log, signal)) return;
    if (!req.stream || plan.json200) {
      if (req.stream) log.fired('json-200');
      const contentType = req.dialect === 'llamacpp' ? 'application/json; charset=utf-8' : 'application/json';
      const body = JSON.stringify(encoder.body());
      log.tokensSent = req.generation.produced;
      if (await sendBody(res, 200, options.headers, contentType, body, plan, log, signal)) {
        log.outcome = req.stream ? 'fault' : 'complete';
      }
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
    const groups = new StepGroups(
      req.generation,
      req.dialect === 'llamacpp' || req.dialect === 'together' ? 1 : options.idsPerChunk,
      breaks,
    );
    let sent = 0;
    if (await afterTokens(0)) return;
    for (let group = groups.next(), first = true; group !== undefined; group = groups.next(), first = false) {
      if (first && plan.stallFirstTokenMs !== undefined) {
        log.fired('stall-first-token');
        await wire.flush();
        await sleep(plan.stallFirstTokenMs, signal);
      }
      sent += group.ids.length;
      await wire.send(encoder.step(group, sent, groups.last));
      log.tokensSent = sent;
      if (await afterTokens(sent)) return;
      if (options.tokenDelayMs > 0 && !groups.last) {
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
