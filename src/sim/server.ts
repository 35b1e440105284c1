/**
 * The simulator's HTTP server: its options and report, socket tracking and a
 * close() that leaves no handles behind. Each request is handler.ts's.
 */
import { createServer } from 'node:http';
import type { Socket } from 'node:net';
import { type FaultSpec, parseFaults } from './faults.js';
import { formatLogLine, handleRequest, type SimState } from './handler.js';
import type { ReplicaModel } from './replica-model.js';
import { MAX_MODEL_LEN, type SimDialect } from './request.js';
import type { Outcome } from './responder.js';
import { resolveWire, SIM_WIRES } from './versions.js';

/** Options of {@link startSimulator}. */
export interface SimulatorOptions {
  /** Loopback address to listen on: '127.0.0.1' (default), '::1' or 'localhost'. Anything else is refused. */
  host?: string;
  /** Port; 0 (default) picks a free one. */
  port?: number;
  /**
   * Default dialect ('vllm'), or a server version to emulate from the wire-facts table
   * (`vllm@0.11`, `sglang@0.5`, `llamacpp@b4748`, `llamacpp@2026`, …: see `SIM_WIRES`); a plain
   * name is the current server's row (`llamacpp` is `llamacpp@2026`); a request can pick another with `x-sim-dialect`.
   */
  dialect?: SimDialect | (string & {});
  /**
   * vLLM runs with `--scheduling-policy priority`: a non-zero `priority` is served
   * (default false: vLLM's 400, as its input processor answers).
   */
  priorityScheduling?: boolean;
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
  /**
   * The model's context length (default 1,048,576). vLLM refuses a prompt +
   * max_tokens past it with its 400; the other dialects stop generating there
   * (finish_reason 'length').
   */
  maxModelLen?: number;
  /** Emit EOS as token number N (finish_reason 'stop'); default: run to max_tokens. `x-sim-eos-after` per request. */
  eosAfter?: number;
  /** Receives one line per finished request (for the CLI). */
  log?: (line: string) => void;
  /**
   * A cluster replica's serving model (prefix cache, service rate): set by `startCluster`,
   * which makes one per replica. Without it the simulator serves as fast as it can, uncached.
   */
  replica?: ReplicaModel;
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
  /** The encoder family that answered (an unknown `x-sim-dialect` is recorded as 'vllm'). */
  dialect: SimDialect;
  /** The dialect as asked: a plain name or a version label (`llamacpp@2026`). */
  version: string;
  /** Names of the faults that fired (e.g. 'reset-after'). */
  faults: string[];
  tokensSent: number;
  outcome: Outcome;
}

/** What {@link Simulator.report} returns, and `GET /sim/report` serves as JSON. */
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

function validateOptions(options: SimulatorOptions): void {
  const host = options.host ?? '127.0.0.1';
  if (!LOOPBACK.has(host)) {
    throw new Error(
      `startSimulator: host must be a loopback address (127.0.0.1, ::1, localhost), got '${host}'`,
    );
  }
  if (options.dialect !== undefined && resolveWire(options.dialect) === undefined) {
    throw new Error(`startSimulator: unknown dialect '${options.dialect}' (known: ${SIM_WIRES.join(', ')})`);
  }
  const nonNegative = ['port', 'seed', 'tokenDelayMs', 'eosAfter'] as const;
  for (const key of nonNegative) {
    const value = options[key];
    if (value !== undefined && (!Number.isInteger(value) || value < 0)) {
      throw new Error(`startSimulator: '${key}' must be a non-negative integer, got ${value}`);
    }
  }
  if (
    options.maxModelLen !== undefined &&
    (!Number.isInteger(options.maxModelLen) || options.maxModelLen < 1)
  ) {
    throw new Error(`startSimulator: 'maxModelLen' must be a positive integer, got ${options.maxModelLen}`);
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
  const sockets = new Set<Socket>();
  const report = (): SimReport => ({
    requests: state.records.map((record) => ({ ...record, faults: [...record.faults] })),
    faultsFired: { ...state.faultsFired },
    clientClosedSockets: state.clientClosedSockets,
    openSockets: sockets.size,
  });
  const state: SimState = {
    options,
    maxModelLen: options.maxModelLen ?? MAX_MODEL_LEN,
    report,
    serverFaults,
    defaultDialect: options.dialect ?? 'vllm',
    baseSeed: options.seed ?? 0,
    model: options.model ?? 'sim-model',
    failFirstCounts: new Map(),
    onceFired: new Set(),
    requestCounts: new Map(),
    records: [],
    faultsFired: {},
    clientClosedSockets: 0,
    seq: 0,
    closing: false,
  };

  const server = createServer({ keepAliveTimeout: 5000 }, (req, res) => {
    const current: { record?: SimRequestRecord } = {};
    handleRequest(state, req, res, current)
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
    report,
    resetReport(): void {
      state.records = [];
      state.faultsFired = {};
      state.clientClosedSockets = 0;
    },
    close(): Promise<void> {
      state.closing = true;
      return new Promise((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
    },
  };
}
