/**
 * `tokenwire complete` as a user runs it: the built CLI in a child process
 * against the simulator, checking stdout, stderr and the exit code.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Client } from '../../src/index.js';
import { type Simulator, startCluster, startSimulator } from '../../src/sim/index.js';
import { completeArgs, jsonLines, libraryResult, runCli, runCliUntilSignal } from './run-cli.js';

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
const expected = (prompt: number[] | string, maxTokens: number) => libraryResult(sim.url, prompt, maxTokens);

describe.concurrent('tokenwire complete', () => {
  test('streams the text to stdout and one summary line to stderr', async () => {
    const result = await runCli([...completeArgs(sim.url, 'Hello'), '--max-tokens', '12']);
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
    const lines = jsonLines(result.stdout);
    expect(lines).toHaveLength(6);
    expect(lines.slice(0, 5)).toEqual(want.tokens.map((t) => ({ type: 'token', id: t.id, text: t.text })));
    const done = lines[5];
    expect(Object.keys(done)).toEqual(['type', 'finishReason', 'usage', 'stats', 'responseId', 'model']);
    expect(done.responseId).toMatch(/^cmpl-[0-9a-f]{32}$/);
    expect(done.model).toBe(want.model);
    expect(done.model).toBe('sim-model');
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
    const tokens = jsonLines(result.stdout).slice(0, 3);
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

  test('the server comes from TOKENWIRE_BASE_URL when --base-url is absent', async () => {
    const result = await runCli(['complete', '--prompt', 'x', '--max-tokens', '2', '-q'], {
      env: { TOKENWIRE_BASE_URL: sim.url },
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe((await expected('x', 2)).text);
  });

  test('Ctrl-C mid-stream: exit 130, the partial text, the partial summary', async () => {
    const result = await runCliUntilSignal(
      ['complete', '--base-url', slowSim.url, '--prompt', 'x', '--max-tokens', '2000'],
      'SIGINT',
    );
    expect(result.sent).toBe(true);
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
    const lines = jsonLines(result.stdout);
    const last = lines.at(-1);
    expect(last.type).toBe('error');
    expect(last.code).toBe('aborted');
    expect(last.partial).toBe(lines.length - 1);
  });
});

test('a cached prompt: --json done line has usage.cachedPromptTokens, the id and model; the summary says it', async () => {
  // One replica and its prefix cache (16-token blocks): after a first call of the 40-token
  // prompt, the next finds 32 tokens cached and says so.
  const cluster = await startCluster({ replicas: 1, dialect: 'vllm', seed: 7 });
  try {
    const tokens = Array.from({ length: 40 }, (_, i) => 100 + i);
    const warmup = new Client({ baseUrl: cluster.urls[0], failedRequestsDir: false, retry: false });
    await warmup.streamCompletion({ prompt: tokens, maxTokens: 1 }).final();
    await warmup.close();
    const args = [
      'complete',
      '--base-url',
      cluster.urls[0],
      '--tokens',
      tokens.join(','),
      '--max-tokens',
      '2',
    ];
    const [json, human] = await Promise.all([runCli([...args, '--json']), runCli(args)]);
    expect(json.code).toBe(0);
    const done = jsonLines(json.stdout).at(-1);
    const ids = cluster.replicas[0]
      .report()
      .requests.filter((r) => r.path === '/v1/completions')
      .map((r) => `cmpl-${createHash('sha256').update(`7:${r.seq}`).digest('hex').slice(0, 32)}`);
    expect(ids).toContain(done.responseId);
    expect(done.responseId).not.toBe(ids[0]);
    expect(done).toMatchObject({
      type: 'done',
      model: 'sim-model',
      usage: { promptTokens: 40, completionTokens: 2, cachedPromptTokens: 32 },
    });
    expect(human.code).toBe(0);
    expect(human.stderr.trim()).toMatch(/, 1 attempt, 0 resumes, 32 of 40 prompt tokens cached$/);
  } finally {
    await cluster.close();
  }
});
