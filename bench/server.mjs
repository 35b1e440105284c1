/**
 * The benchmark server: a separate process that answers `/v1/completions` and
 * `/v1/chat/completions` with pre-encoded, deterministic vLLM-style SSE streams,
 * so that the clients, not the server, dominate the measured cost.
 *
 * Configuration per request, first match wins:
 *   - path prefix  `/<mode>/<seed>/v1/...`  (works with every client's baseURL),
 *   - query        `?mode=bulk&seed=7`,
 *   - body fields  `bench_mode`, `bench_seed`;
 * `max_tokens` from the body is the token count. `mode` is `bulk` (the whole
 * stream in a few large writes) or `paced` (each event its own write, at least
 * PACED_GAP_NS apart). Every other body field (sampling, `return_token_ids`,
 * `stream_options`, …) is accepted and ignored.
 *
 * Started with `fork()`: reports `{ port }` over IPC, exits when the parent goes.
 */
import { createServer } from 'node:http';
import { encodeEvents } from './stream-gen.mjs';

/** Bulk writes: big enough to be "a few" for 20k tokens, and they split events and UTF-8 mid-way. */
const BULK_WRITE_BYTES = 256 * 1024;
/** Smallest gap between two paced events. */
const PACED_GAP_NS = 200_000n;
/** A paced stream gives up after this long, so a stuck client never keeps the server spinning. */
const PACED_DEADLINE_NS = 60_000_000_000n;
/** Largest accepted request body; the benchmark's prompts are tiny. */
const MAX_BODY_BYTES = 1024 * 1024;
/** Largest stream served; bounds the cache and a mistyped `max_tokens`. */
const MAX_TOKENS = 1_000_000;
/** Cached encodings (keyed by kind, seed, count, prompt length); a run uses a handful. */
const MAX_CACHE_ENTRIES = 64;

const cache = new Map();

function encoded(kind, seed, count, promptTokens) {
  const key = `${kind}/${seed}/${count}/${promptTokens}`;
  let entry = cache.get(key);
  if (!entry) {
    const events = encodeEvents(seed, count, { kind, promptTokens }).map((event) =>
      Buffer.from(event, 'utf8'),
    );
    const all = Buffer.concat(events);
    const bulk = [];
    for (let offset = 0; offset < all.length; offset += BULK_WRITE_BYTES) {
      bulk.push(all.subarray(offset, Math.min(all.length, offset + BULK_WRITE_BYTES)));
    }
    entry = { events, bulk };
    if (cache.size >= MAX_CACHE_ENTRIES) cache.delete(cache.keys().next().value);
    cache.set(key, entry);
  }
  return entry;
}

function sendJson(res, status, value) {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Writes buffers in order, waiting for 'drain' when the socket pushes back. */
function writeBulk(res, buffers) {
  let index = 0;
  const pump = () => {
    while (index < buffers.length) {
      if (res.destroyed) return;
      const ok = res.write(buffers[index++]);
      if (!ok && index < buffers.length) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  pump();
}

/**
 * One event per write, each in its own event-loop turn and at least PACED_GAP_NS
 * after the previous one: a setImmediate spin on hrtime (setTimeout cannot go
 * below ~1 ms). Bounded by the event count and PACED_DEADLINE_NS.
 */
function writePaced(res, events) {
  const start = process.hrtime.bigint();
  let index = 0;
  let last = 0n;
  const step = () => {
    if (res.destroyed) return;
    const now = process.hrtime.bigint();
    if (now - start > PACED_DEADLINE_NS) {
      res.destroy();
      return;
    }
    if (index === 0 || now - last >= PACED_GAP_NS) {
      res.write(events[index++]);
      last = now;
      if (index === events.length) {
        res.end();
        return;
      }
    }
    setImmediate(step);
  };
  step();
}

function parseTarget(url) {
  const parsed = new URL(url, 'http://127.0.0.1');
  let mode = parsed.searchParams.get('mode') ?? undefined;
  let seed = parsed.searchParams.has('seed') ? Number(parsed.searchParams.get('seed')) : undefined;
  let path = parsed.pathname;
  const prefix = /^\/(bulk|paced)\/(\d+)(\/.*)$/.exec(path);
  if (prefix) {
    mode = prefix[1];
    seed = Number(prefix[2]);
    path = prefix[3];
  }
  return { mode, seed, path };
}

function handle(req, res, raw) {
  const target = parseTarget(req.url);
  if (req.method === 'GET' && target.path === '/v1/models') {
    sendJson(res, 200, {
      object: 'list',
      data: [{ id: 'm', object: 'model', owned_by: 'vllm', max_model_len: 1_000_000 }],
    });
    return;
  }
  const kind =
    target.path === '/v1/completions' ? 'completion' : target.path === '/v1/chat/completions' ? 'chat' : '';
  if (req.method !== 'POST' || kind === '') {
    sendJson(res, 404, { error: { message: `no route ${req.method} ${target.path}`, type: 'not_found' } });
    return;
  }
  let body;
  try {
    body = JSON.parse(raw);
  } catch {
    sendJson(res, 400, { error: { message: 'request body is not JSON', type: 'invalid_request_error' } });
    return;
  }
  const count = body.max_tokens ?? body.max_completion_tokens ?? 16;
  const mode = target.mode ?? body.bench_mode ?? 'bulk';
  const seed = target.seed ?? body.bench_seed ?? 1;
  if (!Number.isInteger(count) || count < 1 || count > MAX_TOKENS || (mode !== 'bulk' && mode !== 'paced')) {
    sendJson(res, 400, { error: { message: 'bad max_tokens or bench_mode', type: 'invalid_request_error' } });
    return;
  }
  const promptTokens = Array.isArray(body.prompt) ? body.prompt.length : 1;
  const stream = encoded(kind, seed >>> 0, count, promptTokens);
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  if (mode === 'bulk') writeBulk(res, stream.bulk);
  else writePaced(res, stream.events);
}

const server = createServer({ keepAliveTimeout: 60_000, noDelay: true }, (req, res) => {
  const chunks = [];
  let size = 0;
  req.on('data', (chunk) => {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) req.destroy();
    else chunks.push(chunk);
  });
  req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
});
// Thousands of simultaneous connections are the point of the c10000 scenario.
server.maxConnections = 50_000;
server.maxRequestsPerSocket = 0;
server.headersTimeout = 60_000;
server.requestTimeout = 0;

server.listen({ host: '127.0.0.1', port: Number(process.env.BENCH_PORT ?? 0), backlog: 16_384 }, () => {
  const { port } = server.address();
  if (process.send) process.send({ port });
  else console.log(`bench server on http://127.0.0.1:${port}`);
});

// The parent owns our lifetime: when it disconnects (or dies), we go too.
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
