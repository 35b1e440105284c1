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
import { createFetch } from '../../src/fetch/index.js';
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
    const result = await runCli(
      ['complete', '--base-url', rejecting.url, '--tokens', '1,2', '--capture-dir', '/proc/nope/deeper'],
      // Before the fix the process never ended: killed here, it has no exit code.
      { timeoutMs: 20_000 },
    );
    expect(result.signal).toBe(null);
    expect(result.code).toBe(4);
    expect(result.stderr).toContain('HTTP 400');
    expect(result.stderr).toMatch(/warn capture_failed .*\/proc\/nope/);
    expect(result.stderr).not.toContain('failed request saved');
  });

  test('connection refused before any byte: complete retries (each retry logged in full), saves a replayable fixture', async () => {
    const port = await closedPort();
    const dir = join(STATE_DIR, 'refused-capture');
    const base = `http://127.0.0.1:${port}`;
    const failed = await runCli(
      [
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
      ],
      { timeoutMs: 20_000 },
    );
    expect(failed.code).toBe(3);
    expect(failed.stderr).not.toContain('undefined');
    expect(failed.stderr).toMatch(/retry \(attempt 1 failed after 0 tokens: connection refused/);
    // The endpoint the user called is named, not only the detection's GET /v1/models.
    expect(failed.stderr).toContain(`POST ${base}/v1/completions`);
    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    const path = join(dir, files[0]);
    expect(failed.stderr).toContain(`failed request saved to ${path}`);

    const show = await runCli(['replay', path, '--show'], { timeoutMs: 20_000 });
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

    const replayed = await runCli(['replay', path, '--base-url', sim.url, '--no-capture'], {
      timeoutMs: 20_000,
    });
    expect(replayed.stderr).toContain(
      'replay: now succeeds: length, 4 tokens (captured: connection_refused)',
    );
    expect(replayed.code).toBe(0);
  });

  test('a failed JSON call (tokenize, models) saves a fixture replay re-sends', async () => {
    const dir = join(STATE_DIR, 'json-capture');
    const failed = await runCli([
      'tokenize',
      'Hello world',
      '--base-url',
      rejecting.url,
      '--dialect',
      'vllm',
      '--capture-dir',
      dir,
    ]);
    expect(failed.code).toBe(4);
    const [file] = readdirSync(dir);
    const path = join(dir, file);
    expect(failed.stderr).toContain(`failed request saved to ${path}`);
    const show = await runCli(['replay', path, '--show'], { timeoutMs: 20_000 });
    expect(show.code).toBe(0);
    expect(show.stdout).toContain(`> POST ${rejecting.url}/tokenize`);
    expect(show.stdout).toContain('< 400');
    const replayed = await runCli(['replay', path, '--base-url', sim.url, '--no-capture'], {
      timeoutMs: 20_000,
    });
    expect(replayed.stderr).toMatch(/replay: now succeeds: \d+ ids \(captured: http_error\)/);
    expect(replayed.code).toBe(0);

    const refusedDir = join(STATE_DIR, 'json-refused');
    const port = await closedPort();
    const models = await runCli([
      'models',
      '--base-url',
      `http://127.0.0.1:${port}`,
      '--capture-dir',
      refusedDir,
    ]);
    expect(models.code).toBe(3);
    expect(readdirSync(refusedDir)).toHaveLength(1);
    const again = await runCli([
      'replay',
      join(refusedDir, readdirSync(refusedDir)[0]),
      '--base-url',
      sim.url,
    ]);
    expect(again.stderr).toMatch(/replay: now succeeds: \d+ models \(captured: connection_refused\)/);
    expect(again.code).toBe(0);
  });

  test('a plain call through tokenwire/fetch that failed saves a fixture replay re-sends as it was', async () => {
    const dir = join(STATE_DIR, 'fetch-capture');
    const fetch = createFetch({ failedRequestsDir: dir, retry: false, logger: () => {} });
    const body = JSON.stringify({ model: 'sim-model', prompt: 'Hello', max_tokens: 3, stream: false });
    const response = await fetch(`${rejecting.url}/v1/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-fetch-capture-test', 'content-type': 'application/json' },
      body,
    });
    await fetch.close();
    expect(response.status).toBe(400);
    const [file] = readdirSync(dir);
    const path = join(dir, file);
    const same = await runCli(['replay', path, '--no-capture'], { timeoutMs: 20_000 });
    expect(same.stderr).toContain(`replay: POST ${rejecting.url}/v1/completions (captured: http_error)`);
    expect(same.stderr).toContain('replay: fails the same way (http_error)');
    expect(same.code).toBe(4);
    const now = await runCli(['replay', path, '--base-url', sim.url, '--no-capture'], { timeoutMs: 20_000 });
    expect(now.stderr).toMatch(/replay: now succeeds: HTTP 200, \d+ bytes \(captured: http_error\)/);
    expect(now.code).toBe(0);
  });
});
