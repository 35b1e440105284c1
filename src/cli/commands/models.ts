/** `tokenwire models`: the server's models (GET /v1/models). */
import { bool, CLIENT_FLAGS, CLIENT_FLAGS_HELP, parse } from '../args.js';
import type { Command } from '../command.js';
import { EXIT_CODES_HELP } from '../exit-codes.js';
import { quickClient } from './tokenize.js';

const HELP = `Usage: tokenwire models [--json] [options]

Lists the server's models (GET /v1/models): one per line, the id, then the
context length and owner when the server says them, and the dialect tokenwire
detected for this server on stderr.

  --json    print the server's model objects as a JSON array

${CLIENT_FLAGS_HELP}

${EXIT_CODES_HELP}

Examples:
  tokenwire models --base-url http://127.0.0.1:8000
  tokenwire models --json | jq '.[].id'`;

async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, { ...CLIENT_FLAGS, json: { type: 'boolean' } });
  const client = quickClient(values);
  try {
    const list = await client.models();
    if (bool(values, 'json')) {
      process.stdout.write(`${JSON.stringify(list.map((model) => model.raw))}\n`);
      return 0;
    }
    for (const model of list) {
      const extra = [
        model.maxModelLen === undefined ? '' : `context ${model.maxModelLen}`,
        model.ownedBy === undefined ? '' : `owned by ${model.ownedBy}`,
      ].filter((part) => part !== '');
      process.stdout.write(`${model.id}${extra.length > 0 ? `\t${extra.join(', ')}` : ''}\n`);
    }
    process.stderr.write(`tokenwire: dialect ${await client.dialect()} (${client.baseUrl})\n`);
    return 0;
  } finally {
    await client.close();
  }
}

export const models: Command = {
  name: 'models',
  summary: "list the server's models",
  help: HELP,
  run,
};
