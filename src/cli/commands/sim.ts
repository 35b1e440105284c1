/** `tokenwire sim`: run the fault-injecting simulator until Ctrl-C. */

import { type SimDialect, startSimulator } from '../../sim/index.js';
import { DIALECTS } from '../../sim/request.js';
import { bool, type FlagSpec, int, list, parse, str } from '../args.js';
import type { Command } from '../command.js';
import { EXIT, UsageError } from '../exit-codes.js';
import { SIM_FAULTS_HELP } from '../sim-faults.js';

const FLAGS: FlagSpec = {
  port: { type: 'string', short: 'p' },
  host: { type: 'string' },
  dialect: { type: 'string' },
  fault: { type: 'string', multiple: true },
  seed: { type: 'string' },
  'token-delay': { type: 'string' },
  'eos-after': { type: 'string' },
  'ids-per-chunk': { type: 'string' },
  model: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
};

const HELP = `Usage: tokenwire sim [--port N] [--dialect NAME] [--fault SPEC]... [options]

Runs tokenwire's OpenAI-compatible simulator on loopback: a deterministic toy
model behind the wire shapes of real servers, with faults on demand. Prints its
URL on stdout, one line per finished request on stderr, and runs until Ctrl-C
or SIGTERM (then prints how often each fault fired).

  --port N, -p N      port (default 0: a free one, printed)
  --host HOST         127.0.0.1 (default), ::1 or localhost; nothing else
  --dialect NAME      ${DIALECTS.join(', ')} (default vllm; a request can pick another
                      with the x-sim-dialect header)
  --fault SPEC        a fault for every request (repeatable; see below)
  --seed N            generator seed (default 0; x-sim-seed per request)
  --token-delay MS    pause between tokens (default 0: as fast as possible)
  --eos-after N       end with EOS (finish 'stop') after N tokens
  --ids-per-chunk N   ids per chunk where the dialect batches (default 1)
  --model NAME        model name it reports (default sim-model)
  --quiet, -q         no per-request lines

${SIM_FAULTS_HELP}

Exit codes: 0 stopped by Ctrl-C or SIGTERM, 2 invalid option or fault.

Examples:
  tokenwire sim --port 8000
  tokenwire sim --dialect llamacpp --token-delay 20
  tokenwire sim --fault reset-after:12:once --fault stall-first-token:500
  tokenwire sim --fault status:429:retry-after=1`;

async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, FLAGS);
  const dialect = str(values, 'dialect');
  if (dialect !== undefined && !(DIALECTS as readonly string[]).includes(dialect)) {
    throw new UsageError(
      `invalid value for --dialect: ${JSON.stringify(dialect)} (expected one of ${DIALECTS.join(', ')})`,
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
  let simulator: Awaited<ReturnType<typeof startSimulator>>;
  try {
    simulator = await startSimulator({
      host,
      port: int(values, 'port', 0),
      dialect: dialect as SimDialect | undefined,
      faults: faults === '' ? undefined : faults,
      seed: int(values, 'seed', 0),
      tokenDelayMs: int(values, 'token-delay', 0),
      eosAfter: int(values, 'eos-after', 0),
      idsPerChunk: int(values, 'ids-per-chunk', 1),
      model: str(values, 'model'),
      log: quiet ? undefined : (line) => process.stderr.write(`${line}\n`),
    });
  } catch (error) {
    const message = (error as Error).message;
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new UsageError(`--port ${str(values, 'port')} is in use (${message})`);
    }
    // Option and fault-syntax errors of the simulator are usage errors.
    if ((error as Error).name === 'FaultSyntaxError') throw new UsageError(`invalid --fault: ${message}`);
    throw new UsageError(message.replace(/^startSimulator: /, ''));
  }
  process.stdout.write(`${simulator.url}\n`);
  if (!quiet) {
    process.stderr.write(
      `tokenwire: simulator (${dialect ?? 'vllm'}${faults === '' ? '' : `, faults ${faults}`}) on ${simulator.url}; Ctrl-C stops it\n`,
    );
  }
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  const report = simulator.report();
  await simulator.close();
  if (!quiet) {
    const fired = Object.entries(report.faultsFired).map(([name, count]) => `${name}×${count}`);
    process.stderr.write(
      `tokenwire: simulator stopped (${signal}): ${report.requests.length} requests${fired.length > 0 ? `, faults fired: ${fired.join(', ')}` : ''}\n`,
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
