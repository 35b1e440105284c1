/** `tokenwire detokenize`: the text of token ids, from the server's own detokenizer. */
import { CLIENT_FLAGS, CLIENT_FLAGS_HELP, parse, parseIds } from '../args.js';
import type { Command } from '../command.js';
import { EXIT_CODES_HELP, UsageError } from '../exit-codes.js';
import { readStdin } from '../input.js';
import { quickClient } from './tokenize.js';

const HELP = `Usage: tokenwire detokenize IDS [options]

Prints the text of token ids (1,2,3, '1 2 3' or [1,2,3]; standard input when
none are given) from the server's own detokenizer, exactly, with no newline
added when stdout is not a terminal. Servers without the endpoint exit with 7.

${CLIENT_FLAGS_HELP}

${EXIT_CODES_HELP}

Examples:
  tokenwire detokenize --base-url http://127.0.0.1:8000 9906,1917
  tokenwire tokenize 'Hello world' | tokenwire detokenize`;

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, CLIENT_FLAGS, true);
  const client = quickClient(values);
  try {
    const input = positionals.length > 0 ? positionals.join(',') : await readStdin('ids');
    const ids = parseIds(input);
    if (ids === undefined) {
      throw new UsageError(`invalid token ids: ${JSON.stringify(input.slice(0, 80))} (expected e.g. 1,2,3)`);
    }
    const text = await client.detokenize(ids);
    process.stdout.write(process.stdout.isTTY ? `${text}\n` : text);
    return 0;
  } finally {
    await client.close();
  }
}

export const detokenize: Command = {
  name: 'detokenize',
  summary: "text of token ids, from the server's detokenizer",
  help: HELP,
  run,
};
