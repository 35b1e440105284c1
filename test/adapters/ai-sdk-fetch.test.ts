/**
 * The real AI SDK (`streamText` over `@ai-sdk/openai-compatible`) against the
 * simulator's faults, with its own fetch and with `fetch: createFetch()` (rows in
 * sdk-faults.ts; the README table states them).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { TokenwireFetch } from '../../src/fetch/index.js';
import { type Simulator, startSimulator } from '../../src/sim/index.js';
import { expectOutcome } from './sdk-check.js';
import { type FaultRow, HUGE_LINE_AI_SDK_BUDGET_MS, MAX_TOKENS, ROWS, testFetch } from './sdk-faults.js';
import { runAiSdk } from './sdk-harness.js';

let sim: Simulator;
/** The simulator that paces its token events (rows with `tokenDelayMs`). */
let pacedSim: Simulator;
const fetches: TokenwireFetch[] = [];
const freshSims: Simulator[] = [];
const fullText = new Map<string, string>();

beforeAll(async () => {
  sim = await startSimulator({ dialect: 'vllm', model: 'm' });
  pacedSim = await startSimulator({ dialect: 'vllm', model: 'm', tokenDelayMs: 5 });
});
afterAll(async () => {
  await Promise.all(fetches.map((f) => f.close()));
  await sim.close();
  await pacedSim.close();
  await Promise.all(freshSims.map((s) => s.close()));
});

function rowFetch(row: FaultRow): TokenwireFetch {
  const fetch = testFetch(row);
  fetches.push(fetch);
  return fetch;
}

/**
 * The simulator of a row's run: a `:once` fault fires for the first request carrying it
 * only, so such a row gets a fresh simulator for each run (closed after the file).
 */
async function simFor(row: FaultRow): Promise<Simulator> {
  if (!row.fault.includes(':once')) return row.tokenDelayMs === undefined ? sim : pacedSim;
  const fresh = await startSimulator({ dialect: 'vllm', model: 'm', tokenDelayMs: row.tokenDelayMs });
  freshSims.push(fresh);
  return fresh;
}

async function baseline(dialect: string): Promise<string> {
  let text = fullText.get(dialect);
  if (text === undefined) {
    const run = await runAiSdk(sim.url, '', undefined, 5_000, { maxTokens: MAX_TOKENS, dialect });
    expect(run.kind).toBe('ok');
    text = run.text;
    fullText.set(dialect, text);
  }
  return text;
}

describe('AI SDK, its own fetch', () => {
  for (const row of ROWS) {
    test(`${row.fault || 'no fault'} (${row.dialect}): ${row.aiSdk.kind}`, { timeout: 30_000 }, async () => {
      const full = await baseline(row.dialect);
      const budget = row.fault.startsWith('huge-line') ? HUGE_LINE_AI_SDK_BUDGET_MS : row.budgetMs;
      const run = await runAiSdk((await simFor(row)).url, row.fault, undefined, budget, {
        maxTokens: MAX_TOKENS,
        dialect: row.dialect,
      });
      expectOutcome(run, row.aiSdk, full);
    });
  }
});

describe('AI SDK with fetch: createFetch()', () => {
  for (const row of ROWS) {
    test(`${row.fault || 'no fault'} (${row.dialect}): ${row.aiSdkFetch.kind} ${row.aiSdkFetch.code ?? ''}`, async () => {
      const full = await baseline(row.dialect);
      const run = await runAiSdk((await simFor(row)).url, row.fault, rowFetch(row), 5_000, {
        maxTokens: MAX_TOKENS,
        dialect: row.dialect,
      });
      expectOutcome(run, row.aiSdkFetch, full);
    });
  }
});
