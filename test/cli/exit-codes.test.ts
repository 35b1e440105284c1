/**
 * One exit code per error class: the built CLI in a child process against the
 * simulator (faults per request through --header x-sim-fault), and usage errors.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type Simulator, startSimulator } from '../../src/sim/index.js';
import { completeArgs, jsonLines, libraryResult, runCli } from './run-cli.js';

let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({ dialect: 'vllm' });
});
afterAll(async () => {
  await sim.close();
});

/** What the library itself streams for a request, to compare the CLI's output with. */
const expected = (prompt: number[] | string, maxTokens: number) => libraryResult(sim.url, prompt, maxTokens);

/** `tokenwire complete` once (no retry, no capture) with the simulator fault `fault` and `flags`. */
const withFault = (fault: string, ...flags: string[]) =>
  runCli([
    ...completeArgs(sim.url, 'x'),
    ...flags,
    '--no-retry',
    '--no-capture',
    '--header',
    `x-sim-fault: ${fault}`,
  ]);

describe.concurrent('exit codes of tokenwire complete', () => {
  test('connection refused: exit 3 with the library message', async () => {
    const result = await runCli([...completeArgs('http://127.0.0.1:1', 'x'), '--no-retry']);
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^tokenwire: connection refused \(.*http:\/\/127\.0\.0\.1:1\/.*\)/);
  });

  test.each([429, 500])('HTTP %i: exit 4, and the failed request is saved for replay', async (status) => {
    const result = await runCli([
      ...completeArgs(sim.url, 'x'),
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
      ...completeArgs(sim.url, 'x'),
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
    const result = await withFault('stall-after:3:3000', '--max-tokens', '10', '--idle-timeout', '200');
    expect(result.code).toBe(5);
    expect(result.stdout).toBe((await expected('x', 3)).text);
    const lines = result.stderr.trim().split('\n');
    expect(lines[0]).toBe(
      `tokenwire: idle_timeout: no data for 200 ms after 3 tokens (POST ${sim.url}/v1/completions)`,
    );
    expect(lines[1]).toMatch(/^tokenwire: failed after 3 tokens in /);
  });

  test('first-token timeout: exit 5', async () => {
    const result = await withFault('stall-first-token:3000', '--first-token-timeout', '200');
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(/^tokenwire: first_token_timeout: /);
  });

  test('truncated stream: exit 6, and --json ends with an error line', async () => {
    const result = await withFault('truncate-after:2', '--max-tokens', '10', '--json');
    expect(result.code).toBe(6);
    const lines = jsonLines(result.stdout);
    expect(lines).toHaveLength(3);
    expect(lines[2]).toEqual({
      type: 'error',
      code: 'stream_truncated',
      message: `stream_truncated: the server closed the stream after 2 tokens without a finish reason or [DONE] (POST ${sim.url}/v1/completions)`,
      partial: 2,
    });
  });

  test('an in-stream server error: exit 6', async () => {
    const result = await withFault('error-after:1');
    expect(result.code).toBe(6);
    expect(result.stderr).toMatch(/^tokenwire: server_error: /);
  });

  test.each([
    [['--max-tokens', 'abc'], 'tokenwire: invalid value for --max-tokens: "abc" (expected an integer ≥ 1)'],
    [
      ['--idle-timeout', '-5'],
      'tokenwire: invalid value for --idle-timeout: "-5" (expected a non-negative integer)',
    ],
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
});
