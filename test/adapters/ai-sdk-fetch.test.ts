/**
 * The real AI SDK (`streamText` over `@ai-sdk/openai-compatible`) against the
 * simulator's faults, with its own fetch and with `fetch: createFetch()` (rows in
 * sdk-faults.ts; the README table states them).
 */
import { describe, test } from 'vitest';
import { expectOutcome } from './sdk-check.js';
import { HUGE_LINE_AI_SDK_BUDGET_MS, MAX_TOKENS, ROWS } from './sdk-faults.js';
import { runAiSdk } from './sdk-harness.js';
import { sdkRig } from './sdk-rig.js';

const rig = sdkRig(runAiSdk);

describe('AI SDK, its own fetch', () => {
  for (const row of ROWS) {
    test(`${row.fault || 'no fault'} (${row.dialect}): ${row.aiSdk.kind}`, { timeout: 30_000 }, async () => {
      const full = await rig.baseline(row.dialect);
      const budget = row.fault.startsWith('huge-line') ? HUGE_LINE_AI_SDK_BUDGET_MS : row.budgetMs;
      const run = await runAiSdk((await rig.simFor(row)).url, row.fault, undefined, budget, {
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
      const full = await rig.baseline(row.dialect);
      const run = await runAiSdk((await rig.simFor(row)).url, row.fault, rig.rowFetch(row), 5_000, {
        maxTokens: MAX_TOKENS,
        dialect: row.dialect,
      });
      expectOutcome(run, row.aiSdkFetch, full);
    });
  }
});
