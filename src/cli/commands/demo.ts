/**
 * `tokenwire demo`: the simulator with two faults, a completion streamed from
 * it live, and what tokenwire did about the faults. No server, no network.
 */
import { Client, type CompletionEvent, type LogRecord } from '../../index.js';
import { startSimulator } from '../../sim/index.js';
import { bool, parse } from '../args.js';
import type { Command } from '../command.js';
import { EXIT } from '../exit-codes.js';
import { colorOn, LiveOutput, paint, type Style } from '../live.js';
import { countRecord, countTokens, newProgress, statusText } from '../report.js';
import { runStream } from '../run-stream.js';

const PROMPT = 'Once upon a time';
const MAX_TOKENS = 48;
/** The connection is reset after token 12 (first request only); every later request stalls after its 20th token. */
const FAULTS = 'reset-after:12:once,stall-after:20:5000';
/** Short enough to catch the stall quickly, far longer than the pause between tokens. */
const IDLE_TIMEOUT_MS = 500;
const TOKEN_DELAY_MS = 40;

const HELP = `Usage: tokenwire demo [--quiet]

Starts the built-in simulator on a free loopback port with two faults:
  ${FAULTS.split(',').join('\n  ')}
(a TCP reset after token 12 of the first request, then a 5 s stall after the
20th token of each later one), streams a ${MAX_TOKENS}-token completion from it with
an idle timeout of ${IDLE_TIMEOUT_MS} ms, and shows the tokens with their ids, where tokenwire
resumed the stream, its stats, and whether the resumed ids equal an
uninterrupted run. Needs no server and no network; takes about 3 s.

  --quiet, -q   no live status line

Exit codes: 0 when the stream completed, else the code of its error (see tokenwire --help).

Example:
  tokenwire demo`;

function line(text = '', style?: Style): void {
  process.stdout.write(`${paint(text, style, colorOn(process.stdout))}\n`);
}

/** The tokens as `id "text"` cells, with the resume points marked. */
function tokenTable(
  tokens: { id: number | undefined; text: string }[],
  resumes: Map<number, string>,
): string[] {
  const lines: string[] = [];
  let row: string[] = [];
  const flush = (): void => {
    if (row.length > 0) lines.push(`  ${row.join('  ')}`);
    row = [];
  };
  tokens.forEach((token, index) => {
    const why = resumes.get(index);
    if (why !== undefined) {
      flush();
      lines.push(
        paint(
          `  ── ${why}: resumed by continuation at token ${index + 1}`,
          'yellow',
          colorOn(process.stdout),
        ),
      );
    }
    row.push(`${String(token.id ?? '?').padStart(5)} ${JSON.stringify(token.text).padEnd(10)}`);
    if (row.length === 4) flush();
  });
  flush();
  return lines;
}

async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, { quiet: { type: 'boolean', short: 'q' } });
  const sim = await startSimulator({ dialect: 'vllm', faults: FAULTS, tokenDelayMs: TOKEN_DELAY_MS });
  const progress = newProgress();
  const live = new LiveOutput({ status: !bool(values, 'quiet'), notes: false });
  const tokens: { id: number | undefined; text: string }[] = [];
  const resumes = new Map<number, string>();
  const records: LogRecord[] = [];
  const client = new Client({
    baseUrl: sim.url,
    timeouts: { idleMs: IDLE_TIMEOUT_MS },
    retry: { maxAttempts: 5, baseDelayMs: 100 },
    failedRequestsDir: false,
    logger: (record) => {
      records.push(record);
      countRecord(progress, record);
      if (record.event === 'resume') {
        resumes.set(tokens.length, String(record.reason ?? 'resume').replace(/^resume after /, ''));
      }
    },
  });
  try {
    line('tokenwire demo', 'bold');
    line(`simulator ${sim.url} (vLLM wire format), faults: ${FAULTS}`, 'dim');
    const promptIds = await client.tokenize(PROMPT);
    line(`dialect: ${await client.dialect()} (detected)`, 'dim');
    line(`prompt ${JSON.stringify(PROMPT)} → ids [${promptIds.join(', ')}]`, 'dim');
    line();
    live.startStatus(() => statusText(progress));
    let done: Extract<CompletionEvent, { type: 'done' }> | undefined;
    const code = await runStream<CompletionEvent>(
      { live, progress, json: false, quiet: false },
      () =>
        client.streamCompletion({ prompt: promptIds, maxTokens: MAX_TOKENS, sampling: { temperature: 0 } }),
      (event) => {
        if (event.type === 'token') {
          countTokens(progress, 1);
          tokens.push({ id: event.id, text: event.text });
          live.write('stdout', event.text);
        } else {
          live.finish();
          done = event;
        }
      },
    );
    line();
    line();
    line('tokens (id "text"):', 'bold');
    for (const row of tokenTable(tokens, resumes)) line(row);
    line();
    const report = sim.report();
    const fired = Object.entries(report.faultsFired).map(([name, count]) => `${name} ×${count}`);
    const completions = report.requests.filter((request) => request.path === '/v1/completions').length;
    line(`the simulator got ${completions} completion requests; faults fired: ${fired.join(', ') || 'none'}`);
    for (const record of records.filter((r) => r.event === 'resume' || r.event === 'retry')) {
      line(`  tokenwire ${record.event}: ${String(record.error)} (${String(record.reason)})`, 'dim');
    }
    if (!done) {
      line(`the stream failed (exit code ${code}): see the error above`, 'red');
      return code;
    }
    const { stats } = done;
    line(
      `done: finish ${done.finishReason}, ${stats.tokens} tokens, ${stats.attempts} attempts, ${stats.resumes} resumes, ` +
        `first token ${Math.round(stats.timeToFirstTokenMs ?? 0)} ms, longest gap ${Math.round(stats.maxGapMs)} ms, ${Math.round(stats.durationMs)} ms in all`,
    );
    return (await sameAsUninterrupted(promptIds, tokens)) ? EXIT.ok : EXIT.unexpected;
  } finally {
    live.finish();
    await client.close();
    await sim.close();
  }
}

/** Runs the same request against a fault-free simulator and compares the ids. */
async function sameAsUninterrupted(
  promptIds: number[],
  tokens: { id: number | undefined }[],
): Promise<boolean> {
  const clean = await startSimulator({ dialect: 'vllm' });
  const client = new Client({ baseUrl: clean.url, dialect: 'vllm', failedRequestsDir: false });
  try {
    const result = await client
      .streamCompletion({ prompt: promptIds, maxTokens: MAX_TOKENS, sampling: { temperature: 0 } })
      .final();
    const same =
      result.ids.length === tokens.length && result.ids.every((id, index) => id === tokens[index].id);
    if (same)
      line(`✓ the ids equal an uninterrupted run of the same request: the resumes were exact`, 'green');
    else line('✗ the ids differ from an uninterrupted run of the same request', 'red');
    return same;
  } finally {
    await client.close();
    await clean.close();
  }
}

export const demo: Command = {
  name: 'demo',
  summary: 'see tokenwire survive a reset and a stall (built-in simulator, ~3 s)',
  help: HELP,
  run,
};
