/**
 * Runs the reliability matrix against the simulator: every fault × every
 * dialect, each cell asserting its one right outcome within its time budget,
 * with no socket left open afterwards.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CompletionResult, TokenwireError } from '../../src/index.js';
import { type Simulator, startSimulator } from '../../src/sim/index.js';
import { testClient } from '../helpers/client.js';
import {
  CLIENT_OPTIONS,
  DIALECTS,
  LIVE_IDS,
  MATRIX,
  MAX_TOKENS,
  type MatrixCase,
  type MatrixDialect,
  PROMPT,
  renderMatrixDoc,
} from './matrix.js';

/** One simulator per dialect: `:once` and `fail-first` counters are per server. */
const sims = new Map<MatrixDialect, Simulator>();
const baselines = new Map<MatrixDialect, CompletionResult>();

async function run(dialect: MatrixDialect, fault: string, timeouts?: MatrixCase['timeouts']) {
  const { client, logs } = testClient(sims.get(dialect)!.url, {
    dialect,
    headers: fault === '' ? {} : { 'x-sim-fault': fault },
    ...CLIENT_OPTIONS,
    timeouts: { ...CLIENT_OPTIONS.timeouts, ...timeouts },
  });
  const started = performance.now();
  try {
    const result = await client
      .streamCompletion({ prompt: PROMPT, maxTokens: MAX_TOKENS, sampling: { temperature: 0 } })
      .final();
    return { result, error: undefined, ms: performance.now() - started, logs };
  } catch (error) {
    return { result: undefined, error: error as TokenwireError, ms: performance.now() - started, logs };
  } finally {
    await client.close();
  }
}

beforeAll(async () => {
  for (const dialect of DIALECTS) {
    sims.set(dialect, await startSimulator({ dialect, seed: 11 }));
    const { result } = await run(dialect, '');
    baselines.set(dialect, result!);
  }
});

afterAll(async () => {
  for (const [dialect, sim] of sims) {
    // Every client closed its pool: nothing may stay open on the server side (the close
    // reaches the server a moment later, so give it a bounded while).
    for (let i = 0; i < 50 && sim.report().openSockets > 0; i++) await new Promise((r) => setTimeout(r, 20));
    const open = sim.report().openSockets;
    await sim.close();
    expect(open, `${dialect}: sockets left open`).toBe(0);
  }
});

describe('reliability matrix', () => {
  it.each(MATRIX.map((row) => [row.fault === '' ? '(none)' : row.fault, row] as const))(
    '%s × every dialect',
    async (_name, row) => {
      const cells = await Promise.all(DIALECTS.map((dialect) => run(dialect, row.fault, row.timeouts)));
      DIALECTS.forEach((dialect, i) => {
        const cell = cells[i];
        const expected = row.outcome(dialect);
        const where = `${row.fault || '(none)'} × ${dialect}`;
        expect(cell.ms, `${where}: took ${Math.round(cell.ms)} ms`).toBeLessThan(row.budgetMs);
        if ('ok' in expected) {
          expect(cell.error?.message, where).toBeUndefined();
          const result = cell.result!;
          const baseline = baselines.get(dialect)!;
          expect(result.text, where).toBe(baseline.text);
          expect(result.ids, where).toEqual(baseline.ids);
          expect(result.stats.resumes, where).toBe(expected.resumes);
          expect(result.stats.attempts, where).toBe(expected.attempts);
          expect(result.stats.parseErrors, where).toBe(expected.parseErrors ?? 0);
        } else {
          expect(cell.error, `${where}: expected ${expected.code}`).toBeDefined();
          const error = cell.error!;
          expect(error.code, `${where}: ${error.message}`).toBe(expected.code);
          expect(error.partial.length, where).toBe(expected.partial);
          if (expected.status !== undefined) expect(error.status, where).toBe(expected.status);
          const baseline = baselines.get(dialect)!;
          expect(error.partial.map((t) => t.text).join(''), where).toBe(
            baseline.tokens
              .slice(0, expected.partial)
              .map((t) => t.text)
              .join(''),
          );
        }
      });
    },
  );

  it('baselines: ids where the dialect sends them, the same text everywhere', () => {
    const vllm = baselines.get('vllm')!;
    expect(vllm.ids).toHaveLength(MAX_TOKENS);
    expect(LIVE_IDS).toEqual(['vllm', 'sglang', 'llamacpp', 'together']);
    for (const dialect of LIVE_IDS) expect(baselines.get(dialect)!.ids).toEqual(vllm.ids);
    for (const dialect of DIALECTS) expect(baselines.get(dialect)!.text).toBe(vllm.text);
    for (const dialect of DIALECTS.filter((d) => !LIVE_IDS.includes(d))) {
      expect(baselines.get(dialect)!.ids.every((id) => id === undefined)).toBe(true);
    }
  });
});

describe('docs/reliability.md', () => {
  it('is generated from the matrix the suite runs', () => {
    const path = join(import.meta.dirname, '..', '..', 'docs', 'reliability.md');
    const generated = renderMatrixDoc();
    if (process.env.UPDATE_DOCS === '1') writeFileSync(path, generated);
    expect(readFileSync(path, 'utf8')).toBe(generated);
  });
});
