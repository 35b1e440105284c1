/**
 * `tokenwire complete` as a user runs it: the built CLI in a child process
 * against the simulator, checking stdout, stderr and the exit code.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type Simulator, startSimulator } from '../../src/sim/index.js';
import { runCli } from './run-cli.js';

let sim: Simulator;
/** The same simulator, slowed down, for interrupting mid-stream. */
let slowSim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({ dialect: 'vllm' });
  slowSim = await startSimulator({ dialect: 'vllm', tokenDelayMs: 10 });
});
afterAll(async () => {
  await sim.close();
  await slowSim.close();
});

/** What the library itself streams for a request, to compare the CLI's output with. */
async function expected(prompt: number[] | string, maxTokens: number) {
  const { Client } = await import('../../src/index.js');
  const client = new Client({ baseUrl: sim.url, failedRequestsDir: false, retry: false });
  try {
    return await client.streamCompletion({ prompt, maxTokens }).final();
  } finally {
    await client.close();
  }
}

describe.concurrent('tokenwire complete', () => {
  test('streams the text to stdout and one summary line to stderr', async () => {
    const result = await runCli([
      'complete',
      '--base-url',
      sim.url,
      '--prompt',
      'Hello',
      '--max-tokens',
      '12',
    ]);
    const want = await expected('Hello', 12);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(want.text);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^tokenwire: done: length, 12 tokens in \d+\.\d\d s \(.*tok\/s.*\), 1 attempt, 0 resumes$/,
    );
  });

  test('--json prints exactly one NDJSON line per token, then done', async () => {
    const result = await runCli([
      'complete',
      '--base-url',
      sim.url,
      '--tokens',
      '1,2,3',
      '--max-tokens',
      '5',
      '--json',
    ]);
    const want = await expected([1, 2, 3], 5);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    const lines = result.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines).toHaveLength(6);
    expect(lines.slice(0, 5)).toEqual(want.tokens.map((t) => ({ type: 'token', id: t.id, text: t.text })));
    const done = lines[5];
    expect(Object.keys(done)).toEqual(['type', 'finishReason', 'usage', 'stats']);
    expect(done).toMatchObject({
      type: 'done',
      finishReason: 'length',
      usage: { promptTokens: 3, completionTokens: 5, totalTokens: 8, computed: false },
      stats: { attempts: 1, resumes: 0, tokens: 5 },
    });
  });

  test('--json --logprobs adds logprob to token lines', async () => {
    const result = await runCli([
      'complete',
      '--base-url',
      sim.url,
      '--tokens',
      '[4, 5]',
      '--max-tokens',
      '3',
      '--json',
      '--logprobs',
    ]);
    expect(result.code).toBe(0);
    const tokens = result.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line))
      .slice(0, 3);
    for (const token of tokens) {
      expect(Object.keys(token)).toEqual(['type', 'id', 'text', 'logprob']);
      expect(typeof token.logprob).toBe('number');
    }
  });

  test('reads token ids from standard input, and --ids prints them last', async () => {
    const result = await runCli(['complete', '--base-url', sim.url, '--max-tokens', '6', '--ids', '-q'], {
      input: '[7, 8, 9]\n',
    });
    const want = await expected([7, 8, 9], 6);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(`${want.text}${want.text.endsWith('\n') ? '' : '\n'}${want.ids.join(',')}\n`);
  });

  test('reads a text prompt from standard input exactly', async () => {
    const result = await runCli(['complete', '--base-url', sim.url, '--max-tokens', '4', '--quiet'], {
      input: 'Once upon\n',
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe((await expected('Once upon\n', 4)).text);
  });

  test('connection refused: exit 3 with the library message', async () => {
    const result = await runCli([
      'complete',
      '--base-url',
      'http://127.0.0.1:1',
      '--prompt',
      'x',
      '--no-retry',
    ]);
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^tokenwire: connection refused \(.*http:\/\/127\.0\.0\.1:1\/.*\)/);
  });

  test.each([429, 500])('HTTP %i: exit 4, and the failed request is saved for replay', async (status) => {
    const result = await runCli([
      'complete',
      '--base-url',
      sim.url,
      '--prompt',
      'x',
      '--no-retry',
      '--header',
      `x-sim-fault: status:${status}`,
    ]);
    expect(result.code).toBe(4);
    const lines = result.stderr.trim().split('\n');
    expect(lines[0]).toBe(
      `tokenwire: HTTP ${status} (POST ${sim.url}/v1/completions): simulated HTTP ${status} (sim fault status)`,
    );
    expect(lines[1]).toMatch(
      /^tokenwire: failed request saved to (\S+\.json) \(replay: tokenwire replay \1\)$/,
    );
  });

  test('a retried 500 says so and still exits 4', async () => {
    const result = await runCli([
      'complete',
      '--base-url',
      sim.url,
      '--prompt',
      'x',
      '--retries',
      '1',
      '--no-capture',
      '--header',
      'x-sim-fault: status:500:retry-after-ms=1',
    ]);
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/^tokenwire: retry \(attempt 1 failed after 0 tokens: HTTP 500 /);
    expect(result.stderr).not.toContain('failed request saved');
  });

  test('idle timeout after tokens: exit 5, partial text on stdout, partial summary', async () => {
    const result = await runCli([
      'complete',
      '--base-url',
      sim.url,
      '--prompt',
      'x',
      '--max-tokens',
      '10',
      '--no-retry',
      '--no-capture',
      '--idle-timeout',
      '200',
      '--header',
      'x-sim-fault: stall-after:3:3000',
    ]);
    expect(result.code).toBe(5);
    expect(result.stdout).toBe((await expected('x', 3)).text);
    const lines = result.stderr.trim().split('\n');
    expect(lines[0]).toBe(
      `tokenwire: idle_timeout: no data for 200 ms after 3 tokens (POST ${sim.url}/v1/completions)`,
    );
    expect(lines[1]).toMatch(/^tokenwire: failed after 3 tokens in /);
  });

  test('first-token timeout: exit 5', async () => {
    const result = await runCli([
      'complete',
      '--base-url',
      sim.url,
      '--prompt',
      'x',
      '--no-retry',
      '--no-capture',
      '--first-token-timeout',
      '200',
      '--header',
      'x-sim-fault: stall-first-token:3000',
    ]);
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(/^tokenwire: first_token_timeout: /);
  });

  test('truncated stream: exit 6, and --json ends with an error line', async () => {
    const result = await runCli([
      'complete',
      '--base-url',
      sim.url,
      '--prompt',
      'x',
      '--max-tokens',
      '10',
      '--no-retry',
      '--no-capture',
      '--json',
      '--header',
      'x-sim-fault: truncate-after:2',
    ]);
    expect(result.code).toBe(6);
    const lines = result.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines).toHaveLength(3);
    expect(lines[2]).toEqual({
      type: 'error',
      code: 'stream_truncated',
      message: `stream_truncated: the server closed the stream after 2 tokens without a finish reason or [DONE] (POST ${sim.url}/v1/completions)`,
      partial: 2,
    });
  });

  test('an in-stream server error: exit 6', async () => {
    const result = await runCli([
      'complete',
      '--base-url',
      sim.url,
      '--prompt',
      'x',
      '--no-retry',
      '--no-capture',
      '--header',
      'x-sim-fault: error-after:1',
    ]);
    expect(result.code).toBe(6);
    expect(result.stderr).toMatch(/^tokenwire: server_error: /);
  });

  test.each([
    [['--max-tokens', 'abc'], 'tokenwire: invalid value for --max-tokens: "abc" (expected an integer ≥ 1)'],
    [['--idle-timeout', '-5'], "tokenwire: Option '--idle-timeout' argument is ambiguous."],
    [
      ['--idle-timeout=-5'],
      'tokenwire: invalid value for --idle-timeout: "-5" (expected a non-negative integer)',
    ],
    [['--temperature', 'hot'], 'tokenwire: invalid value for --temperature: "hot" (expected a number ≥ 0)'],
    [['--dialect', 'gpt'], 'tokenwire: invalid value for --dialect: "gpt"'],
    [['--tokens', '1,x'], 'tokenwire: invalid value for --tokens: "1,x"'],
    [['--base-url', 'ftp://x'], 'tokenwire: invalid value for --base-url: "ftp://x"'],
    [['--bogus'], "tokenwire: Unknown option '--bogus'"],
  ])('invalid usage %j: exit 2 naming the flag', async (args, message) => {
    const result = await runCli(['complete', '--base-url', sim.url, '--prompt', 'x', ...args]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.startsWith(message)).toBe(true);
    expect(result.stderr).toContain('see tokenwire complete --help');
  });

  test('no server and no prompt are usage errors', async () => {
    const [noServer, noPrompt] = await Promise.all([
      runCli(['complete', '--prompt', 'x']),
      runCli(['complete', '--base-url', sim.url]),
    ]);
    expect(noServer.code).toBe(2);
    expect(noServer.stderr).toMatch(
      /^tokenwire: no server given: pass --base-url URL or set TOKENWIRE_BASE_URL/,
    );
    expect(noPrompt.code).toBe(2);
    expect(noPrompt.stderr).toMatch(/^tokenwire: no prompt given/);
  });

  test('the server comes from TOKENWIRE_BASE_URL when --base-url is absent', async () => {
    const result = await runCli(['complete', '--prompt', 'x', '--max-tokens', '2', '-q'], {
      env: { TOKENWIRE_BASE_URL: sim.url },
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe((await expected('x', 2)).text);
  });

  test('Ctrl-C mid-stream: exit 130, the partial text, the partial summary', async () => {
    let sent = false;
    const result = await runCli(
      ['complete', '--base-url', slowSim.url, '--prompt', 'x', '--max-tokens', '2000'],
      {
        onStdout(child, stdout) {
          if (!sent && stdout.length > 20) {
            sent = true;
            child.kill('SIGINT');
          }
        },
      },
    );
    expect(sent).toBe(true);
    expect(result.code).toBe(130);
    expect(result.stdout.length).toBeGreaterThan(20);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    const match =
      /^tokenwire: interrupted after (\d+) tokens in \d+\.\d\d s \(.*\), 1 attempt, 0 resumes$/.exec(
        lines[0],
      );
    expect(match).not.toBeNull();
    expect(Number(match![1])).toBeGreaterThan(0);
    expect(Number(match![1])).toBeLessThan(2000);
  });

  test('Ctrl-C with --json: the last line is the aborted error with the partial count', async () => {
    let sent = false;
    const result = await runCli(
      ['complete', '--base-url', slowSim.url, '--prompt', 'x', '--max-tokens', '2000', '--json'],
      {
        onStdout(child, stdout) {
          if (!sent && stdout.split('\n').length > 5) {
            sent = true;
            child.kill('SIGINT');
          }
        },
      },
    );
    expect(result.code).toBe(130);
    const lines = result.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    const last = lines.at(-1);
    expect(last.type).toBe('error');
    expect(last.code).toBe('aborted');
    expect(last.partial).toBe(lines.length - 1);
  });
});
