import { describe, expect, test } from 'vitest';
import { startCluster } from '../../src/sim/index.js';
import { completeArgs, libraryResult, runCli } from './run-cli.js';

describe('tokenwire sim --replicas', () => {
  test('prints N URLs, one per line, each serving; SIGTERM stops them all', async () => {
    let urls: string[] = [];
    let served: Promise<number[]> | undefined;
    const result = await runCli(['sim', '--replicas', '3', '--quiet'], {
      onStdout(child, stdout) {
        const lines = stdout.split('\n').filter((l) => l !== '');
        if (urls.length === 0 && lines.length === 3) {
          urls = lines;
          served = Promise.all(urls.map((url) => fetch(`${url}/v1/models`).then((r) => r.status)));
          served.finally(() => child.kill('SIGTERM'));
        }
      },
    });
    expect(urls).toHaveLength(3);
    expect(new Set(urls).size).toBe(3);
    for (const url of urls) expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await served!).toEqual([200, 200, 200]);
    expect(result.code).toBe(0);
  });

  test.each([['0'], ['65'], ['x']])('--replicas %s is a usage error (exit 2)', async (value) => {
    const result = await runCli(['sim', '--replicas', value]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--replicas/);
  });
});

describe('tokenwire complete over several replicas', () => {
  test('--base-url a,b: the summary says which endpoint served', async () => {
    const cluster = await startCluster({ replicas: 2, dialect: 'vllm' });
    try {
      const result = await runCli([...completeArgs(cluster.urls.join(','), 'Hello'), '--max-tokens', '5']);
      expect(result.code).toBe(0);
      const summary = result.stderr.trim().split('\n').at(-1)!;
      expect(summary).toMatch(
        /^tokenwire: done: length, 5 tokens .*, 1 attempt, 0 resumes, served by http:\/\/127\.0\.0\.1:\d+ \(least-outstanding\)$/,
      );
      expect(cluster.urls.some((url) => summary.includes(url))).toBe(true);
    } finally {
      await cluster.close();
    }
  });

  test('--base-url repeated: a stream cut on one replica resumes on the other, and the summary says where', async () => {
    const cluster = await startCluster({ replicas: 2, dialect: 'vllm', faults: 'reset-after:3:once' });
    try {
      const args = [
        'complete',
        '--base-url',
        cluster.urls[0],
        '--base-url',
        cluster.urls[1],
        '--prompt',
        'Hello',
      ];
      const result = await runCli([...args, '--max-tokens', '8', '--retries', '4']);
      expect(result.code).toBe(0);
      const want = await libraryResult(cluster.urls[0], 'Hello', 8);
      expect(result.stdout).toBe(want.text);
      const summary = result.stderr.trim().split('\n').at(-1)!;
      const [a, b] = summary.match(/http:\/\/127\.0\.0\.1:\d+/g)!;
      expect(a).not.toBe(b);
      expect(summary).toMatch(/, 3 attempts, 2 resumes, endpoints /);
      // Both replicas cut once: then either may finish it (both were tried).
      const third = summary.slice(summary.lastIndexOf(' → ') + 3);
      expect([a, b]).toContain(third);
      expect(summary).toContain(
        `endpoints ${a} (connection_reset after 3 tokens) → ${b} (connection_reset after 3 tokens) → `,
      );
    } finally {
      await cluster.close();
    }
  });

  test('TOKENWIRE_ENDPOINTS names the replicas when --base-url is absent', async () => {
    const cluster = await startCluster({ replicas: 2, dialect: 'vllm' });
    try {
      const result = await runCli(['complete', '--prompt', 'Hi', '--max-tokens', '2'], {
        env: { TOKENWIRE_ENDPOINTS: cluster.urls.join(',') },
      });
      expect(result.code).toBe(0);
      expect(result.stderr).toMatch(/served by http:\/\/127\.0\.0\.1:\d+/);
    } finally {
      await cluster.close();
    }
  });

  test('a bad URL among several is a usage error naming it', async () => {
    const result = await runCli(['complete', '--base-url', 'http://127.0.0.1:1,ftp://x', '--prompt', 'Hi']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--base-url.*"ftp:\/\/x"/);
  });
});
