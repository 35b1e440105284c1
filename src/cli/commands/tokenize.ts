/** `tokenwire tokenize`: token ids of a text, from the server's own tokenizer. */
import { Client } from '../../index.js';
import { bool, CLIENT_FLAGS, CLIENT_FLAGS_HELP, clientOptions, debugOn, parse } from '../args.js';
import type { Command } from '../command.js';
import { EXIT_CODES_HELP } from '../exit-codes.js';
import { readStdin } from '../input.js';
import { LiveOutput } from '../live.js';
import { newProgress } from '../report.js';
import { cliLogger } from '../run-stream.js';

const HELP = `Usage: tokenwire tokenize [TEXT] [--json] [options]

Prints the token ids of TEXT (or of standard input, exactly as read) from the
server's own tokenizer (vLLM/SGLang POST /tokenize, llama.cpp POST /tokenize),
comma-separated: the format --tokens and 'tokenwire detokenize' accept.
Servers without a tokenizer endpoint (OpenAI, OpenRouter, ...) exit with 7.

  --json    print a JSON array instead

${CLIENT_FLAGS_HELP}

${EXIT_CODES_HELP}

Examples:
  tokenwire tokenize --base-url http://127.0.0.1:8000 'Hello world'
  printf 'Hello world' | tokenwire tokenize --json
  tokenwire complete --tokens "$(tokenwire tokenize 'Once upon')" --max-tokens 8`;

/** A client whose anomaly lines go to stderr (no status line for one quick request). */
export function quickClient(values: Parameters<typeof clientOptions>[0]): Client {
  const live = new LiveOutput({ status: false, notes: true });
  return new Client(clientOptions(values, cliLogger({ live, progress: newProgress() }, debugOn(values))));
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...CLIENT_FLAGS, json: { type: 'boolean' } }, true);
  const client = quickClient(values);
  try {
    const text = positionals.length > 0 ? positionals.join(' ') : await readStdin('text');
    const ids = await client.tokenize(text);
    process.stdout.write(`${bool(values, 'json') ? JSON.stringify(ids) : ids.join(',')}\n`);
    return 0;
  } finally {
    await client.close();
  }
}

export const tokenize: Command = {
  name: 'tokenize',
  summary: "token ids of a text, from the server's tokenizer",
  help: HELP,
  run,
};
