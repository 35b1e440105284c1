import { describe, expect, test } from 'vitest';
import { runCli } from './run-cli.js';

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
