/**
 * The failed-requests directory: writing a fixture (dir 0700, file 0600, unique
 * names), bounded in time so that it never delays or hides the error it records,
 * and retention (the oldest fixtures removed past a count and a total size).
 * Failures here are reported to the caller to log, never thrown at the stream.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readdir, stat, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { type FailedRequestFixture, sanitizeFixture } from './capture.js';

/**
 * Longest wait for a fixture to be written before the error is delivered without it.
 * A local disk writes a fixture in milliseconds; a hung network mount must not hold a
 * failed call (the write goes on in the background and its result is logged).
 */
export const CAPTURE_WRITE_TIMEOUT_MS = 2_000;

/** Default retention: fixtures kept (500 is weeks of failures for most users). */
export const DEFAULT_MAX_FIXTURE_FILES = 500;
/** Default retention: total bytes of fixtures kept (a fixture is ~20-40 KiB, so 100 MiB holds the 500). */
export const DEFAULT_MAX_FIXTURE_BYTES = 100 * 1024 * 1024;

/** Deepest directory path created for a fixture: a bound on the walk up to an existing parent. */
const MAX_DIR_DEPTH = 64;

/** What a fixture file is named like (only these are ever removed by retention). */
const FIXTURE_NAME = /^\d{4}-\d{2}-\d{2}T[\d-]+Z-[a-z_]+-[0-9a-f]{8}\.json$/;

/** How many fixtures, and how many bytes of them, a directory keeps. */
export interface Retention {
  maxFiles: number;
  maxBytes: number;
}

/** The default directory: `$XDG_STATE_HOME/tokenwire/failed-requests`, else under `~/.local/state`. */
export function defaultCaptureDir(env: NodeJS.ProcessEnv = process.env): string {
  const state =
    env.XDG_STATE_HOME && env.XDG_STATE_HOME !== '' ? env.XDG_STATE_HOME : join(homedir(), '.local', 'state');
  return join(state, 'tokenwire', 'failed-requests');
}

/**
 * `mkdir -p` with mode 0700, one level at a time. Not `mkdir(…, { recursive: true })`:
 * on Node 20 that never returns for a path it cannot create under an existing parent
 * (`/proc/nope` spins in the thread pool and keeps the process alive).
 */
async function ensureDir(dir: string, depth = 0): Promise<void> {
  try {
    await mkdir(dir, { mode: 0o700 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    const parent = dirname(dir);
    if (code !== 'ENOENT' || parent === dir || depth >= MAX_DIR_DEPTH) throw error;
    await ensureDir(parent, depth + 1);
    try {
      await mkdir(dir, { mode: 0o700 });
    } catch (again) {
      if ((again as NodeJS.ErrnoException).code !== 'EEXIST') throw again;
    }
  }
}

/**
 * Writes the fixture; returns its path. Creates the directory 0700 and the file 0600
 * with an exclusive open, so two failures in the same millisecond never overwrite.
 */
export async function writeFixture(
  dir: string,
  fixture: FailedRequestFixture,
  secrets: readonly (string | undefined)[],
): Promise<string> {
  await ensureDir(dir);
  // mkdir's mode is filtered by the umask and ignored for existing dirs: set it explicitly.
  await chmod(dir, 0o700);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const code = String(fixture.error.code ?? 'error').replace(/[^a-z_]/g, '_');
  const name = `${stamp}-${code}-${randomBytes(4).toString('hex')}.json`;
  const path = join(dir, name);
  const handle = await open(path, 'wx', 0o600);
  try {
    await handle.writeFile(`${sanitizeFixture(fixture, secrets)}\n`);
  } finally {
    await handle.close();
  }
  return path;
}

/** Directories being pruned now, and whether another prune was asked for meanwhile. */
const pruning = new Map<string, { again: boolean }>();

/**
 * Removes the oldest fixtures of `dir` until at most `maxFiles` and `maxBytes` remain
 * (the newest is always kept). Only files named like fixtures are touched. One prune
 * per directory at a time: failures that come in a burst share it.
 */
export async function pruneFixtures(dir: string, retention: Retention, keep?: string): Promise<number> {
  const running = pruning.get(dir);
  if (running) {
    running.again = true;
    return 0;
  }
  const state = { again: false };
  pruning.set(dir, state);
  let removed = 0;
  try {
    // Bounded: one more pass per burst, at most a few.
    for (let pass = 0; pass < 4; pass++) {
      state.again = false;
      removed += await pruneOnce(dir, retention, keep);
      if (!state.again) break;
    }
  } finally {
    pruning.delete(dir);
  }
  return removed;
}

async function pruneOnce(dir: string, retention: Retention, keep: string | undefined): Promise<number> {
  // ISO stamps first: name order is age order.
  const names = (await readdir(dir)).filter((name) => FIXTURE_NAME.test(name)).sort();
  const files: { path: string; size: number }[] = [];
  for (const name of names) {
    const path = join(dir, name);
    try {
      files.push({ path, size: (await stat(path)).size });
    } catch {
      // Removed meanwhile (another process pruning): nothing to count.
    }
  }
  let count = files.length;
  let bytes = files.reduce((sum, file) => sum + file.size, 0);
  let removed = 0;
  for (const file of files) {
    if (count <= retention.maxFiles && bytes <= retention.maxBytes) break;
    if (count === 1 || file.path === keep) continue;
    try {
      await unlink(file.path);
      removed++;
    } catch {
      // Already gone: it no longer counts either way.
    }
    count--;
    bytes -= file.size;
  }
  return removed;
}

/** How writing a fixture ended. */
export type FixtureOutcome = { path: string } | { error: string };

/**
 * Writes the fixture and applies retention, waiting at most `timeoutMs`. A write still
 * running then goes on in the background (`late` gets its outcome, for a log line).
 */
export function saveFixture(
  dir: string,
  fixture: FailedRequestFixture,
  secrets: readonly (string | undefined)[],
  retention: Retention,
  late: (outcome: FixtureOutcome) => void,
  timeoutMs = CAPTURE_WRITE_TIMEOUT_MS,
): Promise<FixtureOutcome> {
  const work = (async (): Promise<FixtureOutcome> => {
    const path = await writeFixture(dir, fixture, secrets);
    try {
      await pruneFixtures(dir, retention, path);
    } catch {
      // Retention is best effort: the fixture itself was written.
    }
    return { path };
  })().catch((error: unknown): FixtureOutcome => ({ error: String(error) }));
  return new Promise((resolve) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      resolve({ error: `writing the fixture to ${dir} took more than ${timeoutMs} ms` });
    }, timeoutMs);
    // A slow disk must not keep the process alive for the timer's sake.
    timer.unref();
    void work.then((outcome) => {
      clearTimeout(timer);
      if (timedOut) late(outcome);
      else resolve(outcome);
    });
  });
}
