/**
 * One simulator request, from its head to the end of its response: the record it
 * leaves in the report, routing (generation, utility routes, 404), body checks,
 * the faults planned for it and the response itself (responder.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StreamEncoder } from './encoder.js';
import type { FaultPlan, FaultSpec } from './faults.js';
import { errorReply, notFoundReply } from './http-errors.js';
import {
  dialectHeaders,
  headerValue,
  type RequestKnobs,
  readBody,
  redactedHeaders,
  requestKnobs,
} from './incoming.js';
import { llamaBuild } from './llamacpp-builds.js';
import { answerBeforeBody, sendBody } from './plain-response.js';
import { B4748 } from './refusals.js';
import { type Endpoint, type GenRequest, readGenRequest, type SimDialect, SimHttpError } from './request.js';
import { failFirstOf, requestPlan } from './request-faults.js';
import { type ResponseLog, respond } from './responder.js';
import type { SimReport, SimRequestRecord, SimulatorOptions } from './server.js';
import { routeUtility, versionReply } from './utility-routes.js';
import { resolveWire, SIM_WIRES } from './versions.js';
import { ResponseClosed, sleep } from './wire.js';
import { LlamaCppEncoder } from './wire-llamacpp.js';
import { OpenAiLikeEncoder } from './wire-openai.js';

const GENERATION_ROUTES: Record<string, Endpoint> = {
  '/v1/completions': 'completions',
  '/v1/chat/completions': 'chat',
};
const LLAMACPP_NATIVE = new Set(['/completion', '/completions']);
/** Where the report is served as JSON. */
export const REPORT_PATH = '/sim/report';
/** Utility routes faults apply to (not the model list or health, which detection and readiness probes read). */
const FAULTABLE_UTILITY = /^(\/v1)?\/(tokenize|detokenize)$/;

/** What a simulator keeps across requests: its options, the report, fault bookkeeping. */
export interface SimState {
  readonly options: SimulatorOptions;
  readonly serverFaults: FaultSpec[];
  /** The default dialect: a plain name or a version label (`llamacpp@2026`). */
  readonly defaultDialect: string;
  readonly baseSeed: number;
  readonly model: string;
  /** The model's context length (`maxModelLen`). */
  readonly maxModelLen: number;
  /** The report as `report()` gives it (served at GET /sim/report). */
  readonly report: () => SimReport;
  /** `fail-first` faults: how many requests each has failed. */
  readonly failFirstCounts: Map<string, number>;
  /** `:once` faults that have fired. */
  readonly onceFired: Set<string>;
  /** `:every=N` faults: how many requests carried each (per spec). */
  readonly requestCounts: Map<string, number>;
  records: SimRequestRecord[];
  faultsFired: Record<string, number>;
  clientClosedSockets: number;
  /** Requests seen (the last one's number). */
  seq: number;
  /** Set by close(): sockets it destroys are not counted as closed by the client. */
  closing: boolean;
}

/** Serves one request; `current.record` is its report entry once made. */
export async function handleRequest(
  state: SimState,
  req: IncomingMessage,
  res: ServerResponse,
  current: { record?: SimRequestRecord },
): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (path === REPORT_PATH && req.method === 'GET') {
    // The report is not a request in itself: it is how users without JavaScript read it.
    const body = JSON.stringify(state.report());
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
    req.resume();
    return;
  }
  state.seq += 1;
  const seq = state.seq;
  const requestedDialect = headerValue(req, 'x-sim-dialect');
  const wire = resolveWire(requestedDialect ?? state.defaultDialect);
  const dialect: SimDialect = wire?.base ?? 'vllm';
  const record: SimRequestRecord = {
    seq,
    method: req.method ?? 'GET',
    path,
    receivedAtMs: Date.now(),
    headers: redactedHeaders(req),
    body: undefined,
    dialect,
    version: wire?.label ?? String(requestedDialect),
    faults: [],
    tokensSent: 0,
    outcome: 'complete',
  };
  state.records.push(record);
  current.record = record;
  const log: ResponseLog = {
    fired(name) {
      if (!record.faults.includes(name)) record.faults.push(name);
      state.faultsFired[name] = (state.faultsFired[name] ?? 0) + 1;
    },
    get tokensSent() {
      return record.tokensSent;
    },
    set tokensSent(value) {
      record.tokensSent = value;
    },
    get outcome() {
      return record.outcome;
    },
    set outcome(value) {
      record.outcome = value;
    },
    serverDestroyed: false,
  };
  const abort = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished && !log.serverDestroyed && !state.closing) {
      state.clientClosedSockets += 1;
      record.outcome = 'client-closed';
    }
    abort.abort();
  });
  const fail = (
    status: number,
    message: string,
    param: string | null = null,
    errorWire?: SimHttpError['wire'],
  ): void => {
    const reply = errorReply(dialect, status, message, param, errorWire);
    if (!res.headersSent) {
      res.writeHead(reply.status, {
        ...(wire ? dialectHeaders(dialect, req, seq, state.baseSeed) : {}),
        'content-type': reply.contentType,
        'content-length': Buffer.byteLength(reply.body),
      });
      res.end(reply.body);
    }
    record.outcome = 'error';
  };

  if (wire === undefined) {
    fail(400, `x-sim-dialect: unknown dialect '${requestedDialect}' (known: ${SIM_WIRES.join(', ')})`);
    return;
  }
  const headers = dialectHeaders(dialect, req, record.seq, state.baseSeed);
  let raw: Buffer;
  try {
    raw = await readBody(req);
  } catch (error) {
    if (error instanceof SimHttpError) fail(error.status, error.message);
    return;
  }
  let body: unknown;
  let bodyError: string | undefined;
  if (raw.length > 0) {
    try {
      body = JSON.parse(raw.toString('utf8'));
      record.body = body;
    } catch (error) {
      bodyError = (error as Error).message;
    }
  }

  const native = dialect === 'llamacpp' && LLAMACPP_NATIVE.has(path);
  const endpoint: Endpoint | undefined = native ? 'native' : GENERATION_ROUTES[path];
  if (endpoint === undefined) {
    const build = llamaBuild(wire.facts ?? B4748);
    const reply =
      versionReply(wire.facts, record.method, path, state.model) ??
      routeUtility(dialect, record.method, path, body, state.model, state.maxModelLen, build.fingerprint);
    const messageFirst = dialect === 'llamacpp' && build.notFoundMessageFirst;
    const replyOrNotFound = reply ?? notFoundReply(dialect, record.method, path, messageFirst);
    if (!reply) record.outcome = 'error';
    let plan: FaultPlan | undefined;
    if (reply && record.method === 'POST' && FAULTABLE_UTILITY.test(path)) {
      try {
        // Only the request's own faults: server-wide ones are for generation (detection, probes and
        // tokenize calls of a client under test must not eat a ':once' or a 'fail-first' count).
        plan = requestPlan(state, req, false);
      } catch (error) {
        fail(400, (error as Error).message);
        return;
      }
    }
    if (plan === undefined) {
      res.writeHead(replyOrNotFound.status, {
        ...headers,
        'content-type': replyOrNotFound.contentType,
        'content-length': Buffer.byteLength(replyOrNotFound.body),
      });
      res.end(replyOrNotFound.body);
      return;
    }
    const options = { headers, failFirst: failFirstOf(state) };
    try {
      if (await answerBeforeBody(res, dialect, plan, options, log, abort.signal)) return;
      const { status, contentType, body: text } = replyOrNotFound;
      await sendBody(res, status, headers, contentType, text, plan, log, abort.signal);
    } catch (error) {
      if (!(error instanceof ResponseClosed)) throw error;
      record.outcome = 'client-closed';
    }
    return;
  }
  if (record.method !== 'POST') {
    fail(405, `${record.method} is not allowed on ${path}; use POST`);
    return;
  }
  if (bodyError !== undefined) {
    fail(dialect === 'llamacpp' ? 500 : 400, `invalid JSON body: ${bodyError}`);
    return;
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    fail(400, 'the request body must be a JSON object');
    return;
  }

  let plan: FaultPlan;
  let knobs: RequestKnobs;
  try {
    plan = requestPlan(state, req);
    knobs = requestKnobs(req, state.baseSeed, state.options.eosAfter);
  } catch (error) {
    fail(400, (error as Error).message);
    return;
  }

  let gen: GenRequest;
  try {
    gen = readGenRequest(
      {
        dialect,
        facts: wire.facts,
        endpoint,
        model: state.model,
        maxModelLen: state.maxModelLen,
        priorityScheduling: state.options.priorityScheduling === true,
        ...knobs,
        seq: record.seq,
        keepOutputIds: state.options.replica !== undefined,
      },
      body as Record<string, unknown>,
    );
  } catch (error) {
    if (!(error instanceof SimHttpError)) throw error;
    fail(error.status, error.message, error.param, error.wire);
    return;
  }
  const replica = state.options.replica;
  const admission = replica?.admit(gen.promptIds);
  if (admission) {
    gen.cachedTokens = admission.cachedTokens;
    res.once('close', admission.release);
    if (admission.prefillMs > 0) {
      try {
        await sleep(admission.prefillMs, abort.signal);
      } catch {
        return;
      }
    }
  }
  const encoder: StreamEncoder =
    dialect === 'llamacpp' ? new LlamaCppEncoder(gen) : new OpenAiLikeEncoder(gen);
  const fixedDelayMs = state.options.tokenDelayMs ?? 0;
  await respond(
    res,
    gen,
    encoder,
    plan,
    {
      // A replica's pause between tokens follows its load (read at every token).
      get tokenDelayMs() {
        return replica ? replica.tokenDelayMs() : fixedDelayMs;
      },
      idsPerChunk: state.options.idsPerChunk ?? 1,
      headers,
      failFirst: failFirstOf(state),
    },
    log,
    abort.signal,
  );
  // What was generated stays cached too (whole or cut short), as on vLLM and SGLang.
  const outputIds = gen.generation.outputIds;
  if (replica && outputIds !== undefined && outputIds.length > 0)
    replica.cacheOutput(gen.promptIds, outputIds);
}

/** The line `log` receives for a finished request. */
export function formatLogLine(record: SimRequestRecord): string {
  const faults = record.faults.length > 0 ? ` faults=${record.faults.join(',')}` : '';
  return `sim #${record.seq} ${record.method} ${record.path} dialect=${record.version ?? record.dialect} tokens=${record.tokensSent} outcome=${record.outcome}${faults}`;
}
