/** `tokenwire sim`: run the fault-injecting simulator until Ctrl-C. */

import { type SimDialect, type SimReport, startCluster, startSimulator } from '../../sim/index.js';
import { SIM_WIRES } from '../../sim/versions.js';
import { bool, type FlagSpec, int, list, parse, str } from '../args.js';
import type { Command } from '../command.js';
import { EXIT, UsageError } from '../exit-codes.js';
import { type StopSignal, watchStopSignals } from '../signals.js';
import { SIM_FAULTS_HELP, SIM_HEADERS_HELP } from '../sim-faults.js';

const FLAGS: FlagSpec = {
  port: { type: 'string', short: 'p' },
  host: { type: 'string' },
  dialect: { type: 'string' },
  fault: { type: 'string', multiple: true },
  seed: { type: 'string' },
  'token-delay': { type: 'string' },
  'eos-after': { type: 'string' },
  'ids-per-chunk': { type: 'string' },
  'max-model-len': { type: 'string' },
  'priority-scheduling': { type: 'boolean' },
  model: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  replicas: { type: 'string' },
};

const HELP = `Usage: tokenwire sim [--port N] [--dialect NAME] [--fault SPEC]... [options]

Runs tokenwire's OpenAI-compatible simulator on loopback: a deterministic toy
model behind the wire shapes of real servers, with faults on demand. Prints its
URL on stdout, one line per finished request on stderr, and runs until Ctrl-C
or SIGTERM (then prints how often each fault fired). GET /sim/report returns
what it saw as JSON (requests, faults fired, sockets).

  --port N, -p N      port (default 0: a free one, printed)
  --host HOST         127.0.0.1 (default), ::1 or localhost; nothing else
  --dialect NAME      vllm (default), sglang, llamacpp, openai, openrouter, together, fireworks,
                      or a server version from the wire-facts table (docs/servers.md)
                      to emulate: ${SIM_WIRES.filter((name) => name.includes('@')).join(', ')}
                      (vllm is vllm@0.11, sglang is sglang@0.5, llamacpp is llamacpp@2026)
                      (a request can pick another with the x-sim-dialect header)
  --priority-scheduling
                      vLLM runs with --scheduling-policy priority (without it a
                      non-zero priority is vLLM's 400)
  --fault SPEC        a fault for every request (repeatable; see below)
  --seed N            generator seed (default 0; x-sim-seed per request)
  --token-delay MS    pause between tokens (default 0: as fast as possible)
  --eos-after N       end with EOS (finish 'stop') after N tokens
  --ids-per-chunk N   ids per chunk where the dialect batches (default 1)
  --model NAME        model name it serves (default sim-model; vLLM answers
                      another name with 404)
  --max-model-len N   context length (default 1048576): vLLM refuses prompt +
                      max_tokens past it (400), the others stop there
  --quiet, -q         no per-request lines
  --replicas N        run N replicas (1-64) of the same model, each with its own
                      prefix cache (usage.prompt_tokens_details.cached_tokens) and
                      load; prints N URLs, one per line (ports follow --port)

${SIM_HEADERS_HELP}

${SIM_FAULTS_HELP}

Exit codes: 0 stopped by Ctrl-C or SIGTERM, 2 invalid option or fault.

Examples:
  tokenwire sim --port 8000
  tokenwire sim --dialect llamacpp --token-delay 20
  tokenwire sim --dialect llamacpp@2026
  tokenwire sim --fault reset-after:12:once --fault stall-first-token:500
  tokenwire sim --fault status:429:retry-after=1
  tokenwire sim --replicas 4 --token-delay 5`;

async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, FLAGS);
  const dialect = str(values, 'dialect');
  if (dialect !== undefined && !SIM_WIRES.includes(dialect)) {
    throw new UsageError(
      `invalid value for --dialect: ${JSON.stringify(dialect)} (expected one of ${SIM_WIRES.join(', ')})`,
    );
  }
  const host = str(values, 'host');
  if (host !== undefined && !['127.0.0.1', '::1', 'localhost'].includes(host)) {
    throw new UsageError(
      `invalid value for --host: ${JSON.stringify(host)} (expected 127.0.0.1, ::1 or localhost)`,
    );
  }
  const quiet = bool(values, 'quiet');
  const faults = list(values, 'fault').join(',');
  const replicas = int(values, 'replicas', 1) ?? 1;
  if (replicas < 1 || replicas > 64) {
    throw new UsageError(`invalid value for --replicas: ${replicas} (expected an integer from 1 to 64)`);
  }
  const common = {
    host,
    dialect: dialect as SimDialect | undefined,
    faults: faults === '' ? undefined : faults,
    seed: int(values, 'seed', 0),
    tokenDelayMs: int(values, 'token-delay', 0),
    eosAfter: int(values, 'eos-after', 0),
    idsPerChunk: int(values, 'ids-per-chunk', 1),
    maxModelLen: int(values, 'max-model-len', 1),
    priorityScheduling: bool(values, 'priority-scheduling'),
    model: str(values, 'model'),
    log: quiet ? undefined : (line: string) => process.stderr.write(`${line}\n`),
  };
  let servers: { urls: readonly string[]; report(): SimReport[]; close(): Promise<void> };
  // Watched from before the servers start, so that a signal while they start stops them too.
  let stop: (signal: StopSignal) => void = () => {};
  const stopped = new Promise<StopSignal>((resolve) => {
    stop = resolve;
  });
  const signals = watchStopSignals((signal) => stop(signal));
  try {
    if (str(values, 'replicas') === undefined) {
      const simulator = await startSimulator({ ...common, port: int(values, 'port', 0) });
      servers = { urls: [simulator.url], report: () => [simulator.report()], close: () => simulator.close() };
    } else {
      const cluster = await startCluster({ ...common, replicas, basePort: int(values, 'port', 0) });
      servers = {
        urls: cluster.urls,
        report: () => cluster.replicas.map((r) => r.report()),
        close: () => cluster.close(),
      };
    }
  } catch (error) {
    signals.dispose();
    const message = (error as Error).message;
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new UsageError(`--port ${str(values, 'port')} is in use (${message})`);
    }
    // Option and fault-syntax errors of the simulator are usage errors.
    if ((error as Error).name === 'FaultSyntaxError') throw new UsageError(`invalid --fault: ${message}`);
    throw new UsageError(message.replace(/^start(Simulator|Cluster): /, ''));
  }
  for (const url of servers.urls) process.stdout.write(`${url}\n`);
  if (!quiet) {
    const what = servers.urls.length > 1 ? `${servers.urls.length} simulator replicas` : 'simulator';
    process.stderr.write(
      `tokenwire: ${what} (${dialect ?? 'vllm'}, model ${str(values, 'model') ?? 'sim-model'}${faults === '' ? '' : `, faults ${faults}`}) on ${servers.urls.join(', ')}; Ctrl-C stops it\n`,
    );
  }
  const signal = await stopped;
  const reports = servers.report();
  await servers.close();
  signals.dispose();
  if (!quiet) {
    const faultsFired: Record<string, number> = {};
    let requests = 0;
    for (const report of reports) {
      requests += report.requests.length;
      for (const [name, count] of Object.entries(report.faultsFired)) {
        faultsFired[name] = (faultsFired[name] ?? 0) + count;
      }
    }
    const fired = Object.entries(faultsFired).map(([name, count]) => `${name}×${count}`);
    process.stderr.write(
      `tokenwire: simulator stopped (${signal}): ${requests} requests${fired.length > 0 ? `, faults fired: ${fired.join(', ')}` : ''}\n`,
    );
  }
  return EXIT.ok;
}

export const sim: Command = {
  name: 'sim',
  summary: 'run the fault-injecting simulator (OpenAI-compatible, loopback)',
  help: HELP,
  run,
};
