/**
 * The simulator's HTTP server: routing per dialect, request bodies, the
 * request report, socket tracking and a close() that leaves no handles behind.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
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
import { type Outcome, type ResponseLog, respond } from './responder.js';
import { routeUtility } from './utility-routes.js';
import { LlamaCppEncoder } from './wire-llamacpp.js';
import { OpenAiLikeEncoder } from './wire-openai.js';

/** Options of {@link startSimulator}. */
export interface SimulatorOptions {
  /** Loopback address to listen on: '127.0.0.1' (default), '::1' or 'localhost'. Anything else is refused. */
  host?: string;
  /** Port; 0 (default) picks a free one. */
  port?: number;
  /** Default dialect ('vllm'); a request can pick another with `x-sim-dialect`. */
  dialect?: SimDialect;
  /** Server-wide faults, same grammar as the `x-sim-fault` header. */
  faults?: string | FaultSpec[];
  /** Generator and fault seed (default 0); `x-sim-seed` overrides it per request. */
  seed?: number;
  /** Model name reported when a request names none (default 'sim-model'). */
  model?: string;
  /** Pause between token events in ms (default 0: as fast as possible, events batched). */
  tokenDelayMs?: number;
  /** Ids per chunk for vLLM/SGLang/OpenAI/OpenRouter (default 1). */
  idsPerChunk?: number;
  /** Emit EOS as token number N (finish_reason 'stop'); default: run to max_tokens. `x-sim-eos-after` per request. */
  eosAfter?: number;
  /** Receives one line per finished request (for the CLI). */
  log?: (line: string) => void;
}

/** One request as the simulator saw it. */
export interface SimRequestRecord {
  seq: number;
  method: string;
  path: string;
  receivedAtMs: number;
  /** Request headers; the authorization value is replaced by '[redacted]'. */
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body, or undefined (no body or not JSON). */
  body: unknown;
  dialect: SimDialect;
  /** Names of the faults that fired (e.g. 'reset-after'). */
  faults: string[];
  tokensSent: number;
  outcome: Outcome;
}

export interface SimReport {
  requests: SimRequestRecord[];
  /** Fault name → how many times it fired. */
  faultsFired: Record<string, number>;
  /** Responses whose socket the client closed before the server finished writing. */
  clientClosedSockets: number;
  openSockets: number;
}

/** A running simulator. */
export interface Simulator {
  /** 'http://127.0.0.1:PORT' (no /v1). */
  readonly url: string;
  readonly port: number;
  /** A snapshot of what happened so far. */
  report(): SimReport;
  resetReport(): void;
  /** Closes the server and destroys open sockets; resolves when closed. */
  close(): Promise<void>;
}

/** Request bodies above this are refused: a 1M-token prompt as JSON ids is about 8 MiB. */
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

const GENERATION_ROUTES: Record<string, Endpoint> = {
  '/v1/completions': 'completions',
  '/v1/chat/completions': 'chat',
};
const LLAMACPP_NATIVE = new Set(['/completion', '/completions']);

function validateOptions(options: SimulatorOptions): void {
  const host = options.host ?? '127.0.0.1';
  if (!LOOPBACK.has(host)) {
    throw new Error(
      `startSimulator: host must be a loopback address (127.0.0.1, ::1, localhost), got '${host}'`,
    );
  }
  if (options.dialect !== undefined && !DIALECTS.includes(options.dialect)) {
    throw new Error(`startSimulator: unknown dialect '${options.dialect}' (known: ${DIALECTS.join(', ')})`);
  }
  const nonNegative = ['port', 'seed', 'tokenDelayMs', 'eosAfter'] as const;
  for (const key of nonNegative) {
    const value = options[key];
    if (value !== undefined && (!Number.isInteger(value) || value < 0)) {
      throw new Error(`startSimulator: '${key}' must be a non-negative integer, got ${value}`);
    }
  }
  if (
    options.idsPerChunk !== undefined &&
    (!Number.isInteger(options.idsPerChunk) || options.idsPerChunk < 1)
  ) {
    throw new Error(`startSimulator: 'idsPerChunk' must be a positive integer, got ${options.idsPerChunk}`);
  }
}

/**
 * Starts the fault-injecting OpenAI-compatible simulator on loopback.
 *
 * @example
 * const sim = await startSimulator({ dialect: 'vllm', faults: 'reset-after:3' });
 * // POST `${sim.url}/v1/completions` …
 * await sim.close();
 */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  validateOptions(options);
  const serverFaults = parseFaults(options.faults);
  const host = options.host ?? '127.0.0.1';
  const defaultDialect = options.dialect ?? 'vllm';
  const baseSeed = options.seed ?? 0;
  const model = options.model ?? 'sim-model';
  const sockets = new Set<Socket>();
  const failFirstCounts = new Map<string, number>();
  const onceFired = new Set<string>();
  let records: SimRequestRecord[] = [];
  let faultsFired: Record<string, number> = {};
  let clientClosedSockets = 0;
  let seq = 0;
  let closing = false;

  const handle = async (
    req: IncomingMessage,
    res: ServerResponse,
    current: { record?: SimRequestRecord },
  ): Promise<void> => {
    seq += 1;
    const path = (req.url ?? '/').split('?')[0];
    const requestedDialect = headerValue(req, 'x-sim-dialect');
    const dialect = (requestedDialect ?? defaultDialect) as SimDialect;
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
    records.push(record);
    current.record = record;
    const log: ResponseLog = {
      fired(name) {
        if (!record.faults.includes(name)) record.faults.push(name);
        faultsFired[name] = (faultsFired[name] ?? 0) + 1;
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
      if (!res.writableFinished && !log.serverDestroyed && !closing) {
        clientClosedSockets += 1;
        record.outcome = 'client-closed';
      }
      abort.abort();
    });
    const fail = (status: number, message: string, param: string | null = null): void => {
      const reply = errorReply(DIALECTS.includes(dialect) ? dialect : 'vllm', status, message, param);
      if (!res.headersSent) {
        res.writeHead(reply.status, {
          ...(DIALECTS.includes(dialect) ? dialectHeaders(dialect, req, seq, baseSeed) : {}),
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
    const headers = dialectHeaders(dialect, req, record.seq, baseSeed);
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
      const reply = routeUtility(dialect, record.method, path, body, model);
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
      plan = planFaults([...serverFaults, ...parseFaults(headerValue(req, 'x-sim-fault'))], (spec) => {
        if (onceFired.has(spec)) return false;
        onceFired.add(spec);
        return true;
      });
      knobs = requestKnobs(req, baseSeed, options.eosAfter);
    } catch (error) {
      fail(400, (error as Error).message);
      return;
    }

    let gen: GenRequest;
    try {
      gen = readGenRequest(
        { dialect, endpoint, model, ...knobs, seq: record.seq },
        body as Record<string, unknown>,
      );
    } catch (error) {
      if (!(error instanceof SimHttpError)) throw error;
      fail(error.status, error.message, error.param);
      return;
    }
    const encoder: StreamEncoder =
      dialect === 'llamacpp' ? new LlamaCppEncoder(gen) : new OpenAiLikeEncoder(gen);
    await respond(
      res,
      gen,
      encoder,
      plan,
      {
        tokenDelayMs: options.tokenDelayMs ?? 0,
        idsPerChunk: options.idsPerChunk ?? 1,
        headers,
        failFirst(key, count) {
          const used = failFirstCounts.get(key) ?? 0;
          if (used >= count) return false;
          failFirstCounts.set(key, used + 1);
          return true;
        },
      },
      log,
      abort.signal,
    );
  };

  const server = createServer({ keepAliveTimeout: 5000 }, (req, res) => {
    const current: { record?: SimRequestRecord } = {};
    handle(req, res, current)
      .catch((error: unknown) => {
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({
              error: { message: `simulator bug: ${(error as Error).message}`, type: 'server_error' },
            }),
          );
        } else {
          res.destroy();
        }
      })
      .finally(() => {
        if (options.log && current.record) {
          const record = current.record;
          // Streams log when their response is over, not when the handler returns.
          if (res.writableEnded || res.destroyed) options.log(formatLogLine(record));
          else res.once('close', () => options.log?.(formatLogLine(record)));
        }
      });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('startSimulator: no TCP address');
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${urlHost}:${address.port}`;

  return {
    url,
    port: address.port,
    report(): SimReport {
      return {
        requests: records.map((record) => ({ ...record, faults: [...record.faults] })),
        faultsFired: { ...faultsFired },
        clientClosedSockets,
        openSockets: sockets.size,
      };
    },
    resetReport(): void {
      records = [];
      faultsFired = {};
      clientClosedSockets = 0;
    },
    close(): Promise<void> {
      closing = true;
      return new Promise((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
    },
  };
}

function formatLogLine(record: SimRequestRecord): string {
  const faults = record.faults.length > 0 ? ` faults=${record.faults.join(',')}` : '';
  return `sim #${record.seq} ${record.method} ${record.path} dialect=${record.dialect} tokens=${record.tokensSent} outcome=${record.outcome}${faults}`;
}
