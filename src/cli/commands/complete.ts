/** `tokenwire complete`: stream a completion for a text or token-id prompt. */
import { Client, type CompletionEvent } from '../../index.js';
import {
  bool,
  CLIENT_FLAGS,
  CLIENT_FLAGS_HELP,
  clientOptions,
  debugOn,
  ids,
  parse,
  parseIds,
  str,
} from '../args.js';
import type { Command } from '../command.js';
import { EXIT_CODES_HELP, UsageError } from '../exit-codes.js';
import {
  GENERATION_FLAGS,
  GENERATION_FLAGS_HELP,
  generationRequest,
  idsLine,
  streamOutput,
} from '../generation.js';
import { readStdin } from '../input.js';
import { countTokens, doneSummary, statusText } from '../report.js';
import { cliLogger, runStream } from '../run-stream.js';

const FLAGS = {
  ...CLIENT_FLAGS,
  ...GENERATION_FLAGS,
  prompt: { type: 'string' },
  tokens: { type: 'string' },
  native: { type: 'boolean' },
} as const;

const HELP = `Usage: tokenwire complete [--prompt TEXT | --tokens IDS] [options]

Streams a completion (POST /v1/completions) and prints the text as it arrives.
The prompt is --prompt TEXT, --tokens 1,2,3 (token ids), or standard input:
ids when it looks like 1,2,3 or [1,2,3], else the text exactly as read.

  --prompt TEXT        text prompt
  --tokens IDS         token-id prompt, e.g. 1,2,3 or [1,2,3]
  --native             llama.cpp: use the native /completion endpoint

${GENERATION_FLAGS_HELP}

While it runs, a terminal stderr shows a status line (elapsed, time to first
token, tokens, tokens/s); at the end one summary line on stderr:
  tokenwire: done: length, 64 tokens in 1.20 s (53.3 tok/s, first token 80 ms), 1 attempt, 0 resumes
(then ", 32 of 40 prompt tokens cached" when the server said how many were cached)

--json prints one line per event on stdout:
  {"type":"token","id":17371,"text":" the"}          (+ "logprob" when sent; id null without ids)
  {"type":"done","finishReason":"length","usage":{...},"stats":{...},"responseId":"cmpl-...","model":"..."}
                          (responseId / model: the server's, when it sent them; usage has
                          "cachedPromptTokens" when the server said; + "tokenIds" when ids
                          came only at the end)
  {"type":"error","code":"idle_timeout","message":"...","partial":12}   (last line on failure)

${CLIENT_FLAGS_HELP}

${EXIT_CODES_HELP}

Examples:
  tokenwire complete --base-url http://127.0.0.1:8000 --prompt 'Once upon a time' --max-tokens 32
  tokenwire complete --tokens 1,15043,3186 --max-tokens 16 --ids
  echo '[1, 15043, 3186]' | tokenwire complete --json --temperature 0
  tokenwire complete --prompt 'Hi' --idle-timeout 5000 --retries 5 --no-capture`;

async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, FLAGS);
  const generation = generationRequest(values);
  const text = str(values, 'prompt');
  const tokenIds = ids(values, 'tokens');
  if (text !== undefined && tokenIds !== undefined) {
    throw new UsageError('--prompt and --tokens cannot be used together');
  }
  const output = streamOutput(values);
  const client = new Client(clientOptions(values, cliLogger(output, debugOn(values))));
  try {
    let prompt: string | number[] | undefined = tokenIds ?? text;
    if (prompt === undefined) {
      const input = await readStdin('prompt');
      prompt = parseIds(input) ?? input;
    }
    const { live, progress, json, quiet } = output;
    const showIds = bool(values, 'ids');
    const received: (number | undefined)[] = [];
    let endsWithNewline = true;
    live.startStatus(() => statusText(progress));
    return await runStream<CompletionEvent>(
      output,
      () =>
        client.streamCompletion({
          ...generation,
          prompt: prompt as string | number[],
          native: bool(values, 'native') ? true : undefined,
        }),
      (event) => {
        if (event.type === 'token') {
          countTokens(progress, 1);
          received.push(event.id);
          if (json) {
            const line: Record<string, unknown> = { type: 'token', id: event.id ?? null, text: event.text };
            if (event.logprob !== undefined) line.logprob = event.logprob;
            process.stdout.write(`${JSON.stringify(line)}\n`);
          } else {
            live.write('stdout', event.text);
            if (event.text !== '') endsWithNewline = event.text.endsWith('\n');
          }
          return;
        }
        live.finish();
        const liveIds = received.length > 0 && received.every((id) => id !== undefined);
        if (json) {
          const line: Record<string, unknown> = {
            type: 'done',
            finishReason: event.finishReason,
            usage: event.usage,
            stats: event.stats,
          };
          if (event.responseId !== undefined) line.responseId = event.responseId;
          if (event.model !== undefined) line.model = event.model;
          if (!liveIds && event.tokenIds !== undefined) line.tokenIds = event.tokenIds;
          process.stdout.write(`${JSON.stringify(line)}\n`);
          return;
        }
        if (showIds) {
          if (!endsWithNewline && !process.stdout.isTTY) process.stdout.write('\n');
          process.stdout.write(`${idsLine(event.tokenIds ?? received)}\n`);
        }
        if (!quiet) {
          process.stderr.write(
            `${doneSummary(event.finishReason, event.stats.tokens, event.stats, event.usage)}\n`,
          );
        }
      },
    );
  } finally {
    await client.close();
  }
}

export const complete: Command = {
  name: 'complete',
  summary: 'stream a completion for a text or token-id prompt',
  help: HELP,
  otel: true,
  run,
};
