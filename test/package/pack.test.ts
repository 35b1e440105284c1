/**
 * The published package, as a user gets it: `npm pack` (of the dist/ that `npm test`
 * built before vitest), installed offline into a fresh consumer project, then used from
 * CommonJS, ESM and TypeScript (node16, nodenext, bundler), each running a stream against
 * the simulator. Also: what the tarball contains (and its size), and @arethetypeswrong/cli
 * on it.
 *
 * Offline: the tarball's one dependency, undici, is packed from this repository's
 * node_modules and installed beside it (`npm install --offline` with an empty cache), so
 * no registry is asked.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate } from '../../src/sim/index.js';
import { CJS_PROGRAM, ESM_PROGRAM, entriesProgram, tsconfig, tsEntries, tsProgram } from './consumers.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
/** Every entry point but package.json: '.', './sim', … */
const SUBPATHS = Object.keys(PKG.exports).filter((subpath) => subpath !== './package.json');

/**
 * Size budget of the tarball (gzip) and of what it unpacks to. At 0.1.0 (library, CLI and
 * simulator, ESM and CommonJS): about 220 KB packed, 1.2 MB unpacked. Room for the planned
 * entry points; a jump past this is something shipped by mistake. Raised from 400 KB when
 * held-text recovery at resume (stream/held-text.ts, resume-text.ts, resume-stop.ts, the
 * holdback wire facts and the simulator's emulation) took it to 404,755 bytes packed and
 * 2,215,455 unpacked.
 */
const MAX_PACKED_BYTES = 440_000;
const MAX_UNPACKED_BYTES = 2_400_000;

/** npm without the settings of the `npm test` that runs us (they would point it elsewhere). */
function npmEnv(cache: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.toLowerCase().startsWith('npm_')) env[key] = value;
  }
  env.npm_config_cache = cache;
  env.npm_config_update_notifier = 'false';
  return env;
}

let work: string;
let consumer: string;
let env: NodeJS.ProcessEnv;
let tarball: string;

async function node(file: string): Promise<Record<string, unknown>> {
  const { stdout } = await run(process.execPath, [file], { cwd: consumer, timeout: 30_000 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!);
}

beforeAll(async () => {
  if (!existsSync(join(ROOT, 'dist', 'cjs', 'package.json'))) {
    throw new Error('dist/ is not built: run `npm run build` (npm test does) before this test');
  }
  work = mkdtempSync(join(tmpdir(), 'tokenwire-pack-'));
  env = npmEnv(join(work, 'npm-cache'));
  // --ignore-scripts: dist/ is built already; prepack would rebuild it under the other tests' feet.
  const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], {
    cwd: ROOT,
    env,
    timeout: 60_000,
  });
  tarball = join(work, JSON.parse(packed.stdout)[0].filename);
  const undici = await run(
    'npm',
    ['pack', '--ignore-scripts', '--json', '--pack-destination', work, join(ROOT, 'node_modules', 'undici')],
    { cwd: work, env, timeout: 60_000 },
  );
  const undiciTarball = join(work, JSON.parse(undici.stdout)[0].filename);

  consumer = join(work, 'consumer');
  mkdirSync(consumer);
  // What `npm init -y` writes with npm 11: a CommonJS project.
  writeFileSync(
    join(consumer, 'package.json'),
    JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'commonjs' }),
  );
  await run(
    'npm',
    ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball, undiciTarball],
    { cwd: consumer, env, timeout: 120_000 },
  );
}, 180_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it('holds the build, README, LICENSE and package.json only, within its size budget', async () => {
    const { stdout } = await run('npm', ['pack', '--dry-run', '--ignore-scripts', '--json'], {
      cwd: ROOT,
      env,
      timeout: 60_000,
    });
    const [info] = JSON.parse(stdout) as [
      { size: number; unpackedSize: number; files: { path: string; size: number }[] },
    ];
    const paths = info.files.map((file) => file.path);
    const unexpected = paths.filter(
      (path) =>
        !['package.json', 'README.md', 'LICENSE', 'dist/cjs/package.json'].includes(path) &&
        !/^dist\/.+\.(js|d\.ts)$/.test(path),
    );
    expect(unexpected).toEqual([]);
    // No source maps (they would point at src/, which is not shipped), no tests, no build info.
    expect(paths.filter((path) => /\.map$|^src\/|^test\/|tsbuildinfo/.test(path))).toEqual([]);
    // Every file "exports", "main", "types" and "bin" name is in it.
    const named = [PKG.main, PKG.types, ...Object.values(PKG.bin as Record<string, string>)];
    for (const subpath of SUBPATHS) {
      for (const condition of Object.values(PKG.exports[subpath] as Record<string, Record<string, string>>)) {
        named.push(...Object.values(condition));
      }
    }
    for (const file of named) expect(paths).toContain(file.replace(/^\.\//, ''));
    // The CLI is not CommonJS: it is not duplicated under dist/cjs.
    expect(paths.filter((path) => path.startsWith('dist/cjs/cli/'))).toEqual([]);
    expect(info.size).toBeLessThanOrEqual(MAX_PACKED_BYTES);
    expect(info.unpackedSize).toBeLessThanOrEqual(MAX_UNPACKED_BYTES);
    expect(readFileSync(join(ROOT, 'LICENSE'), 'utf8')).toContain('Copyright (c) 2026 the tokenwire authors');
  });

  it('has no problem @arethetypeswrong/cli knows of, for any entry point (node16 CJS and ESM, bundler)', async () => {
    const attw = join(ROOT, 'node_modules', '.bin', 'attw');
    const result = await run(attw, [tarball, '--profile', 'node16', '--format', 'json'], {
      cwd: work,
      env,
      timeout: 120_000,
      maxBuffer: 64 * 1024 * 1024,
    }).catch((error: Error & { stdout?: string; stderr?: string; signal?: NodeJS.Signals | null }) => {
      // attw exits non-zero with its report when it finds problems; a binary that is missing,
      // cannot start or is killed (the timeout) prints nothing: its own error says what happened.
      const why = `${error.message.split('\n')[0]}${error.signal ? ` (killed by ${error.signal})` : ''}`;
      throw new Error(`attw failed: ${why}\n${error.stdout ?? ''}${error.stderr ?? ''}`);
    });
    const report = JSON.parse(result.stdout) as { problems: Record<string, { resolutionKind?: string }[]> };
    // node10 (TypeScript's pre-"exports" resolution) cannot see subpaths; the profile ignores it.
    const problems = Object.values(report.problems)
      .flat()
      .filter((problem) => problem.resolutionKind !== 'node10');
    expect(problems).toEqual([]);
  }, 150_000);
});

describe('an installed tarball, in a CommonJS project (npm init)', () => {
  /** The simulator's greedy continuation of [1, 2, 3]: what every program must print. */
  const expectedIds = generate([1, 2, 3], 8);

  function expectExact(output: Record<string, unknown>, kind: string): void {
    expect(output).toMatchObject({
      kind,
      ids: expectedIds,
      first: expectedIds[0],
      finishReason: 'length',
      resumes: 1,
      errorClass: 'function',
    });
  }

  it('runs a stream with require() (CommonJS) and with import (ESM)', async () => {
    writeFileSync(join(consumer, 'cjs.js'), CJS_PROGRAM);
    writeFileSync(join(consumer, 'esm.mjs'), ESM_PROGRAM);
    const [cjs, esm] = await Promise.all([node('cjs.js'), node('esm.mjs')]);
    expectExact(cjs, 'cjs');
    expectExact(esm, 'esm');
    expect(cjs.text).toBe(esm.text);
  });

  it('installs the tokenwire command', async () => {
    const { stdout } = await run(join(consumer, 'node_modules', '.bin', 'tokenwire'), ['--help'], {
      cwd: consumer,
      timeout: 30_000,
    });
    expect(stdout).toContain('tokenwire complete');
  });

  it('gives the same export names from require() and import, for every entry point', async () => {
    writeFileSync(join(consumer, 'entries.js'), entriesProgram(SUBPATHS, 'cjs'));
    writeFileSync(join(consumer, 'entries.mjs'), entriesProgram(SUBPATHS, 'esm'));
    const [cjs, esm] = await Promise.all([node('entries.js'), node('entries.mjs')]);
    expect(Object.keys(cjs)).toEqual(SUBPATHS);
    expect(cjs).toEqual(esm);
    for (const subpath of SUBPATHS) expect((cjs[subpath] as string[]).length).toBeGreaterThan(0);
    expect(cjs['.']).toContain('Client');
    expect(cjs['./sim']).toContain('startSimulator');
  });

  it('type-checks and runs TypeScript with node16, nodenext and bundler resolution', async () => {
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const typeRoots = join(ROOT, 'node_modules', '@types');
    const modes = ['node16', 'nodenext', 'bundler'] as const;
    for (const mode of modes) {
      // With bundler resolution there is no CommonJS: a .ts file is ESM there.
      const files =
        mode === 'bundler'
          ? [`${mode}-esm.ts`, `${mode}-entries.ts`]
          : [`${mode}-cjs.ts`, `${mode}-esm.mts`, `${mode}-entries.ts`, `${mode}-entries.mts`];
      for (const file of files) {
        const kind = `ts-${file.replace(/\.m?ts$/, '')}`;
        writeFileSync(join(consumer, file), file.includes('entries') ? tsEntries(SUBPATHS) : tsProgram(kind));
      }
      writeFileSync(
        join(consumer, `tsconfig.${mode}.json`),
        JSON.stringify(tsconfig(mode, files, typeRoots)),
      );
    }
    mkdirSync(join(consumer, 'out-bundler'), { recursive: true });
    writeFileSync(join(consumer, 'out-bundler', 'package.json'), JSON.stringify({ type: 'module' }));
    // Type errors are on stdout; all three at once (each loads @types/node and undici's types).
    await Promise.all(
      modes.map((mode) =>
        run(process.execPath, [tsc, '-p', `tsconfig.${mode}.json`], {
          cwd: consumer,
          timeout: 120_000,
        }).catch((error: { stdout?: string }) => {
          throw new Error(`tsc (${mode}) failed:\n${error.stdout ?? error}`);
        }),
      ),
    );
    const outputs = await Promise.all([
      node('out-node16/node16-cjs.js'),
      node('out-node16/node16-esm.mjs'),
      node('out-nodenext/nodenext-cjs.js'),
      node('out-nodenext/nodenext-esm.mjs'),
      node('out-bundler/bundler-esm.js'),
    ]);
    const kinds = ['ts-node16-cjs', 'ts-node16-esm', 'ts-nodenext-cjs', 'ts-nodenext-esm', 'ts-bundler-esm'];
    for (const [i, output] of outputs.entries()) expectExact(output, kinds[i]!);
  }, 150_000);
});
