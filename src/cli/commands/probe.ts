/** `tokenwire probe` (alias `doctor`): what a server does, beside the wire-facts table. */
import { probeServer } from '../../index.js';
import { bool, CLIENT_FLAGS, CLIENT_FLAGS_HELP, clientOptions, debugOn, int, parse } from '../args.js';
import type { Command } from '../command.js';
import { EXIT, EXIT_CODES_HELP, UsageError } from '../exit-codes.js';
import { LiveOutput } from '../live.js';
import { probeLines } from '../probe-format.js';
import { newProgress } from '../report.js';
import { cliLogger } from '../run-stream.js';

const HELP = `Usage: tokenwire probe --base-url URL [--model NAME] [--json] [options]
       tokenwire doctor ...   (the same)

Sends one tiny request of each kind (2-4 tokens) to the server and prints what
it actually does, beside what tokenwire's wire-facts table (docs/servers.md)
says the detected server version does:
  detection.versionPath     which info endpoint gave the version
  tokenize.endpoints        tokenize + detokenize of a short text
  completions.* / chat.*    stream, ids (live / at the end / none), promptIds
                            (prompt ids echoed), usage.includeUsage and
                            usage.withoutIncludeUsage (usage sent by the server
                            with and without stream_options.include_usage),
                            logprobs, priority (accepted, or refused with the
                            server's message), resume (a continuation accepted),
                            chat.roleChunk, chat.reasoningField
Each line is ok (as the table says), DISAGREE (the server does otherwise:
please report it) or - (not compared, with the reason). No retries, no
resume, nothing saved; the API key is never printed.

  --json                 print the report as one JSON object
  --request-timeout MS   deadline of each request (default 10000)
  --max-tokens N         tokens per generation (default 3; 2-16)

${CLIENT_FLAGS_HELP}

${EXIT_CODES_HELP}

Examples:
  tokenwire probe --base-url http://127.0.0.1:8000 --model my-model
  tokenwire probe --base-url http://127.0.0.1:8000 --json | jq '.checks[] | select(.status == "disagree")'`;

async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    ...CLIENT_FLAGS,
    json: { type: 'boolean' },
    'request-timeout': { type: 'string' },
    'max-tokens': { type: 'string' },
  });
  for (const flag of ['retries', 'no-retry', 'capture-dir']) {
    if (values[flag] !== undefined) {
      throw new UsageError(
        `--${flag} does not apply to probe (it sends each request once and saves nothing)`,
      );
    }
  }
  const live = new LiveOutput({ status: false, notes: true });
  const options = clientOptions(values, cliLogger({ live, progress: newProgress() }, debugOn(values)));
  if (options.endpoints !== undefined) {
    throw new UsageError('probe takes one server: pass a single --base-url (probe each replica on its own)');
  }
  const { endpoints: _e, retry: _r, failedRequestsDir: _f, ...rest } = options;
  const report = await probeServer({
    ...rest,
    requestTimeoutMs: int(values, 'request-timeout', 1),
    maxTokens: int(values, 'max-tokens', 2),
  });
  if (bool(values, 'json')) process.stdout.write(`${JSON.stringify(report)}\n`);
  else process.stdout.write(`${probeLines(report).join('\n')}\n`);
  return report.disagreements === 0 ? EXIT.ok : EXIT.disagreement;
}

export const probe: Command = {
  name: 'probe',
  summary: 'what a server does, compared with the wire-facts table',
  help: HELP,
  run,
};

/** `tokenwire doctor`: the same command under the name some look for. */
export const doctor: Command = { ...probe, name: 'doctor', summary: 'same as probe' };
