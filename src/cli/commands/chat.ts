/** `tokenwire chat`: stream a chat completion (text, reasoning, tool calls). */
import { readFile } from 'node:fs/promises';
import { type ChatEvent, type ChatMessage, Client } from '../../index.js';
import {
  bool,
  CLIENT_FLAGS,
  CLIENT_FLAGS_HELP,
  clientOptions,
  debugOn,
  type FlagValues,
  parse,
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
import { colorOn, paint } from '../live.js';
import { countTokens, doneSummary, PREFIX, statusText } from '../report.js';
import { cliLogger, runStream } from '../run-stream.js';

const FLAGS = {
  ...CLIENT_FLAGS,
  ...GENERATION_FLAGS,
  message: { type: 'string' },
  system: { type: 'string' },
  messages: { type: 'string' },
  tools: { type: 'string' },
  'no-reasoning': { type: 'boolean' },
} as const;

const HELP = `Usage: tokenwire chat [--message TEXT] [--system TEXT] [--messages FILE.json] [options]

Streams a chat completion (POST /v1/chat/completions). The conversation is
--messages FILE.json (an array of {role, content}, or {"messages": [...]}),
then --system (put first), then --message as the user's turn. With neither
--message nor --messages, standard input is the user's message.

  --message TEXT       the user's message
  --system TEXT        a system message
  --messages FILE      a JSON file of messages
  --tools FILE         a JSON file of OpenAI-style tool definitions
  --no-reasoning       do not show reasoning

The answer goes to stdout as it arrives. Reasoning ("thinking") goes to stderr,
so stdout stays the answer alone: dimmed on a terminal; otherwise after a
'tokenwire: reasoning:' line, ended by a newline. Tool calls are printed on
stdout after the text, one line each:
  [tool_call 0 get_weather id=call_0] {"city":"Paris"}

${GENERATION_FLAGS_HELP}

--json prints one line per event on stdout:
  {"type":"text","text":"Hel","ids":[9906]}   {"type":"reasoning","text":"..."}
  {"type":"tool_call","call":{"index":0,"id":"call_0","name":"get_weather","arguments":"...","parsedArguments":{...}}}
  {"type":"done","finishReason":"stop","usage":{...},"stats":{...},"message":{...},"tokenIds":[...],
   "responseId":"chatcmpl-...","model":"..."}   (the server's id and model, when it sent them;
                                                 usage has "cachedPromptTokens" when the server said)
  {"type":"error","code":"...","message":"...","partial":N}   (last line on failure)

${CLIENT_FLAGS_HELP}

${EXIT_CODES_HELP}

Examples:
  tokenwire chat --base-url http://127.0.0.1:8000 --message 'Write a haiku about sockets'
  tokenwire chat --system 'Answer in French' --message 'Hello' --max-tokens 64 --ids
  echo 'What is 2+2?' | tokenwire chat --json
  tokenwire chat --messages conversation.json --tools tools.json`;

async function readJsonFile(flag: string, path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read --${flag} ${JSON.stringify(path)}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--${flag} ${JSON.stringify(path)} is not JSON: ${(error as Error).message}`);
  }
}

async function conversation(values: FlagValues): Promise<ChatMessage[]> {
  const messages: ChatMessage[] = [];
  const file = str(values, 'messages');
  if (file !== undefined) {
    const json = await readJsonFile('messages', file);
    const list = Array.isArray(json) ? json : (json as { messages?: unknown })?.messages;
    if (!Array.isArray(list) || !list.every((m) => m && typeof m === 'object' && 'role' in m)) {
      throw new UsageError(
        `--messages ${JSON.stringify(file)}: expected an array of {role, content} or {"messages": [...]}`,
      );
    }
    messages.push(...(list as ChatMessage[]));
  }
  const system = str(values, 'system');
  if (system !== undefined) messages.unshift({ role: 'system', content: system });
  let user = str(values, 'message');
  if (user === undefined && file === undefined) user = await readStdin('message');
  if (user !== undefined) messages.push({ role: 'user', content: user });
  return messages;
}

async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, FLAGS);
  const generation = generationRequest(values);
  const toolsFile = str(values, 'tools');
  const tools = toolsFile === undefined ? undefined : await readJsonFile('tools', toolsFile);
  if (tools !== undefined && !Array.isArray(tools)) {
    throw new UsageError(`--tools ${JSON.stringify(toolsFile)}: expected a JSON array of tool definitions`);
  }
  const output = streamOutput(values);
  const client = new Client(clientOptions(values, cliLogger(output, debugOn(values))));
  try {
    const messages = await conversation(values);
    const { live, progress, json, quiet } = output;
    const showReasoning = !bool(values, 'no-reasoning');
    const reasoningOnTerminal = process.stderr.isTTY === true;
    let inReasoning = false;
    let endsWithNewline = true;
    const endReasoning = (): void => {
      if (!inReasoning) return;
      inReasoning = false;
      live.write('stderr', '\n');
    };
    live.startStatus(() => statusText(progress));
    return await runStream<ChatEvent>(
      output,
      () => client.streamChat({ ...generation, messages, tools: tools as unknown[] | undefined }),
      (event) => {
        if (event.type !== 'done' && json) {
          if (event.type === 'text') countTokens(progress, event.ids?.length ?? 1);
          process.stdout.write(`${JSON.stringify(event)}\n`);
          return;
        }
        switch (event.type) {
          case 'reasoning':
            if (!showReasoning) return;
            if (!inReasoning && !reasoningOnTerminal) live.write('stderr', `${PREFIX} reasoning:\n`);
            inReasoning = true;
            live.write('stderr', event.text, 'dim');
            return;
          case 'text':
            // Reasoning tokens' ids arrive as empty text deltas: only real text ends the reasoning.
            if (event.text !== '') endReasoning();
            countTokens(progress, event.ids?.length ?? 1);
            live.write('stdout', event.text);
            if (event.text !== '') endsWithNewline = event.text.endsWith('\n');
            return;
          case 'tool_call': {
            endReasoning();
            const { call } = event;
            const head = `[tool_call ${call.index} ${call.name}${call.id ? ` id=${call.id}` : ''}]`;
            const lead = endsWithNewline ? '' : '\n';
            live.write(
              'stdout',
              `${lead}${paint(head, 'cyan', colorOn(process.stdout))} ${call.arguments}\n`,
            );
            endsWithNewline = true;
            return;
          }
          case 'done': {
            endReasoning();
            live.finish();
            if (json) {
              process.stdout.write(`${JSON.stringify(event)}\n`);
              return;
            }
            if (bool(values, 'ids') && event.tokenIds !== undefined) {
              if (!endsWithNewline && !process.stdout.isTTY) process.stdout.write('\n');
              process.stdout.write(`${idsLine(event.tokenIds)}\n`);
            }
            if (!quiet) {
              process.stderr.write(
                `${doneSummary(event.finishReason, event.stats.tokens, event.stats, event.usage)}\n`,
              );
            }
          }
        }
      },
    );
  } finally {
    await client.close();
  }
}

export const chat: Command = {
  name: 'chat',
  summary: 'stream a chat completion (text, reasoning, tool calls)',
  help: HELP,
  otel: true,
  run,
};
