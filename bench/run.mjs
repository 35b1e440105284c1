/**
 * `npm run bench`: starts the bench server in its own process, runs every
 * (scenario, client) pair several times, each in a fresh process (child.mjs),
 * and prints a markdown table (also written to bench/results/latest.md and
 * latest.json). Ratios are to the `raw` client: undici.request() +
 * eventsource-parser + JSON.parse, the smallest reasonable hand-written client.
 *
 *   node bench/run.mjs [--reps N] [--scenarios a,b] [--clients x,y] [--quick]
 *                      [--connections N] [--timeout SECONDS]
 */
import { execFileSync, fork } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const HERE = dirname(fileURLToPath(import.meta.url));
const ALL_CLIENTS = ['drain', 'raw', 'openai', 'aisdk', 'tokenwire'];
/** Clients that can take part when asked for with --clients (not in the default set). */
const EXTRA_CLIENTS = [
  'aisdk-chat',
  'tokenwire-defaults',
  'tokenwire-batches',
  'openai+tokenwire-fetch',
  'tokenwire-otel',
];
/** The 10k-stream scenario is only for clients that stay fast and small at that scale. */
const LEAN_CLIENTS = [
  'tokenwire',
  'tokenwire-defaults',
  'tokenwire-batches',
  'tokenwire-otel',
  'raw',
  'drain',
];

const SCENARIOS = {
  'single-bulk': { streams: 1, tokens: 20_000, mode: 'bulk', seed: 101, clients: null },
  'single-paced': { streams: 1, tokens: 2_000, mode: 'paced', seed: 102, clients: null },
  c1000: { streams: 1_000, tokens: 200, mode: 'bulk', seed: 103, clients: null },
  c10000: { streams: 10_000, tokens: 50, mode: 'bulk', seed: 104, clients: LEAN_CLIENTS },
};
/** --quick: same scenarios, smaller, for a ~20 s smoke run. */
const QUICK_SIZES = {
  'single-bulk': { tokens: 5_000 },
  'single-paced': { tokens: 300 },
  c1000: { streams: 200, tokens: 50 },
  c10000: { streams: 1_000, tokens: 20 },
};
/**
 * The warm-up runs the same scenario with about this many tokens in total: fewer
 * streams when there are many, a few sequential rounds when there is one, so
 * that the JIT has seen the hot path before the measured run.
 */
const WARMUP_TOKENS = 50_000;
/** At most this many warm-up rounds for bulk scenarios with many streams. */
const MAX_WARMUP_ROUNDS = 5;
/**
 * Warm-up rounds for paced streams. One was too few: the paths only a paced stream takes (an
 * event per chunk, a consumer always waiting) were still being optimised during the measured
 * run (tokenwire 43 vs raw 33 µs/token after one round, 33 vs 37 after three; a bulk warm-up
 * of the same stream did not help). Each round costs wall time, not CPU (~0.4 s).
 */
const PACED_WARMUP_ROUNDS = 3;
/** Warm-up rounds for single-stream bulk scenarios. */
const SINGLE_STREAM_WARMUP_ROUNDS = 8;
/** How long the server gets to report its port. */
const SERVER_START_MS = 10_000;

const { values: args } = parseArgs({
  options: {
    reps: { type: 'string' },
    scenarios: { type: 'string' },
    clients: { type: 'string' },
    quick: { type: 'boolean', default: false },
    connections: { type: 'string' },
    timeout: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  console.log(
    'usage: node bench/run.mjs [--reps N] [--scenarios a,b] [--clients x,y] [--quick] [--connections N] [--timeout S]\n' +
      `scenarios: ${[...Object.keys(SCENARIOS), 'fleet'].join(', ')}\nclients: ${[...ALL_CLIENTS, ...EXTRA_CLIENTS].join(', ')}`,
  );
  process.exit(0);
}

function positiveInt(name, text, fallback) {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    console.error(`--${name} must be a positive integer, got ${JSON.stringify(text)}`);
    process.exit(2);
  }
  return value;
}

function list(name, text, known, fallback) {
  if (text === undefined) return fallback;
  const items = text
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
  for (const item of items) {
    if (!known.includes(item)) {
      console.error(`--${name}: unknown ${JSON.stringify(item)}; known: ${known.join(', ')}`);
      process.exit(2);
    }
  }
  return items;
}

const quick = args.quick;
const reps = positiveInt('reps', args.reps, quick ? 1 : 5);
/**
 * `fleet` is its own benchmark (bench/fleet.mjs: one client over a simulated cluster),
 * run only when named: --scenarios fleet.
 */
const FLEET = 'fleet';
const requested = list(
  'scenarios',
  args.scenarios,
  [...Object.keys(SCENARIOS), FLEET],
  Object.keys(SCENARIOS),
);
if (requested.includes(FLEET)) {
  execFileSync(process.execPath, [join(HERE, 'fleet.mjs'), ...(args.quick ? ['--quick'] : [])], {
    stdio: 'inherit',
  });
  if (requested.length === 1) process.exit(0);
}
const scenarioNames = requested.filter((name) => name !== FLEET);
const clientNames = list('clients', args.clients, [...ALL_CLIENTS, ...EXTRA_CLIENTS], ALL_CLIENTS);
const connectionsOverride = positiveInt('connections', args.connections, undefined);
const childTimeoutMs = positiveInt('timeout', args.timeout, quick ? 30 : 120) * 1000;

function startServer() {
  const child = fork(join(HERE, 'server.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('bench server did not report its port in time'));
    }, SERVER_START_MS);
    child.once('message', (message) => {
      clearTimeout(timer);
      resolve({ child, port: message.port });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`bench server exited (${code}) before reporting its port`));
    });
  });
}

/** One measurement in a fresh process, killed after childTimeoutMs. */
function measure(job) {
  return new Promise((resolve) => {
    const child = fork(join(HERE, 'child.mjs'), [JSON.stringify(job)], {
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    let result;
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      if (stderr.length < 4096) stderr += chunk;
    });
    const timer = setTimeout(() => {
      result = { status: 'timeout', reason: `no result after ${childTimeoutMs / 1000} s` };
      child.kill('SIGKILL');
    }, childTimeoutMs);
    child.on('message', (message) => {
      result ??= message;
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(
        result ?? {
          status: 'failed',
          reason: `child exited (${signal ?? code}) without a result: ${stderr.trim().split('\n').slice(-2).join(' | ')}`,
        },
      );
    });
  });
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function summarize(runs) {
  const ok = runs.filter((run) => run.status === 'ok');
  const bad = runs.find((run) => run.status !== 'ok');
  if (bad) {
    const status =
      bad.status === 'unavailable' ? 'unavailable' : bad.status === 'timeout' ? 'TIMEOUT' : 'FAILED';
    return { status, reason: bad.reason, okReps: ok.length, reps: runs.length };
  }
  const pick = (key) => ok.map((run) => run[key]);
  const ttft = pick('ttftMs').filter((value) => value !== undefined);
  return {
    status: 'ok',
    okReps: ok.length,
    reps: runs.length,
    cpuUsPerToken: { median: median(pick('cpuUsPerToken')), best: Math.min(...pick('cpuUsPerToken')) },
    tokensPerSec: { median: median(pick('tokensPerSec')), best: Math.max(...pick('tokensPerSec')) },
    peakRssMb: {
      median: median(pick('peakRssOverBaselineMb')),
      best: Math.min(...pick('peakRssOverBaselineMb')),
    },
    ttftMs: ttft.length ? { median: median(ttft), best: Math.min(...ttft) } : undefined,
    wallMs: { median: median(pick('wallMs')) },
    // Every repetition as measured, in order: medians hide how much a figure varies (peak RSS
    // at 1,000 streams spans ±25% between repetitions of the same client).
    runs: ok.map((run) => ({
      cpuUsPerToken: run.cpuUsPerToken,
      peakRssOverBaselineMb: run.peakRssOverBaselineMb,
      ttftMs: run.ttftMs,
      youngGenerationNotResidentMb: run.youngGeneration?.notResidentBeforeMb,
    })),
  };
}

function fmt(value, digits = 2) {
  if (value === undefined || Number.isNaN(value)) return '–';
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  return value.toFixed(digits);
}

function ratio(value, base) {
  if (value === undefined || base === undefined || base <= 0) return '–';
  return `${(value / base).toFixed(2)}×`;
}

function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    memoryGb: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    date: new Date().toISOString(),
    commit: gitCommit(),
    versions: Object.fromEntries(
      ['undici', 'eventsource-parser', 'openai', 'ai', '@ai-sdk/openai-compatible'].map((name) => [
        name,
        packageVersion(name),
      ]),
    ),
  };
}

function gitCommit() {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: HERE, timeout: 5_000 });
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: HERE, timeout: 5_000 });
    return `${commit.toString().trim()}${dirty.length > 0 ? ' (src modified)' : ''}`;
  } catch {
    return 'unknown';
  }
}

function packageVersion(name) {
  try {
    return JSON.parse(readFileSync(join(HERE, '..', 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return 'missing';
  }
}

/** What each client is, for the header (the transports differ, and that is part of the result). */
const CLIENT_NOTES = {
  drain:
    'undici.request() on an Agent (connections = concurrency, pipelining 1), body bytes counted and dropped: the transport floor',
  raw: 'same transport + eventsource-parser createParser + JSON.parse per event, ids and text collected: the baseline of every ratio',
  openai:
    'openai completions.create({ stream: true }) with token-id prompt, over its default fetch (Node built-in undici, unlimited connections); ids read from the untyped choice.token_ids',
  'openai+tokenwire-fetch':
    "the same openai loop with fetch: createFetch({ dialect: 'vllm', failedRequestsDir: false }) from dist/fetch (retries and resume on): the stream read by tokenwire's engine and re-framed for openai",
  aisdk:
    'ai streamText + @ai-sdk/openai-compatible completionModel → POST /v1/completions (string prompt), textStream consumed, over global fetch; text only (no ids)',
  'aisdk-chat': 'same with chatModel → POST /v1/chat/completions (delta.content stream)',
  tokenwire:
    "tokenwire Client from dist/ (dialect 'vllm', retry off, failed-request capture off, maxConnections = concurrency), for-await over streamCompletion",
  'tokenwire-batches': 'same as tokenwire, consumed with for-await over stream.batches() (arrays of events)',
  'tokenwire-otel':
    'same as tokenwire with OpenTelemetry on: SDK tracer and meter providers passed as telemetry (span, events, the four GenAI histograms per call, one time_per_output_chunk point per body read that carried events), nothing exported',
  'tokenwire-defaults':
    'same with retries and failed-request capture on, as a new Client has them (capture keeps the last 16 KiB of raw bytes per stream)',
};

function table(report) {
  const lines = [];
  const m = report.machine;
  lines.push(`# tokenwire bench${report.quick ? ' (quick)' : ''}`);
  lines.push('');
  if (report.quick) {
    // Seen: tokenwire 1.4-2x raw in quick runs against 0.7-0.8x in full runs, before and after
    // the hot-path work. A 300-token paced stream after 3 warm-up rounds: raw 46-52, tokenwire
    // 76-99 µs/token; after 20 rounds: raw 24-26, tokenwire 22-24.
    lines.push(
      '> Quick run: small streams and short warm-ups, to check that the bench works. Its measured runs are short enough that code not yet optimized (and its compilation) weighs in, more for a client with more code: its ratios are not those of a full run (`npm run bench`).',
    );
    lines.push('');
  }
  lines.push(`- machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGb} GB, ${m.platform}`);
  lines.push(`- node ${m.node}, tokenwire ${m.commit}, ${m.date}`);
  lines.push(
    `- ${Object.entries(m.versions)
      .map(([name, version]) => `${name} ${version}`)
      .join(', ')}`,
  );
  lines.push(
    `- ${report.reps} reps per cell, each a fresh process after a warm-up; median (best). CPU = user+system of the client process during the work; RSS = peak over the baseline right before the work (the kernel's high-water mark where available, the young generation made resident before the baseline for every client); ratios are medians over raw's medians.`,
  );
  lines.push(
    '- every run checks its output against the generator (token count, ids where the client gives them, exact text, finish reason; drain: byte count); a run that fails is FAILED, not timed.',
  );
  lines.push('');
  lines.push('Clients:');
  lines.push('');
  for (const client of report.clients) lines.push(`- \`${client}\`: ${CLIENT_NOTES[client]}`);
  lines.push('');
  lines.push(
    '| scenario | client | CPU µs/token | ×raw CPU | tokens/s | peak RSS MB | ×raw RSS | TTFT ms | status |',
  );
  lines.push('|---|---|---:|---:|---:|---:|---:|---:|---|');
  for (const scenario of report.scenarios) {
    const base = scenario.results.raw?.status === 'ok' ? scenario.results.raw : undefined;
    const label = `${scenario.name} (${scenario.streams}×${scenario.tokens}, ${scenario.mode}, ${scenario.connections} conn)`;
    for (const [client, s] of Object.entries(scenario.results)) {
      if (s.status !== 'ok') {
        lines.push(
          `| ${label} | ${client} | | | | | | | ${s.status}: ${String(s.reason).replaceAll('|', '\\|')} |`,
        );
        continue;
      }
      lines.push(
        `| ${label} | ${client} | ${fmt(s.cpuUsPerToken.median)} (${fmt(s.cpuUsPerToken.best)}) | ${ratio(
          s.cpuUsPerToken.median,
          base?.cpuUsPerToken.median,
        )} | ${fmt(s.tokensPerSec.median, 0)} (${fmt(s.tokensPerSec.best, 0)}) | ${fmt(s.peakRssMb.median, 1)} | ${ratio(
          s.peakRssMb.median,
          base?.peakRssMb.median,
        )} | ${s.ttftMs ? `${fmt(s.ttftMs.median)} (${fmt(s.ttftMs.best)})` : '–'} | ok ${s.okReps}/${s.reps} |`,
      );
    }
  }
  lines.push('');
  if (report.scenarios.some((scenario) => scenario.name === 'c10000')) {
    lines.push(
      'c10000 runs only drain, raw and tokenwire: openai and the AI SDK are too slow and memory-hungry at that scale.',
    );
    lines.push('');
  }
  return lines.join('\n');
}

async function main() {
  const started = Date.now();
  if (!existsSync(join(HERE, '..', 'dist', 'index.js')) && clientNames.includes('tokenwire')) {
    console.error('note: dist/index.js is missing (run `npm run build`); tokenwire will be unavailable');
  }
  const { child: server, port } = await startServer();
  const report = { machine: machine(), quick, reps, clients: clientNames, scenarios: [] };
  try {
    for (const name of scenarioNames) {
      const scenario = { ...SCENARIOS[name], ...(quick ? QUICK_SIZES[name] : {}) };
      const clients = clientNames.filter((client) => !scenario.clients || scenario.clients.includes(client));
      const connections = connectionsOverride ?? scenario.streams;
      const warmupStreams = Math.min(
        scenario.streams,
        Math.max(1, Math.floor(WARMUP_TOKENS / scenario.tokens)),
      );
      // A single stream gives V8 few calls to optimise per round: warm it up longer, or the
      // row measures the warm-up (seen: 4.7 → 0.9 µs/token for tokenwire from 1 to 5 rounds).
      const warmupRounds =
        scenario.mode === 'paced'
          ? PACED_WARMUP_ROUNDS
          : scenario.streams === 1
            ? SINGLE_STREAM_WARMUP_ROUNDS
            : Math.min(MAX_WARMUP_ROUNDS, Math.ceil(WARMUP_TOKENS / (warmupStreams * scenario.tokens)));
      const runs = Object.fromEntries(clients.map((client) => [client, []]));
      const skip = new Set();
      // Interleave the clients within each repetition so that drift hits them all alike.
      for (let rep = 0; rep < reps; rep++) {
        for (const client of clients) {
          if (skip.has(client)) continue;
          const job = {
            client,
            port,
            mode: scenario.mode,
            seed: scenario.seed,
            streams: scenario.streams,
            tokens: scenario.tokens,
            warmupStreams,
            warmupRounds,
            connections,
          };
          const result = await measure(job);
          runs[client].push(result);
          const detail =
            result.status === 'ok'
              ? `${fmt(result.cpuUsPerToken)} µs/token, ${fmt(result.tokensPerSec, 0)} tok/s, +${fmt(result.peakRssOverBaselineMb, 1)} MB`
              : `${result.status}: ${result.reason}`;
          console.error(
            `[${((Date.now() - started) / 1000).toFixed(0)}s] ${name} ${client} rep ${rep + 1}/${reps}: ${detail}`,
          );
          // An unavailable client stays unavailable; a failed one is not timed again.
          if (result.status !== 'ok') skip.add(client);
        }
      }
      report.scenarios.push({
        name,
        streams: scenario.streams,
        tokens: scenario.tokens,
        mode: scenario.mode,
        seed: scenario.seed,
        connections,
        warmupStreams,
        warmupRounds,
        results: Object.fromEntries(clients.map((client) => [client, summarize(runs[client])])),
        runs,
      });
    }
  } finally {
    server.kill('SIGTERM');
  }
  report.elapsedSeconds = Math.round((Date.now() - started) / 100) / 10;
  const markdown = `${table(report)}\ntotal bench time: ${report.elapsedSeconds} s\n`;
  console.log(markdown);
  const resultsDir = join(HERE, 'results');
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, 'latest.md'), markdown);
  writeFileSync(join(resultsDir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  console.error(`wrote ${join('bench', 'results', 'latest.md')} and latest.json`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
