/**
 * `npm run bench -- --scenarios fleet`: one Client over a cluster of simulated
 * replicas (bench/fleet-cluster.mjs, its own process). Six measurements:
 *
 *   affinity  4 replicas, SESSIONS multi-turn sessions × 6 turns sharing a system
 *             prompt: prefix-cache hit rate as the replicas report it (cached prompt
 *             tokens / prompt tokens) with cache-aware routing, round-robin, and one
 *             replica per session (the ideal pinning); time-averaged in-flight per
 *             replica, max/mean.
 *   samples   (only with --only samples) the same, sessions in groups of 4 sharing their
 *             first turn (4 samples of one question), longer answers, short later user turns.
 *   hetero    4 replicas, one 3× slower: p50/p99 time to first token, least-outstanding
 *             against round-robin, closed loop.
 *   hedge     4 replicas, one stalls its first token on every 4th request it gets: p50/p99
 *             time to first token with hedge off, then on with afterMs = the p90 of the run
 *             without (least-outstanding both), and what hedging cost in extra requests.
 *   chaos     greedy streams over 4 replicas while replicas are killed and restarted
 *             at random: every stream's ids against the generator's uninterrupted ones.
 *   routing   the router's cost per request (pick + begin + end) at 1,000 in flight.
 *   cpu       client CPU per token, 4 endpoints against 1 (same servers).
 *
 *   node bench/fleet.mjs [--quick] [--only a,b]   (after npm run build)
 */
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { idPrefixKeys } from '../dist/fleet/prefix-keys.js';
import { Router } from '../dist/fleet/router.js';
import { Client } from '../dist/index.js';
import { generate } from '../dist/sim/index.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, only: { type: 'string' } },
});
const quick = args.quick;
const only = args.only ? args.only.split(',') : ['affinity', 'hetero', 'hedge', 'chaos', 'routing', 'cpu'];
const quiet = () => {};

/** mulberry32: a seeded random source, so that every run sends the same requests. */
function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` prompt ids from the simulator's vocabulary (ids 300-599 are plain pieces). */
function randomIds(n, random) {
  return Array.from({ length: n }, () => 300 + Math.floor(random() * 300));
}

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const median = (values) => percentile(values, 50);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A cluster in its own process, with kill/restart/stats over IPC. */
async function cluster(options) {
  const child = fork(join(HERE, 'fleet-cluster.mjs'), [JSON.stringify(options)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const urls = await new Promise((resolve, reject) => {
    child.once('message', (message) => resolve(message.urls));
    child.once('exit', (code) => reject(new Error(`cluster process exited (${code})`)));
  });
  const pending = new Map();
  let next = 0;
  child.on('message', (message) => {
    if (message.id === undefined) return;
    pending.get(message.id)?.(message.result);
    pending.delete(message.id);
  });
  return {
    urls,
    call(op, extra = {}) {
      return new Promise((resolve) => {
        const id = next++;
        pending.set(id, resolve);
        child.send({ id, op, ...extra });
      });
    },
    close() {
      return new Promise((resolve) => {
        child.once('exit', resolve);
        child.disconnect();
      });
    },
  };
}

/** Samples each replica's streams in flight every `everyMs` until stopped: time-averaged load. */
function sampleLoad(c, everyMs = 10) {
  const sums = [0, 0, 0, 0];
  let samples = 0;
  let running = true;
  const done = (async () => {
    while (running) {
      const stats = await c.call('stats');
      // Only samples under load count ("full load"): the ramp-up and the tail are left out.
      const total = stats.perReplica.reduce((a, s) => a + s.active, 0);
      if (total > 0) {
        stats.perReplica.forEach((s, i) => {
          sums[i] += s.active;
        });
        samples++;
      }
      await sleep(everyMs);
    }
  })();
  return async () => {
    running = false;
    await done;
    const means = sums.map((s) => s / Math.max(1, samples));
    const mean = means.reduce((a, b) => a + b, 0) / means.length;
    return { means, maxOverMean: mean > 0 ? Math.max(...means) / mean : 0 };
  };
}

// ---- affinity -----------------------------------------------------------------------

/**
 * `sessions`: every session its own first user turn (32 ids), answers of 16-47 tokens.
 * `samples`: sessions in groups of 4 sharing their first turn (4 samples of one question,
 * seeded sampling), answers of 64-191 tokens, later user turns of 8 ids: there, only the
 * generated ids tell one sample's next turn from its siblings'.
 */
async function affinity(variant = 'sessions') {
  const samples = variant === 'samples';
  const SESSIONS = quick ? 40 : 200;
  const TURNS = 6;
  const SYSTEM = 512;
  const FIRST_USER = 32;
  const USER = samples ? 8 : 32;
  const OUT = samples ? 128 : 32;
  const GROUP = samples ? 4 : 1;
  const system = randomIds(SYSTEM, seeded(1));
  const rows = [];
  for (const mode of ['cache-aware', 'round-robin', 'one replica per session']) {
    const c = await cluster({ replicas: 4, dialect: 'vllm', seed: 5, tokenDelayMs: 2, concurrency: 16 });
    const common = { dialect: 'vllm', failedRequestsDir: false, logger: quiet, maxConnections: 512 };
    const clients =
      mode === 'one replica per session'
        ? c.urls.map((url) => new Client({ ...common, baseUrl: url }))
        : [
            new Client({
              ...common,
              endpoints: c.urls,
              routing:
                mode === 'round-robin'
                  ? { policy: 'round-robin', cacheAffinity: false }
                  : { random: seeded(2) },
            }),
          ];
    const stopSampling = sampleLoad(c);
    const started = performance.now();
    await Promise.all(
      Array.from({ length: SESSIONS }, async (_, s) => {
        const random = seeded(1000 + s);
        const client = clients[s % clients.length];
        const group = Math.floor(s / GROUP);
        let prompt = [...system, ...randomIds(FIRST_USER, GROUP > 1 ? seeded(5000 + group) : random)];
        const sampling = samples ? { temperature: 1, seed: s } : undefined;
        for (let turn = 0; turn < TURNS; turn++) {
          // A user's think time and answer lengths vary: sessions do not move in lockstep
          // (in lockstep, round-robin over 4 would send each session to one replica by chance).
          await sleep(random() * 40);
          const maxTokens = OUT / 2 + Math.floor(random() * OUT);
          const result = await client.streamCompletion({ prompt, maxTokens, sampling }).final();
          prompt = [...prompt, ...result.ids, ...randomIds(USER, random)];
        }
      }),
    );
    const wallMs = performance.now() - started;
    const load = await stopSampling();
    const stats = await c.call('stats');
    rows.push({
      mode,
      hitRate: stats.cachedTokens / stats.promptTokens,
      requests: stats.perReplica.map((s) => s.requests),
      inFlightMeans: load.means.map((m) => Number(m.toFixed(1))),
      inFlightMaxOverMean: load.maxOverMean,
      wallMs,
    });
    await Promise.all(clients.map((client) => client.close()));
    await c.close();
  }
  const ideal = rows[2].hitRate;
  for (const row of rows) row.ofIdeal = row.hitRate / ideal;
  return { variant, sessions: SESSIONS, turns: TURNS, systemTokens: SYSTEM, group: GROUP, out: OUT, rows };
}

// ---- heterogeneous replicas -------------------------------------------------------------

async function hetero() {
  const WORKERS = 48;
  const REQUESTS = quick ? 240 : 960;
  const rows = [];
  for (const policy of ['least-outstanding', 'round-robin']) {
    const c = await cluster({
      replicas: 4,
      dialect: 'vllm',
      // Prefill dominates time to first token (256 uncached tokens × 0.5 ms = 128 ms alone),
      // well above timer noise; beyond 4 streams a replica slows in proportion.
      tokenDelayMs: 5,
      prefillMsPerToken: 0.5,
      concurrency: 4,
      cacheBlocks: 0,
      replica: [undefined, undefined, undefined, { slowdown: 3 }],
    });
    const client = new Client({
      endpoints: c.urls,
      dialect: 'vllm',
      failedRequestsDir: false,
      logger: quiet,
      routing: { policy, cacheAffinity: false, random: seeded(3) },
    });
    const random = seeded(4);
    const ttft = [];
    let issued = 0;
    await Promise.all(
      Array.from({ length: WORKERS }, async () => {
        while (issued < REQUESTS) {
          issued++;
          const result = await client
            .streamCompletion({ prompt: randomIds(256, random), maxTokens: 16 })
            .final();
          ttft.push(result.stats.timeToFirstTokenMs);
        }
      }),
    );
    const stats = await c.call('stats');
    rows.push({
      policy,
      p50: percentile(ttft, 50),
      p99: percentile(ttft, 99),
      requests: stats.perReplica.map((s) => s.requests),
    });
    await client.close();
    await c.close();
  }
  return { workers: WORKERS, requests: REQUESTS, slowReplica: 3, slowdown: 3, rows };
}

// ---- hedge ------------------------------------------------------------------------------

async function hedge() {
  const WORKERS = 16;
  const REQUESTS = quick ? 240 : 960;
  const STALL_MS = 400;
  const EVERY = 4;
  const rows = [];
  // Hedging on waits the p90 time to first token of the run without it (as the README
  // advises: above the usual p90-p95), so the setting follows this machine's speed.
  let afterMs;
  for (const hedged of [false, true]) {
    const c = await cluster({
      replicas: 4,
      dialect: 'vllm',
      // A first token in ~15-20 ms (64 uncached prompt tokens × 0.2 ms + one token step);
      // replica 4 stalls STALL_MS before the first token of every EVERY-th request it gets.
      tokenDelayMs: 3,
      prefillMsPerToken: 0.2,
      concurrency: 8,
      cacheBlocks: 0,
      replica: [undefined, undefined, undefined, { faults: `stall-first-token:${STALL_MS}:every=${EVERY}` }],
    });
    const client = new Client({
      endpoints: c.urls,
      dialect: 'vllm',
      failedRequestsDir: false,
      logger: quiet,
      routing: { cacheAffinity: false, random: seeded(5) },
      hedge: hedged ? { afterMs } : undefined,
    });
    const random = seeded(6);
    const ttft = [];
    let issued = 0;
    let attempts = 0;
    let hedgeWins = 0;
    await Promise.all(
      Array.from({ length: WORKERS }, async () => {
        while (issued < REQUESTS) {
          issued++;
          const result = await client
            .streamCompletion({ prompt: randomIds(64, random), maxTokens: 8 })
            .final();
          ttft.push(result.stats.timeToFirstTokenMs);
          attempts += result.stats.attempts;
          if (result.stats.endpoints.some((e) => e.chosenBy === 'hedge' && e.failed === undefined))
            hedgeWins++;
        }
      }),
    );
    const stats = await c.call('stats');
    rows.push({
      hedge: hedged ? `afterMs ${afterMs} (p90 without)` : 'off',
      p50: percentile(ttft, 50),
      p99: percentile(ttft, 99),
      max: Math.max(...ttft),
      extraRequests: attempts - REQUESTS,
      hedgeWins,
      requests: stats.perReplica.map((s) => s.requests),
    });
    await client.close();
    await c.close();
    afterMs = Math.max(1, Math.round(percentile(ttft, 90)));
  }
  return { workers: WORKERS, requests: REQUESTS, stallMs: STALL_MS, every: EVERY, rows };
}

// ---- chaos ------------------------------------------------------------------------------

async function chaos() {
  const STREAMS = quick ? 200 : 1_000;
  const CONCURRENCY = 200;
  const TOKENS = 64;
  const SEED = 11;
  const c = await cluster({ replicas: 4, dialect: 'vllm', seed: SEED, tokenDelayMs: 2, concurrency: 64 });
  const client = new Client({
    endpoints: c.urls,
    dialect: 'vllm',
    failedRequestsDir: false,
    logger: quiet,
    maxConnections: 512,
    // A stream here can be cut dozens of times (a kill every ~130 ms): a large attempt budget.
    retry: { maxAttempts: 100, baseDelayMs: 5, maxDelayMs: 200 },
    timeouts: { connectMs: 1_000, headersMs: 2_000, firstTokenMs: 3_000, idleMs: 1_000, totalMs: 60_000 },
    routing: { health: { consecutiveFailures: 1, baseEjectionMs: 100, maxEjectionMs: 1_000 } },
  });
  const random = seeded(12);
  const prompts = Array.from({ length: STREAMS }, () => randomIds(8, random));
  const alive = [true, true, true, true];
  let running = true;
  let kills = 0;
  const chaosRandom = seeded(13);
  const monkey = (async () => {
    while (running) {
      await sleep(50 + chaosRandom() * 150);
      const up = alive.flatMap((a, i) => (a ? [i] : []));
      // Kill one while at least two are up; each comes back 100-400 ms later.
      if (!running || up.length < 2) continue;
      const victim = up[Math.floor(chaosRandom() * up.length)];
      alive[victim] = false;
      kills++;
      await c.call('kill', { index: victim });
      const downFor = 100 + chaosRandom() * 300;
      setTimeout(async () => {
        await c.call('restart', { index: victim });
        alive[victim] = true;
      }, downFor);
    }
  })();
  const outcomes = [];
  let nextStream = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (nextStream < STREAMS) {
        const i = nextStream++;
        const expected = generate(prompts[i], TOKENS, { seed: SEED });
        try {
          const result = await client.streamCompletion({ prompt: prompts[i], maxTokens: TOKENS }).final();
          const ids = result.ids;
          outcomes.push({
            exact: ids.length === expected.length && ids.every((id, k) => id === expected[k]),
            length: ids.length,
            resumes: result.stats.resumes,
            attempts: result.stats.attempts,
            moved: new Set(result.stats.endpoints.map((e) => e.url)).size > 1,
            durationMs: result.stats.durationMs,
            maxGapMs: result.stats.maxGapMs,
          });
        } catch (error) {
          outcomes.push({
            exact: false,
            error: `${error.code}: ${error.message}`,
            length: error.partial?.length ?? 0,
          });
        }
      }
    }),
  );
  running = false;
  await monkey;
  await sleep(450);
  await client.close();
  await c.close();
  const ok = outcomes.filter((o) => o.error === undefined);
  return {
    streams: STREAMS,
    tokens: TOKENS,
    kills,
    exact: outcomes.filter((o) => o.exact).length,
    failed: outcomes.length - ok.length,
    wrongLength: ok.filter((o) => o.length !== TOKENS).length,
    resumedStreams: ok.filter((o) => o.resumes > 0).length,
    movedStreams: ok.filter((o) => o.moved).length,
    attempts: ok.reduce((a, o) => a + o.attempts, 0),
    maxDurationMs: Math.max(...ok.map((o) => o.durationMs)),
    maxGapMs: Math.max(...ok.map((o) => o.maxGapMs)),
    errors: outcomes
      .filter((o) => o.error)
      .slice(0, 5)
      .map((o) => o.error),
  };
}

// ---- routing cost -----------------------------------------------------------------------

function routing() {
  const rows = [];
  for (const endpoints of [4, 16]) {
    const router = new Router(
      Array.from({ length: endpoints }, (_, i) => ({ url: `http://10.0.0.${i}:8000` })),
      { random: seeded(5) },
    );
    const random = seeded(6);
    const system = randomIds(512, random);
    // 1,000 prompts (a shared system prompt, then their own 512 ids), keyed once (see below).
    const prompts = Array.from({ length: 1_000 }, () => [...system, ...randomIds(512, random)]);
    const keys = prompts.map((p) => idPrefixKeys(p));
    const list = router.list();
    // 1,000 streams in flight, their prefixes remembered where they went.
    for (let i = 0; i < 1_000; i++) {
      const choice = router.pick({ keys: keys[i] }, 0);
      router.begin(choice.endpoint, keys[i], 0);
    }
    const N = 200_000;
    for (const withKeys of [false, true]) {
      for (let round = 0; round < 2; round++) {
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < N; i++) {
          const k = withKeys ? keys[i % 1_000] : undefined;
          const choice = router.pick({ keys: k }, 0);
          router.begin(choice.endpoint, undefined, 0);
          router.end(choice.endpoint, 'ok', 0);
        }
        const ns = Number(process.hrtime.bigint() - t0) / N;
        if (round === 1) rows.push({ endpoints, affinity: withKeys, usPerRequest: ns / 1000 });
      }
    }
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < 20_000; i++) idPrefixKeys(prompts[i % 1_000]);
    rows.push({
      endpoints,
      keysOf1024Ids: true,
      usPerRequest: Number(process.hrtime.bigint() - t0) / 20_000 / 1000,
    });
    if (list.length !== endpoints) throw new Error('router lost endpoints');
  }
  // What this machine does in the time: a bare loop of 1,024 multiply-xor steps (the
  // work of keying a 1,024-id prompt, without the function), for reading the rows above.
  const prompt = randomIds(1_024, seeded(9));
  let sink = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < 20_000; i++) {
    let h = 0x811c9dc5;
    for (let k = 0; k < prompt.length; k++) {
      h = Math.imul(h ^ prompt[k], 0x01000193);
      h ^= h >>> 15;
    }
    sink ^= h;
  }
  rows.push({ calibration: true, usPerRequest: Number(process.hrtime.bigint() - t0) / 20_000 / 1000, sink });
  return { inFlight: 1_000, rows };
}

// ---- CPU per token -----------------------------------------------------------------------

async function cpu() {
  const STREAMS = quick ? 100 : 200;
  const TOKENS = 500;
  const REPS = quick ? 2 : 5;
  const c = await cluster({ replicas: 4, dialect: 'vllm', seed: 7 });
  async function run(endpoints) {
    const client = new Client({
      ...(endpoints.length === 1 ? { baseUrl: endpoints[0] } : { endpoints }),
      dialect: 'vllm',
      failedRequestsDir: false,
      logger: quiet,
      maxConnections: 512,
    });
    const random = seeded(8);
    const prompts = Array.from({ length: STREAMS }, () => randomIds(16, random));
    const start = process.cpuUsage();
    const results = await Promise.all(
      prompts.map((prompt) => client.streamCompletion({ prompt, maxTokens: TOKENS }).final()),
    );
    const used = process.cpuUsage(start);
    await client.close();
    const tokens = results.reduce((a, r) => a + r.ids.length, 0);
    return ((used.user + used.system) * 1000) / tokens; // ns per token
  }
  const one = [];
  const four = [];
  await run(c.urls);
  await run([c.urls[0]]);
  for (let rep = 0; rep < REPS; rep++) {
    four.push(await run(c.urls));
    one.push(await run([c.urls[0]]));
  }
  await c.close();
  return {
    streams: STREAMS,
    tokens: TOKENS,
    reps: REPS,
    nsPerTokenOne: median(one),
    nsPerTokenFour: median(four),
    ratio: median(four) / median(one),
    one,
    four,
  };
}

// ---- report ------------------------------------------------------------------------------

const report = {
  quick,
  node: process.version,
  startedAt: new Date().toISOString(),
  loadAverage: os.loadavg(),
};
const pct = (x) => `${(x * 100).toFixed(1)}%`;
const lines = [
  `# Fleet benchmark${quick ? ' (--quick)' : ''}`,
  '',
  `Node ${process.version}, ${os.cpus().length} cores, load average at the start ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}.`,
  '',
];
for (const variant of ['affinity', 'samples']) {
  if (!only.includes(variant)) continue;
  const a = (report[variant] = await affinity(variant === 'affinity' ? 'sessions' : 'samples'));
  lines.push(
    variant === 'affinity'
      ? `## Cache affinity: 4 replicas, ${a.sessions} sessions × ${a.turns} turns, ${a.systemTokens}-token shared system prompt`
      : `## Cache affinity, samples: 4 replicas, ${a.sessions} sessions × ${a.turns} turns in groups of ${a.group} sharing their first turn, answers of ${a.out / 2}-${a.out + a.out / 2 - 1} tokens, ${a.systemTokens}-token shared system prompt`,
    '',
    '| routing | prefix-cache hit rate | of one-replica-per-session | requests per replica | in-flight per replica (time avg) | max/mean in-flight |',
    '|---|---|---|---|---|---|',
    ...a.rows.map(
      (r) =>
        `| ${r.mode} | ${pct(r.hitRate)} | ${pct(r.ofIdeal)} | ${r.requests.join(' / ')} | ${r.inFlightMeans.join(' / ')} | ${r.inFlightMaxOverMean.toFixed(2)} |`,
    ),
    '',
  );
}
if (only.includes('hetero')) {
  const h = (report.hetero = await hetero());
  lines.push(
    `## Heterogeneous replicas: replica ${h.slowReplica + 1} ${h.slowdown}× slower, ${h.workers} closed-loop workers, ${h.requests} requests`,
    '',
    '| policy | TTFT p50 (ms) | TTFT p99 (ms) | requests per replica |',
    '|---|---|---|---|',
    ...h.rows.map(
      (r) => `| ${r.policy} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.requests.join(' / ')} |`,
    ),
    '',
    `p99 round-robin / least-outstanding: ${(h.rows[1].p99 / h.rows[0].p99).toFixed(2)}×`,
    '',
  );
}
if (only.includes('hedge')) {
  const h = (report.hedge = await hedge());
  lines.push(
    `## Hedging: 4 replicas, replica 4 stalls ${h.stallMs} ms before the first token of every ${h.every}th request it gets; ${h.workers} closed-loop workers, ${h.requests} requests, least-outstanding`,
    '',
    '| hedge | TTFT p50 (ms) | TTFT p99 (ms) | TTFT max (ms) | extra requests | won by the hedge | requests per replica |',
    '|---|---|---|---|---|---|---|',
    ...h.rows.map(
      (r) =>
        `| ${r.hedge} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.max.toFixed(1)} | ${r.extraRequests} (${pct(r.extraRequests / h.requests)}) | ${r.hedgeWins} | ${r.requests.join(' / ')} |`,
    ),
    '',
    `p99 off / on: ${(h.rows[0].p99 / h.rows[1].p99).toFixed(2)}×`,
    '',
  );
}
if (only.includes('chaos')) {
  const x = (report.chaos = await chaos());
  lines.push(
    `## Chaos: ${x.streams} greedy streams of ${x.tokens} tokens over 4 replicas, ${x.kills} kills (each restarted 100-400 ms later)`,
    '',
    '| exact ids | failed | wrong length | resumed | moved endpoint | attempts | longest stream (ms) | longest gap (ms) |',
    '|---|---|---|---|---|---|---|---|',
    `| ${x.exact} / ${x.streams} | ${x.failed} | ${x.wrongLength} | ${x.resumedStreams} | ${x.movedStreams} | ${x.attempts} | ${x.maxDurationMs.toFixed(0)} | ${x.maxGapMs.toFixed(0)} |`,
    '',
    ...(x.errors.length > 0 ? ['First errors:', ...x.errors.map((e) => `- ${e}`), ''] : []),
  );
}
if (only.includes('routing')) {
  const r = (report.routing = routing());
  lines.push(
    `## Routing cost per request (pick + begin + end) at ${r.inFlight} streams in flight`,
    '',
    '| endpoints | what | µs per request |',
    '|---|---|---|',
    ...r.rows.map(
      (row) =>
        `| ${row.calibration ? '-' : row.endpoints} | ${row.calibration ? 'calibration: a bare loop of 1,024 multiply-xor steps' : row.keysOf1024Ids ? 'prefix keys of a 1,024-id prompt (once per request)' : row.affinity ? 'cache-aware (1,024-id prompt keys)' : 'least-outstanding, no keys'} | ${row.usPerRequest.toFixed(2)} |`,
    ),
    '',
  );
}
if (only.includes('cpu')) {
  const p = (report.cpu = await cpu());
  lines.push(
    `## Client CPU per token, ${p.streams} streams × ${p.tokens} tokens (median of ${p.reps})`,
    '',
    '| endpoints | ns CPU per token |',
    '|---|---|',
    `| 1 | ${p.nsPerTokenOne.toFixed(0)} |`,
    `| 4 | ${p.nsPerTokenFour.toFixed(0)} |`,
    '',
    `4 endpoints / 1: ${p.ratio.toFixed(3)}×`,
    '',
  );
}
const markdown = lines.join('\n');
console.log(markdown);
const dir = join(HERE, 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'fleet.md'), markdown);
writeFileSync(join(dir, 'fleet.json'), `${JSON.stringify(report, null, 2)}\n`);
console.error('wrote bench/results/fleet.md and fleet.json');
