/**
 * The CLI as a process among others: SIGTERM ends a command like Ctrl-C (the request
 * aborted cleanly, the partial summary, exit 143; `replay` too, and `sim` closes its
 * servers and exits 0 even with a stream in flight), and negative numbers are values
 * (`--priority -5`, `--seed -1`, without `=`).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type Simulator, startSimulator } from '../../src/sim/index.js';
import { startServer, type TestServer, tokenBurst } from '../helpers/http-server.js';
import { runCli, runCliUntilSignal, STATE_DIR } from './run-cli.js';

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
    const result = await runCliUntilSignal(
      ['complete', '--base-url', slowSim.url, '--prompt', 'x', '--max-tokens', '2000'],
      'SIGTERM',
    );
    expect(result.sent).toBe(true);
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

  test('replay: SIGTERM mid-stream exits 143 and SIGINT 130, each with a one-line verdict', async () => {
    // A fixture of a stream the slow simulator truncated; replayed without the fault,
    // it streams 2,000 tokens at 10 ms each: the signal comes long before the end.
    const dir = join(STATE_DIR, 'replay-signals');
    const failed = await runCli([
      'complete',
      '--base-url',
      slowSim.url,
      '--prompt',
      'x',
      '--max-tokens',
      '2000',
      '--no-retry',
      '--capture-dir',
      dir,
      '--header',
      'x-sim-fault: truncate-after:2',
    ]);
    expect(failed.code).toBe(6);
    const path = join(dir, readdirSync(dir)[0]);
    const replay = ['replay', path, '--no-capture', '--header', 'x-sim-fault: keepalive:1000'];
    const [terminated, interrupted] = await Promise.all([
      runCliUntilSignal(replay, 'SIGTERM'),
      runCliUntilSignal(replay, 'SIGINT'),
    ]);
    for (const [result, code, what] of [
      [terminated, 143, 'terminated'],
      [interrupted, 130, 'interrupted'],
    ] as const) {
      expect(result.sent, what).toBe(true);
      expect(result.signal, what).toBe(null);
      expect(result.code, what).toBe(code);
      expect(result.stdout.length, what).toBeGreaterThan(20);
      const lines = result.stderr.trim().split('\n');
      expect(lines[0], what).toBe(
        `tokenwire: replay: POST ${slowSim.url}/v1/completions (captured: stream_truncated)`,
      );
      expect(lines.slice(1), what).toHaveLength(1);
      const match = new RegExp(
        `^tokenwire: replay: ${what} after (\\d+) tokens \\(captured: stream_truncated\\)$`,
      ).exec(lines[1]);
      expect(match, `${what}: ${lines[1]}`).not.toBeNull();
      expect(Number(match![1])).toBeGreaterThan(0);
      expect(Number(match![1])).toBeLessThan(2000);
    }
  });

  test('sim: SIGTERM with a stream in flight closes the server and exits 0 at once', async () => {
    let url = '';
    let streaming: Promise<number> | undefined;
    const result = await runCli(['sim', '--token-delay', '10'], {
      onStdout(child, stdout) {
        if (url !== '' || !stdout.includes('\n')) return;
        url = stdout.trim();
        // 2,000 tokens at 10 ms each: SIGTERM once the first bytes of the stream arrived.
        streaming = fetch(`${url}/v1/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'sim-model', prompt: 'x', max_tokens: 2000, stream: true }),
        }).then(async (response) => {
          const reader = response.body!.getReader();
          let bytes = 0;
          try {
            for (;;) {
              const { done, value } = await reader.read();
              if (done) return bytes;
              if (bytes === 0) child.kill('SIGTERM');
              bytes += value.length;
            }
          } catch {
            // The server went away mid-stream: what it had sent is what counts.
            return bytes;
          }
        });
        streaming.catch(() => child.kill('SIGTERM'));
      },
    });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const bytes = await streaming!;
    expect(bytes).toBeGreaterThan(0);
    // Far less than 2,000 tokens' worth: the stream ended with the server, not on its own.
    expect(bytes).toBeLessThan(2000 * 100);
    expect(result.signal).toBe(null);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/tokenwire: simulator stopped \(SIGTERM\): 1 requests/);
  });
});
