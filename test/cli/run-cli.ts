/**
 * Runs the built CLI (dist/cli/main.js, built by `npm test` before vitest) as a
 * child process with a deadline, a clean environment and its own state dir.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import { Client } from '../../src/index.js';

export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/** Failed-request fixtures of the whole suite go here, never into the user's state dir. */
export const STATE_DIR = mkdtempSync(join(tmpdir(), 'tokenwire-cli-test-'));
// Registered in the test file that imports this module: its state dir goes with it.
afterAll(() => rmSync(STATE_DIR, { recursive: true, force: true }));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Standard input; none (an immediately closed pipe) by default. */
  input?: string;
  env?: Record<string, string>;
  /** Kill the child (SIGKILL) after this long; the test then fails on the code. Default 10 s. */
  timeoutMs?: number;
  /** Called on every stdout chunk with everything so far (e.g. to send SIGINT mid-stream). */
  onStdout?: (child: ChildProcess, stdout: string) => void;
}

/** Runs `tokenwire ...args` and resolves when it exits. */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    XDG_STATE_HOME: STATE_DIR,
    NO_COLOR: '1',
  };
  Object.assign(env, options.env);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 10_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      options.onStdout?.(child, stdout);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/**
 * Runs `tokenwire ...args` and sends it `signal` once its stdout is longer than
 * `afterChars` (mid-stream); `sent` says whether that happened before it exited.
 */
export async function runCliUntilSignal(
  args: string[],
  signal: NodeJS.Signals,
  afterChars = 20,
): Promise<CliResult & { sent: boolean }> {
  let sent = false;
  const result = await runCli(args, {
    onStdout(child, stdout) {
      if (!sent && stdout.length > afterChars) {
        sent = true;
        child.kill(signal);
      }
    },
  });
  return { ...result, sent };
}

/** The arguments of `tokenwire complete` against `baseUrl` with `prompt`; the caller adds the rest. */
export function completeArgs(baseUrl: string, prompt: string): string[] {
  return ['complete', '--base-url', baseUrl, '--prompt', prompt];
}

/** What the library itself streams for a request, to compare the CLI's output with. */
export async function libraryResult(baseUrl: string, prompt: number[] | string, maxTokens: number) {
  const client = new Client({ baseUrl, failedRequestsDir: false, retry: false });
  try {
    return await client.streamCompletion({ prompt, maxTokens }).final();
  } finally {
    await client.close();
  }
}

/** The JSON values of `--json` output, one per line (as loosely typed as JSON.parse's). */
// biome-ignore lint/suspicious/noExplicitAny: the tests read fields of lines of several shapes
export function jsonLines(stdout: string): any[] {
  return stdout
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line));
}
