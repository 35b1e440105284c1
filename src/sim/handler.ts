/**
 * One simulator request, from its head to the end of its response: the record it
 * leaves in the report, routing (generation, utility routes, 404), body checks,
 * the faults planned for it and the response itself (responder.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StreamEncoder } from './encoder.js';
import { type FaultSpec, parseFaults, planFaults } from './faults.js';
import { errorReply, notFoundReply } from './http-errors.js';
import {
  dialectHeaders,
  headerValue,
  type RequestKnobs,
  readBody,
  redactedHeaders,
  requestKnobs,
} from './incoming.js';
import {
  DIALECTS,
  type Endpoint,
  type GenRequest,
  readGenRequest,
  type SimDialect,
  SimHttpError,
} from './request.js';
import { type ResponseLog, respond } from './responder.js';
import type { SimRequestRecord, SimulatorOptions } from './server.js';
import { routeUtility } from './utility-routes.js';
import { sleep } from './wire.js';
import { LlamaCppEncoder } from './wire-llamacpp.js';
import { OpenAiLikeEncoder } from './wire-openai.js';

const GENERATION_ROUTES: Record<string, Endpoint> = {
  '/v1/completions': 'completions',
  '/v1/chat/completions': 'chat',
};
const LLAMACPP_NATIVE = new Set(['/completion', '/completions']);

/** What a simulator keeps across requests: its options, the report, fault bookkeeping. */
export interface SimState {
  readonly options: SimulatorOptions;
  readonly serverFaults: FaultSpec[];
  readonly defaultDialect: SimDialect;
  readonly baseSeed: number;
  readonly model: string;
  /** `fail-first` faults: how many requests each has failed. */
  readonly failFirstCounts: Map<string, number>;
  /** `:once` faults that have fired. */
  readonly onceFired: Set<string>;
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
  state.seq += 1;
  const seq = state.seq;
  const path = (req.url ?? '/').split('?')[0];
  const requestedDialect = headerValue(req, 'x-sim-dialect');
  const dialect = (requestedDialect ?? state.defaultDialect) as SimDialect;
  const record: SimRequestRecord = {
    seq,
    method: req.method ?? 'GET',
    path,
    receivedAtMs: Date.now(),
    headers: redactedHeaders(req),
    body: undefined,
    dialect,
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
  const fail = (status: number, message: string, param: string | null = null): void => {
    const reply = errorReply(DIALECTS.includes(dialect) ? dialect : 'vllm', status, message, param);
    if (!res.headersSent) {
      res.writeHead(reply.status, {
        ...(DIALECTS.includes(dialect) ? dialectHeaders(dialect, req, seq, state.baseSeed) : {}),
        'content-type': reply.contentType,
        'content-length': Buffer.byteLength(reply.body),
      });
      res.end(reply.body);
    }
    record.outcome = 'error';
  };

  if (!DIALECTS.includes(dialect)) {
    fail(400, `x-sim-dialect: unknown dialect '${requestedDialect}' (known: ${DIALECTS.join(', ')})`);
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
    const reply = routeUtility(dialect, record.method, path, body, state.model);
    const replyOrNotFound = reply ?? notFoundReply(dialect, record.method, path);
    if (!reply) record.outcome = 'error';
    res.writeHead(replyOrNotFound.status, {
      ...headers,
      'content-type': replyOrNotFound.contentType,
      'content-length': Buffer.byteLength(replyOrNotFound.body),
    });
    res.end(replyOrNotFound.body);
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

  let plan: ReturnType<typeof planFaults>;
  let knobs: RequestKnobs;
  try {
    plan = planFaults([...state.serverFaults, ...parseFaults(headerValue(req, 'x-sim-fault'))], (spec) => {
      if (state.onceFired.has(spec)) return false;
      state.onceFired.add(spec);
      return true;
    });
    knobs = requestKnobs(req, state.baseSeed, state.options.eosAfter);
  } catch (error) {
    fail(400, (error as Error).message);
    return;
  }

  let gen: GenRequest;
  try {
    gen = readGenRequest(
      { dialect, endpoint, model: state.model, ...knobs, seq: record.seq },
      body as Record<string, unknown>,
    );
  } catch (error) {
    if (!(error instanceof SimHttpError)) throw error;
    fail(error.status, error.message, error.param);
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
      failFirst(key, count) {
        const used = state.failFirstCounts.get(key) ?? 0;
        if (used >= count) return false;
        state.failFirstCounts.set(key, used + 1);
        return true;
      },
    },
    log,
    abort.signal,
  );
}

export function formatLogLine(record: SimRequestRecord): string {
  const faults = record.faults.length > 0 ? ` faults=${record.faults.join(',')}` : '';
  return `sim #${record.seq} ${record.method} ${record.path} dialect=${record.dialect} tokens=${record.tokensSent} outcome=${record.outcome}${faults}`;
}
