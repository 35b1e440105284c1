/**
 * Retention of the failed-requests directory: past failedRequestsMaxFiles or
 * failedRequestsMaxBytes the oldest fixtures go, the newest stays, other files are
 * never touched. Failures come from a real loopback server.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Client } from '../../src/index.js';
import { caught, testClient } from '../helpers/client.js';
import { startServer, type TestServer } from '../helpers/http-server.js';

let server: TestServer | undefined;
let root: string | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  if (root) rmSync(root, { recursive: true, force: true });
  root = undefined;
});

async function failingServer(): Promise<TestServer> {
  return startServer((_req, res) => {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end('{"error":{"message":"no","code":400}}');
  });
}

function captureDir(): string {
  root = mkdtempSync(join(tmpdir(), 'tokenwire-retention-'));
  const dir = join(root, 'captures');
  mkdirSync(dir);
  // Files that are not fixtures are never removed, whatever the limits.
  writeFileSync(join(dir, 'notes.txt'), 'mine');
  writeFileSync(join(dir, 'mine.json'), '{}');
  return dir;
}

describe('failed-requests retention', () => {
  it.each([
    ['failedRequestsMaxFiles: 3', { failedRequestsMaxFiles: 3 }, 3],
    ['failedRequestsMaxFiles: 1', { failedRequestsMaxFiles: 1 }, 1],
    ['failedRequestsMaxFiles: 0 (the newest is always kept)', { failedRequestsMaxFiles: 0 }, 1],
    ['failedRequestsMaxBytes: 1 (the newest is always kept)', { failedRequestsMaxBytes: 1 }, 1],
  ])('%s: the oldest fixtures are removed, the newest kept', async (_name, options, kept) => {
    server = await failingServer();
    const dir = captureDir();
    const { client } = testClient(server.url, { dialect: 'vllm', failedRequestsDir: dir, ...options });
    const paths: string[] = [];
    for (let i = 0; i < 5; i++) {
      const error = await caught(() => client.streamCompletion({ prompt: [i] }).final());
      expect(error.code).toBe('http_error');
      paths.push(error.fixturePath as string);
    }
    const fixtures = readdirSync(dir).filter((name) => name !== 'notes.txt' && name !== 'mine.json');
    expect(fixtures).toHaveLength(kept);
    for (const path of paths.slice(-kept)) expect(existsSync(path)).toBe(true);
    expect(existsSync(join(dir, 'notes.txt'))).toBe(true);
    expect(existsSync(join(dir, 'mine.json'))).toBe(true);
    await client.close();
  });

  it('keeps everything within the limits (defaults: 500 files, 100 MiB)', async () => {
    server = await failingServer();
    const dir = captureDir();
    const { client } = testClient(server.url, { dialect: 'vllm', failedRequestsDir: dir });
    for (let i = 0; i < 4; i++) await caught(() => client.streamCompletion({ prompt: [i] }).final());
    expect(readdirSync(dir)).toHaveLength(6);
    await client.close();
  });

  it.each([
    ['failedRequestsMaxFiles', -1],
    ['failedRequestsMaxFiles', 1.5],
    ['failedRequestsMaxBytes', '100'],
  ])('%s: %s is invalid_option', (option, value) => {
    expect(() => new Client({ baseUrl: 'http://127.0.0.1:1', [option]: value })).toThrow(
      new RegExp(`invalid option ${option}: `),
    );
  });
});
