/**
 * `tokenwire probe` (and `doctor`): the built CLI against the simulator emulating
 * each wire-facts row (exit 0, the row's facts, no disagreement), against a
 * server it disagrees with (exit 8, DISAGREE lines), with an API key (never in
 * stdout or stderr, debug included) and against nothing (exit 3, the URL named).
 */
import type { ServerResponse } from 'node:http';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WIRE_FACTS, type WireFacts } from '../../src/dialects/wire-facts.js';
import type { ProbeReport } from '../../src/index.js';
import { SIM_VERSIONS, type Simulator, startSimulator } from '../../src/sim/index.js';
import { type SeenRequest, startServer, type TestServer } from '../helpers/http-server.js';
import { probeOptionsFor } from '../helpers/probe.js';
import { runCli } from './run-cli.js';

const ROWS = WIRE_FACTS.filter((row) => SIM_VERSIONS.includes(row.label));
const KEY = 'sk-cli-probe-secret-9f8e7d6c5b4a';

const sims: Simulator[] = [];
let server: TestServer | undefined;
afterEach(async () => {
  await Promise.all(sims.splice(0).map((sim) => sim.close()));
  await server?.close();
  server = undefined;
});

async function simFor(label: string): Promise<Simulator> {
  const sim = await startSimulator({ dialect: label });
  sims.push(sim);
  return sim;
}

/** The command line that points the probe at a simulator emulating `row` (as the library test does). */
function argsFor(row: WireFacts, url: string): string[] {
  const options = probeOptionsFor(row, url);
  const args = ['probe', '--base-url', url];
  if (options.dialect !== undefined) args.push('--dialect', options.dialect);
  for (const [name, value] of Object.entries(options.headers ?? {}))
    args.push('--header', `${name}: ${value}`);
  return args;
}

describe('tokenwire probe against the simulator', () => {
  // One after another: nine CLI processes at once crowd the other CLI tests' 10 s limits.
  it.each(ROWS.map((row) => [row.label, row] as const))(
    '%s: exit 0, the row, no disagreement (--json)',
    async (_, row) => {
      const sim = await startSimulator({ dialect: row.label });
      const result = await runCli([...argsFor(row, sim.url), '--json'], { timeoutMs: 30_000 }).finally(() =>
        sim.close(),
      );
      // Only the Client's warnings (llama.cpp drops the id of a token ending inside a UTF-8 character).
      expect(
        result.stderr.split('\n').filter((line) => line !== '' && !line.startsWith('tokenwire: warn ')),
      ).toEqual([]);
      expect(result.code).toBe(0);
      const report = JSON.parse(result.stdout) as ProbeReport;
      expect(report.row).toBe(row.label);
      expect(report.disagreements).toBe(0);
      const ids = report.checks.find((c) => c.fact === 'completions.ids');
      expect(ids?.status).toBe('agree');
    },
    40_000,
  );

  it('human output: one line per fact, the verdict last; doctor is the same command', async () => {
    const sim = await simFor('vllm@0.11');
    for (const name of ['probe', 'doctor']) {
      const result = await runCli([name, '--base-url', sim.url], { timeoutMs: 20_000 });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain('dialect: vllm 0.11 (detected by GET /v1/models, GET /version)');
      expect(result.stdout).toMatch(/^ok +completions\.ids +live \(3 ids with 3 tokens\)$/m);
      expect(result.stdout).toMatch(/^ok +completions\.priority +refused with HTTP 400$/m);
      expect(result.stdout).toContain('Got priority 1 but Priority scheduling is not enabled.');
      expect(result.stdout).toMatch(
        /0 disagree, \d+ not compared .*: the server does what the table says for vllm@0\.11\.\n$/,
      );
    }
  });

  it('a server the table does not describe: DISAGREE lines with what the table says, exit 8', async () => {
    const sim = await simFor('vllm@0.11');
    const result = await runCli(['probe', '--base-url', sim.url, '--dialect', 'llamacpp'], {
      timeoutMs: 20_000,
    });
    expect(result.code).toBe(8);
    expect(result.stdout).toMatch(/^DISAGREE +completions\.ids +none$/m);
    expect(result.stdout).toContain('table says: live in choices[0].logprobs.content[k].id');
    expect(result.stdout).toContain('the server does not do what the table says for llamacpp@2026');
    const json = await runCli(['probe', '--base-url', sim.url, '--dialect', 'llamacpp', '--json'], {
      timeoutMs: 20_000,
    });
    expect(json.code).toBe(8);
    const report = JSON.parse(json.stdout) as ProbeReport;
    expect(report.disagreements).toBeGreaterThan(0);
    expect(report.checks.filter((c) => c.status === 'disagree')).toHaveLength(report.disagreements);
  });

  it('help documents exit 8; usage errors for what does not apply', async () => {
    const help = await runCli(['probe', '--help']);
    expect(help.stdout).toContain('8    probe: the server disagrees with the wire-facts table');
    const retries = await runCli(['probe', '--base-url', 'http://127.0.0.1:1', '--retries', '2']);
    expect(retries.code).toBe(2);
    expect(retries.stderr).toContain('--retries does not apply to probe');
    const fleet = await runCli(['probe', '--base-url', 'http://127.0.0.1:1,http://127.0.0.1:2']);
    expect(fleet.code).toBe(2);
    expect(fleet.stderr).toContain('probe takes one server');
  });
});

/** Answers every request with an error that echoes the Authorization header. */
function echoesKey(req: SeenRequest, res: ServerResponse): void {
  const json = (status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (req.method === 'GET' && req.url === '/v1/models') {
    json(200, { data: [{ id: 'm', owned_by: 'vllm' }] });
    return;
  }
  if (req.method === 'GET' && req.url === '/version') {
    json(200, { version: '0.11.0' });
    return;
  }
  json(400, { error: { message: `bad request from ${req.headers.authorization}`, code: 400 } });
}

describe('tokenwire probe: secrets and failures', () => {
  it('never prints the API key (flag or environment, debug on), even when the server echoes it', async () => {
    server = await startServer(echoesKey);
    const runs = [
      await runCli(['probe', '--base-url', server.url, '--api-key', KEY, '--debug'], { timeoutMs: 20_000 }),
      await runCli(['probe', '--base-url', server.url, '--json'], {
        env: { TOKENWIRE_API_KEY: KEY },
        timeoutMs: 20_000,
      }),
    ];
    expect(server.requests.filter((r) => r.headers.authorization === `Bearer ${KEY}`).length).toBeGreaterThan(
      2,
    );
    for (const result of runs) {
      // Every stream was refused: each is a disagreement, not a crash.
      expect(result.code, result.stderr).toBe(8);
      expect(result.stdout).toContain('bad request from');
      expect(result.stdout + result.stderr).not.toContain(KEY);
      expect(result.stdout + result.stderr).not.toContain(KEY.slice(3, 20));
    }
  });

  it('connection refused: exit 3 and the URL named', async () => {
    const port = await freePort();
    const result = await runCli(['probe', '--base-url', `http://127.0.0.1:${port}`]);
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`connection refused (GET http://127.0.0.1:${port}/v1/models)`);
  });
});

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
