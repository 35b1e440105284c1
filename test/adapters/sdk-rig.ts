/**
 * What both SDK fault suites share: the simulators a row runs on, the fetches they
 * make (closed after the file), and each dialect's uninterrupted text, read once with
 * the suite's own SDK. Call it at the top of a test file: it registers the file's hooks.
 */
import { afterAll, beforeAll, expect } from 'vitest';
import type { TokenwireFetch } from '../../src/fetch/index.js';
import { type Simulator, startSimulator } from '../../src/sim/index.js';
import { type FaultRow, MAX_TOKENS, testFetch } from './sdk-faults.js';
import type { runOpenAI } from './sdk-harness.js';

/** The SDK runner a suite uses (`runOpenAI` or `runAiSdk`, same signature). */
export type SdkRunner = typeof runOpenAI;

export interface SdkRig {
  /** The plain simulator (vLLM dialect, model `m`), started before the file's tests. */
  readonly sim: Simulator;
  /** Fetches closed after the file. */
  readonly fetches: TokenwireFetch[];
  /** Simulators closed after the file. */
  readonly freshSims: Simulator[];
  /** A row's `createFetch`, closed after the file. */
  rowFetch(row: FaultRow): TokenwireFetch;
  /**
   * The simulator of a row's run: a `:once` fault fires for the first request carrying it
   * only, so such a row gets a fresh simulator for each run (closed after the file).
   */
  simFor(row: FaultRow): Promise<Simulator>;
  /** The uninterrupted text of a dialect's stream, read once with the suite's SDK. */
  baseline(dialect: string): Promise<string>;
}

export function sdkRig(run: SdkRunner): SdkRig {
  let sim: Simulator | undefined;
  /** The simulator that paces its token events (rows with `tokenDelayMs`). */
  let pacedSim: Simulator | undefined;
  const fetches: TokenwireFetch[] = [];
  const freshSims: Simulator[] = [];
  const fullText = new Map<string, string>();

  beforeAll(async () => {
    sim = await startSimulator({ dialect: 'vllm', model: 'm' });
    pacedSim = await startSimulator({ dialect: 'vllm', model: 'm', tokenDelayMs: 5 });
  });
  afterAll(async () => {
    await Promise.all(fetches.map((f) => f.close()));
    await sim?.close();
    await pacedSim?.close();
    await Promise.all(freshSims.map((s) => s.close()));
  });

  const rig: SdkRig = {
    get sim(): Simulator {
      if (sim === undefined) throw new Error('sdkRig: the simulator starts in beforeAll');
      return sim;
    },
    fetches,
    freshSims,
    rowFetch(row) {
      const fetch = testFetch(row);
      fetches.push(fetch);
      return fetch;
    },
    async simFor(row) {
      if (!row.fault.includes(':once')) {
        const shared = row.tokenDelayMs === undefined ? sim : pacedSim;
        if (shared === undefined) throw new Error('sdkRig: the simulators start in beforeAll');
        return shared;
      }
      const fresh = await startSimulator({ dialect: 'vllm', model: 'm', tokenDelayMs: row.tokenDelayMs });
      freshSims.push(fresh);
      return fresh;
    },
    async baseline(dialect) {
      let text = fullText.get(dialect);
      if (text === undefined) {
        const result = await run(rig.sim.url, '', undefined, 5_000, { maxTokens: MAX_TOKENS, dialect });
        expect(result.kind).toBe('ok');
        text = result.text;
        fullText.set(dialect, text);
      }
      return text;
    },
  };
  return rig;
}
