/**
 * No leaked timer, socket or rejection: a process that runs streams through
 * every kind of ending (success, reset, idle timeout, abort, break, an ignored
 * stream) and then closes its client and simulator must exit on its own.
 * Runs the built package (`npm test` builds before the tests).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

const SCRIPT = `
import { Client } from './dist/index.js';
import { startSimulator } from './dist/sim/index.js';
let rejections = 0;
process.on('unhandledRejection', (error) => { rejections++; console.error('unhandled', error); });
const sim = await startSimulator({ dialect: 'vllm' });
const make = (fault, extra = {}) => new Client({
  baseUrl: sim.url, dialect: 'vllm', failedRequestsDir: false, logger: () => {},
  headers: fault ? { 'x-sim-fault': fault } : {}, timeouts: { idleMs: 200, firstTokenMs: 500 }, ...extra,
});
const outcomes = [];
const settle = (p) => p.then(() => 'ok', (e) => e.code);
const clients = [make(), make('reset-after:3', { retry: false }), make('stall-after:2:5000', { retry: false }),
  make('keepalive-forever:10', { retry: false }), make('reset-after:4:once'), make(), make('stall-first-token:2000')];
outcomes.push(await settle(clients[0].streamCompletion({ prompt: [1, 2, 3], maxTokens: 8 }).final()));
outcomes.push(await settle(clients[1].streamCompletion({ prompt: [1, 2, 3], maxTokens: 8 }).final()));
outcomes.push(await settle(clients[2].streamCompletion({ prompt: [1, 2, 3], maxTokens: 8 }).final()));
outcomes.push(await settle(clients[3].streamCompletion({ prompt: [1, 2, 3], maxTokens: 8 }).final()));
outcomes.push(await settle(clients[4].streamCompletion({ prompt: [1, 2, 3], maxTokens: 8 }).final()));
const controller = new AbortController();
const aborted = clients[6].streamCompletion({ prompt: [1, 2, 3], maxTokens: 64, signal: controller.signal });
setTimeout(() => controller.abort(), 5);
outcomes.push(await settle(aborted.final()));
for await (const ev of clients[5].streamCompletion({ prompt: [1, 2, 3], maxTokens: 64 })) { if (ev.type === 'token') break; }
clients[5].streamCompletion({ prompt: [1, 2, 3], maxTokens: 4 }); // never read
await new Promise((r) => setTimeout(r, 50));
for (const client of clients) await client.close();
await sim.close();
console.log(JSON.stringify({ outcomes, rejections }));
`;

describe('process exit', () => {
  it.skipIf(!existsSync(join(ROOT, 'dist', 'index.js')))(
    'exits on its own after every kind of stream ending, with no unhandled rejection',
    async () => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', SCRIPT], { cwd: ROOT });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const started = Date.now();
      const code = await new Promise<number | null>((resolve) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          resolve(null);
        }, 10_000);
        child.on('exit', (exitCode) => {
          clearTimeout(timer);
          resolve(exitCode);
        });
      });
      expect(code, `did not exit by itself within 10 s; stderr: ${stderr}`).toBe(0);
      const report = JSON.parse(stdout.trim().split('\n').at(-1)!);
      expect(report).toEqual({
        outcomes: ['ok', 'connection_reset', 'idle_timeout', 'first_token_timeout', 'ok', 'aborted'],
        rejections: 0,
      });
      expect(Date.now() - started).toBeLessThan(10_000);
    },
  );
});
