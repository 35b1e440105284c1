#!/usr/bin/env node
/**
 * The tokenwire command line: one command per file under `commands/`, over the
 * library. This file only dispatches, prints help and maps failures to exit codes.
 */
import { VERSION } from '../version.js';
import type { Command } from './command.js';
import { chat } from './commands/chat.js';
import { complete } from './commands/complete.js';
import { demo } from './commands/demo.js';
import { detokenize } from './commands/detokenize.js';
import { models } from './commands/models.js';
import { doctor, probe } from './commands/probe.js';
import { replay } from './commands/replay.js';
import { sim } from './commands/sim.js';
import { tokenize } from './commands/tokenize.js';
import { EXIT, EXIT_CODES_HELP, exitCodeFor } from './exit-codes.js';
import { otelWanted, startOtel } from './otel.js';
import { errorLines } from './report.js';

const COMMANDS: Command[] = [complete, chat, tokenize, detokenize, models, probe, doctor, replay, sim, demo];

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length));
  const lines = COMMANDS.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`);
  return `Usage: tokenwire <command> [options]

tokenwire ${VERSION}: a client for OpenAI-compatible LLM servers that works with
token ids, streams, and never lies about how a stream ended.

Commands:
${lines.join('\n')}

Run 'tokenwire <command> --help' for a command's options and examples.
  --version, -v   print the version
  --help, -h      print this help

${EXIT_CODES_HELP}

Examples:
  tokenwire demo
  tokenwire sim --port 8000 --fault reset-after:12:once
  tokenwire complete --base-url http://127.0.0.1:8000 --prompt 'Hello' --max-tokens 16
  tokenwire probe --base-url http://127.0.0.1:8000
  TOKENWIRE_BASE_URL=http://127.0.0.1:8000 tokenwire chat --message 'Hi'`;
}

/** `--help`/`-h` anywhere before a `--` asks for help. */
function wantsHelp(argv: string[]): boolean {
  for (const arg of argv) {
    if (arg === '--') return false;
    if (arg === '--help' || arg === '-h') return true;
  }
  return false;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? COMMANDS.find((command) => command.name === rest[0]) : undefined;
    process.stdout.write(`${topic ? topic.help : mainHelp()}\n`);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${VERSION}\n`);
    return EXIT.ok;
  }
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (!command) {
    process.stderr.write(
      `tokenwire: unknown command ${JSON.stringify(name)} (commands: ${COMMANDS.map((c) => c.name).join(', ')}; see tokenwire --help)\n`,
    );
    return EXIT.usage;
  }
  if (wantsHelp(rest)) {
    process.stdout.write(`${command.help}\n`);
    return EXIT.ok;
  }
  let stopOtel: (() => Promise<void>) | undefined;
  try {
    const otel = command.otel ? otelWanted(rest, process.env) : undefined;
    if (otel !== undefined) {
      try {
        stopOtel = await startOtel();
      } catch (error) {
        // Asked for by the environment only: the command still runs, without export.
        if (otel === 'flag') throw error;
        process.stderr.write(`tokenwire: OTLP export off: ${(error as Error).message}\n`);
      }
    }
    return await command.run(rest);
  } catch (error) {
    for (const line of errorLines(error)) process.stderr.write(`${line}\n`);
    const code = exitCodeFor(error);
    if (code === EXIT.usage) process.stderr.write(`tokenwire: see tokenwire ${command.name} --help\n`);
    return code;
  } finally {
    // Spans and metrics are sent before the process ends.
    await stopOtel?.();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`tokenwire: unexpected error: ${String(error)}\n`);
    process.exitCode = EXIT.unexpected;
  },
);
