/**
 * The CLI as a process among others: SIGTERM ends a command like Ctrl-C (the request
 * aborted cleanly, the partial summary, exit 143), and negative numbers are values
 * (`--priority -5`, `--seed -1`, without `=`).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type Simulator, startSimulator } from '../../src/sim/index.js';
import { startServer, type TestServer, tokenBurst } from '../helpers/http-server.js';
import { runCli } from './run-cli.js';

let slowSim: Simulator;
let server: TestServer;
beforeAll(async () => {
  slowSim = await startSimulator({ dialect: 'vllm', tokenDelayMs: 10 });
  server = await startServer(tokenBurst(3));
});
afterAll(async () => {
  await slowSim.close();
  await server.close();
});

describe.concurrent('signals and negative values', () => {
  test('SIGTERM mid-stream: exit 143, the partial text, the partial summary', async () => {
    let sent = false;
    const result = await runCli(
      ['complete', '--base-url', slowSim.url, '--prompt', 'x', '--max-tokens', '2000'],
      {
        onStdout(child, stdout) {
          if (!sent && stdout.length > 20) {
            sent = true;
            child.kill('SIGTERM');
          }
        },
      },
    );
    expect(sent).toBe(true);
    expect(result.signal).toBe(null);
    expect(result.code).toBe(143);
    expect(result.stdout.length).toBeGreaterThan(20);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^tokenwire: terminated after \d+ tokens in \d+\.\d\d s \(.*\), 1 attempt, 0 resumes$/,
    );
  });

  test('--priority -5 and --seed -1 without "=" reach the server', async () => {
    const result = await runCli([
      'complete',
      '--base-url',
      server.url,
      '--dialect',
      'vllm',
      '--tokens',
      '1,2',
      '--priority',
      '-5',
      '--seed',
      '-1',
      '--max-tokens',
      '3',
    ]);
    expect(result.stderr).toMatch(/done: length, 3 tokens/);
    expect(result.code).toBe(0);
    const body = server.requests.find((request) => request.method === 'POST')?.json as Record<
      string,
      unknown
    >;
    expect(body).toMatchObject({ priority: -5, seed: -1 });
  });
});
