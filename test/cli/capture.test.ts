/**
 * Failure fixtures through the CLI: writing one never delays or hides the error,
 * every failed call (connection refused before any byte included) leaves one that
 * `replay` can re-send, `replay --show` prints the body as valid JSON, and retries of
 * the dialect detection are reported in full.
 */
import { readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type Simulator, startSimulator } from '../../src/sim/index.js';
import { startServer, type TestServer } from '../helpers/http-server.js';
import { runCli, STATE_DIR } from './run-cli.js';

let sim: Simulator;
let rejecting: TestServer;
beforeAll(async () => {
  sim = await startSimulator({ dialect: 'vllm' });
  rejecting = await startServer((_req, res) => {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end('{"error":{"message":"bad request","type":"BadRequestError","code":400}}');
  });
});
afterAll(async () => {
  await sim.close();
  await rejecting.close();
});

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe.concurrent('capture through the CLI', () => {
  test('a capture dir that cannot be created: exit 4 at once with a capture_failed warning', async () => {
    const started = performance.now();
    const result = await runCli(
      ['complete', '--base-url', rejecting.url, '--tokens', '1,2', '--capture-dir', '/proc/nope/deeper'],
      { timeoutMs: 8_000 },
    );
    expect(result.signal).toBe(null);
    expect(result.code).toBe(4);
    expect(result.stderr).toContain('HTTP 400');
    expect(result.stderr).toMatch(/warn capture_failed .*\/proc\/nope/);
    expect(result.stderr).not.toContain('failed request saved');
    // Not a speed assertion: far below the 8 s kill, it shows nothing waited for a deadline.
    expect(performance.now() - started).toBeLessThan(7_000);
  });

  test('connection refused before any byte: complete retries (each retry logged in full), saves a replayable fixture', async () => {
    const port = await closedPort();
    const dir = join(STATE_DIR, 'refused-capture');
    const base = `http://127.0.0.1:${port}`;
    const failed = await runCli([
      'complete',
      '--base-url',
      base,
      '--tokens',
      '1,2,3',
      '--max-tokens',
      '4',
      '--capture-dir',
      dir,
      '--retries',
      '1',
    ]);
    expect(failed.code).toBe(3);
    expect(failed.stderr).not.toContain('undefined');
    expect(failed.stderr).toMatch(/retry \(attempt 1 failed after 0 tokens: connection refused/);
    // The endpoint the user called is named, not only the detection's GET /v1/models.
    expect(failed.stderr).toContain(`POST ${base}/v1/completions`);
    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    const path = join(dir, files[0]);
    expect(failed.stderr).toContain(`failed request saved to ${path}`);

    const show = await runCli(['replay', path, '--show']);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain(`> POST ${base}/v1/completions`);
    expect(show.stdout).toContain('< (no response head)');
    const lines = show.stdout.split('\n');
    const open = lines.indexOf('> {');
    const close = lines.indexOf('> }');
    expect(open).toBeGreaterThan(-1);
    const body = JSON.parse(
      lines
        .slice(open, close + 1)
        .map((line) => line.slice(2))
        .join('\n'),
    );
    expect(body).toMatchObject({ prompt: [1, 2, 3], max_tokens: 4 });

    const replayed = await runCli(['replay', path, '--base-url', sim.url, '--no-capture']);
    expect(replayed.stderr).toContain(
      'replay: now succeeds: length, 4 tokens (captured: connection_refused)',
    );
    expect(replayed.code).toBe(0);
  });
});
