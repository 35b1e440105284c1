/**
 * The other commands as a user runs them: chat, tokenize, detokenize, models,
 * replay, sim, demo, and --help / --version everywhere.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SIM_FAULTS } from '../../src/cli/sim-faults.js';
import { parseFaults } from '../../src/sim/faults.js';
import { type Simulator, startSimulator, tokenize } from '../../src/sim/index.js';
import { completeArgs, jsonLines, runCli, STATE_DIR } from './run-cli.js';

let sim: Simulator;
let openaiSim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({ dialect: 'vllm' });
  openaiSim = await startSimulator({ dialect: 'openai' });
});
afterAll(async () => {
  await sim.close();
  await openaiSim.close();
});

const COMMANDS = ['complete', 'chat', 'tokenize', 'detokenize', 'models', 'probe', 'replay', 'sim', 'demo'];

describe.concurrent('help and version', () => {
  test.each(COMMANDS)('tokenwire %s --help exits 0 with usage and examples', async (name) => {
    const result = await runCli([name, '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout.startsWith(`Usage: tokenwire ${name}`)).toBe(true);
    expect(result.stdout).toMatch(/Examples?:\n {2}tokenwire /);
    expect(result.stderr).toBe('');
  });

  test('tokenwire --help lists every command and the exit codes', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    for (const name of COMMANDS) expect(result.stdout).toContain(`\n  ${name} `);
    expect(result.stdout).toContain('130  interrupted');
  });

  test('--version prints the package version', async () => {
    const { VERSION } = await import('../../src/version.js');
    const result = await runCli(['--version']);
    expect(result).toMatchObject({ code: 0, stdout: `${VERSION}\n` });
  });

  test('an unknown command is a usage error', async () => {
    const result = await runCli(['compleet']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^tokenwire: unknown command "compleet"/);
  });
});

describe.concurrent('chat', () => {
  test('text on stdout, reasoning marked on stderr, one summary line', async () => {
    const result = await runCli([
      'chat',
      '--base-url',
      sim.url,
      '--message',
      'hi',
      '--max-tokens',
      '8',
      '--header',
      'x-sim-reasoning: 3',
    ]);
    expect(result.code).toBe(0);
    const lines = result.stderr.split('\n');
    expect(lines[0]).toBe('tokenwire: reasoning:');
    expect(lines.at(-2)).toMatch(/^tokenwire: done: length, 8 tokens in /);
    expect(result.stdout.length).toBeGreaterThan(0);
  });

  test('--json: text, reasoning, tool_call and done lines with their shapes', async () => {
    const tools = join(STATE_DIR, 'tools.json');
    writeFileSync(tools, JSON.stringify([{ type: 'function', function: { name: 'get_weather' } }]));
    const result = await runCli(
      [
        'chat',
        '--base-url',
        sim.url,
        '--max-tokens',
        // 2 reasoning tokens and the 48 of the whole tool call: max_tokens bounds the call too.
        '60',
        '--tools',
        tools,
        '--json',
        '--header',
        'x-sim-reasoning: 2',
      ],
      { input: 'What is the weather?' },
    );
    expect(result.code).toBe(0);
    const lines = jsonLines(result.stdout);
    const types = new Set(lines.map((line) => line.type));
    expect([...types].sort()).toEqual(['done', 'reasoning', 'text', 'tool_call']);
    const call = lines.find((line) => line.type === 'tool_call');
    expect(Object.keys(call.call).sort()).toEqual(['arguments', 'id', 'index', 'name', 'parsedArguments']);
    expect(call.call.name).toBe('get_weather');
    const done = lines.at(-1);
    expect(done).toMatchObject({ type: 'done', finishReason: 'tool_calls', message: { role: 'assistant' } });
    expect(done.message.toolCalls).toHaveLength(1);
    // The server's id and model (the simulator's chat ids: chatcmpl- + 32 hex digits).
    expect(done.responseId).toMatch(/^chatcmpl-[0-9a-f]{32}$/);
    expect(done.model).toBe('sim-model');
  });

  test('--messages FILE and --system build the conversation', async () => {
    const file = join(STATE_DIR, 'messages.json');
    writeFileSync(file, JSON.stringify({ messages: [{ role: 'user', content: 'one' }] }));
    sim.resetReport();
    const result = await runCli([
      'chat',
      '--base-url',
      sim.url,
      '--messages',
      file,
      '--system',
      'be brief',
      '--message',
      'two',
      '-q',
      '--max-tokens',
      '2',
    ]);
    expect(result.code).toBe(0);
    const request = sim
      .report()
      .requests.find((r) => r.path === '/v1/chat/completions' && JSON.stringify(r.body).includes('be brief'));
    expect(request).toBeDefined();
    expect((request!.body as { messages: unknown }).messages).toEqual([
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'one' },
      { role: 'user', content: 'two' },
    ]);
  });
});

describe.concurrent('tokenize, detokenize, models', () => {
  test('tokenize prints the server tokenizer ids, comma-separated or --json', async () => {
    const want = tokenize('Hello world');
    const [plain, json] = await Promise.all([
      runCli(['tokenize', '--base-url', sim.url, 'Hello world']),
      runCli(['tokenize', '--base-url', sim.url, '--json'], { input: 'Hello world' }),
    ]);
    expect(plain).toMatchObject({ code: 0, stdout: `${want.join(',')}\n` });
    expect(json).toMatchObject({ code: 0, stdout: `${JSON.stringify(want)}\n` });
  });

  test('detokenize round-trips', async () => {
    const ids = tokenize('Hello world');
    const result = await runCli(['detokenize', '--base-url', sim.url, ids.join(',')]);
    expect(result).toMatchObject({ code: 0, stdout: 'Hello world' });
  });

  test('tokenize on a server without a tokenizer exits 7', async () => {
    const result = await runCli(['tokenize', '--base-url', openaiSim.url, '--dialect', 'openai', 'x']);
    expect(result.code).toBe(7);
    expect(result.stderr).toMatch(/^tokenwire: unsupported: /);
  });

  test('models lists the model and the detected dialect', async () => {
    const result = await runCli(['models', '--base-url', sim.url]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^sim-model\t/);
    expect(result.stderr).toBe(`tokenwire: dialect vllm (${sim.url})\n`);
  });
});

describe.concurrent('replay', () => {
  test('a captured failure: --show prints it, replay fails the same way, then succeeds without the fault', async () => {
    const dir = join(STATE_DIR, 'replay-capture');
    const failed = await runCli([
      ...completeArgs(sim.url, 'x'),
      '--max-tokens',
      '6',
      '--no-retry',
      '--capture-dir',
      dir,
      '--header',
      'x-sim-fault: truncate-after:2',
    ]);
    expect(failed.code).toBe(6);
    const [file] = readdirSync(dir);
    const path = join(dir, file);
    expect(failed.stderr).toContain(
      `tokenwire: failed request saved to ${path} (replay: tokenwire replay ${path})`,
    );

    const show = await runCli(['replay', path, '--show']);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain(`> POST ${sim.url}/v1/completions`);
    expect(show.stdout).toContain('> x-sim-fault: truncate-after:2');
    expect(show.stdout).toContain('< 200');
    expect(show.stdout).toMatch(/\n\| data: \{/);

    const [same, fixed] = await Promise.all([
      runCli(['replay', path, '--no-capture']),
      runCli(['replay', path, '--no-capture', '--header', 'x-sim-fault: keepalive:1000']),
    ]);
    expect(same.code).toBe(6);
    expect(same.stderr).toContain('tokenwire: replay: fails the same way (stream_truncated) after 2 tokens');
    expect(fixed.code).toBe(0);
    expect(fixed.stderr).toContain(
      'tokenwire: replay: now succeeds: length, 6 tokens (captured: stream_truncated)',
    );
  });

  test('a file that is not a fixture is a usage error', async () => {
    const path = join(STATE_DIR, 'not-a-fixture.json');
    writeFileSync(path, '{"hello": 1}');
    const result = await runCli(['replay', path]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/is not a tokenwire failed-request fixture/);
  });
});

describe.concurrent('sim and demo', () => {
  test('the fault table in sim --help is exactly the simulator fault list', () => {
    let known: string[] = [];
    try {
      parseFaults('no-such-fault');
    } catch (error) {
      known = /known: ([^)]*)\)/.exec((error as Error).message)![1].split(', ');
    }
    const documented = SIM_FAULTS.map(([spec]) => spec.split(':')[0].replace(/\[.*$/, ''));
    expect(documented.sort()).toEqual(known.sort());
  });

  test('sim --help names every x-sim-* header the simulator reads, and its JSON report', async () => {
    const simDir = join(import.meta.dirname, '../../src/sim');
    const read = new Set<string>();
    for (const file of readdirSync(simDir)) {
      for (const match of readFileSync(join(simDir, file), 'utf8').matchAll(/x-sim-[a-z-]+/g))
        read.add(match[0]);
    }
    expect(read.size).toBeGreaterThanOrEqual(5);
    const help = (await runCli(['sim', '--help'])).stdout;
    for (const header of read) expect(help, header).toContain(`${header}:`);
    expect(help).toContain('GET /sim/report');
  });

  test('README and sim --help spell every fault the same way', () => {
    const readme = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8');
    const section = readme.slice(
      readme.indexOf('- Faults (`faults`'),
      readme.indexOf('`:once`', readme.indexOf('- Faults (`faults`')),
    );
    const inReadme = [...section.matchAll(/`([a-z][^`]*)`/g)]
      .map((m) => m[1])
      .filter((s) => s !== 'faults' && s !== 'x-sim-fault');
    expect(inReadme).toEqual(SIM_FAULTS.map(([spec]) => spec));
  });

  test('tokenwire sim prints its URL, serves, and exits 0 on SIGTERM', async () => {
    let url = '';
    let served: Promise<Response> | undefined;
    const result = await runCli(['sim', '--fault', 'keepalive:50', '--seed', '3'], {
      onStdout(child, stdout) {
        if (url === '' && stdout.includes('\n')) {
          url = stdout.trim();
          served = fetch(`${url}/v1/models`);
          served.then(
            () => child.kill('SIGTERM'),
            () => child.kill('SIGTERM'),
          );
        }
      },
    });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await served!).status).toBe(200);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/tokenwire: simulator stopped \(SIGTERM\): 1 requests/);
  });

  test('tokenwire sim rejects a bad fault with exit 2', async () => {
    const result = await runCli(['sim', '--fault', 'reset-after:x']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^tokenwire: invalid --fault: fault 'reset-after:x'/);
  });

  test('tokenwire demo survives the reset and the stall and exits 0 by itself', async () => {
    const result = await runCli(['demo'], { timeoutMs: 15_000 });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('connection_reset: resumed by continuation at token 13');
    expect(result.stdout).toContain('idle_timeout: resumed by continuation at token 33');
    expect(result.stdout).toMatch(/done: finish length, 48 tokens, 3 attempts, 2 resumes/);
    expect(result.stdout).toContain('✓ the ids equal an uninterrupted run');
  });
});
