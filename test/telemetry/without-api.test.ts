/**
 * Without `@opentelemetry/api` installed, tokenwire loads and works. The built package
 * (dist/, built by `npm test` before vitest) is copied into a temporary directory whose
 * node_modules holds undici alone, so nothing there can resolve the API (checked, not
 * assumed); a child process streams a completion from the simulator through it.
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tokenwire-no-otel-'));
  const pkg = join(dir, 'node_modules', 'tokenwire');
  await mkdir(pkg, { recursive: true });
  await cp(join(ROOT, 'dist'), join(pkg, 'dist'), { recursive: true });
  await cp(join(ROOT, 'package.json'), join(pkg, 'package.json'));
  await symlink(join(ROOT, 'node_modules', 'undici'), join(dir, 'node_modules', 'undici'), 'dir');
  await writeFile(
    join(dir, 'main.mjs'),
    `
import { createRequire } from 'node:module';
import { Client } from 'tokenwire';
import { startSimulator } from 'tokenwire/sim';
let apiResolves = true;
try { createRequire(import.meta.url)('@opentelemetry/api'); } catch { apiResolves = false; }
const sim = await startSimulator({ dialect: 'vllm', model: 'm' });
const client = new Client({ baseUrl: sim.url, dialect: 'vllm', model: 'm', failedRequestsDir: false });
const result = await client.streamCompletion({ prompt: [1, 2, 3], maxTokens: 5 }).final();
const traceparent = sim.report().requests.at(-1).headers.traceparent ?? null;
await client.close();
await sim.close();
console.log(JSON.stringify({ apiResolves, ids: result.ids.length, finishReason: result.finishReason, traceparent }));
`,
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('the package loads and streams where @opentelemetry/api cannot be resolved', async () => {
  const { stdout } = await run(process.execPath, [join(dir, 'main.mjs')], { cwd: dir, timeout: 20_000 });
  expect(JSON.parse(stdout)).toEqual({
    apiResolves: false,
    ids: 5,
    finishReason: 'length',
    traceparent: null,
  });
});

it('the CLI: --otel without the OpenTelemetry packages is a usage error naming them; set by the environment only, a warning', async () => {
  const cli = join(dir, 'node_modules', 'tokenwire', 'dist', 'cli', 'main.js');
  const args = [
    cli,
    'complete',
    '--base-url',
    'http://127.0.0.1:9',
    '--tokens',
    '1',
    '--no-retry',
    '--no-capture',
  ];
  const flag = await run(process.execPath, [...args, '--otel'], { cwd: dir, timeout: 20_000 }).then(
    () => undefined,
    (error: { code: number; stderr: string }) => error,
  );
  expect(flag?.code).toBe(2);
  expect(flag?.stderr).toContain(
    '--otel needs the OpenTelemetry packages, not installed here: @opentelemetry/api, @opentelemetry/sdk-trace-base',
  );
  const env = await run(process.execPath, args, {
    cwd: dir,
    timeout: 20_000,
    env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' },
  }).then(
    () => undefined,
    (error: { code: number; stderr: string }) => error,
  );
  expect(env?.stderr).toContain('tokenwire: OTLP export off: --otel needs the OpenTelemetry packages');
  expect(env?.code).toBe(3); // it ran: the connection to port 9 was refused
});
