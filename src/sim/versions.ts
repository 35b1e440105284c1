/**
 * Named server versions the simulator emulates (`vllm@0.11`, `sglang@0.5`,
 * `llamacpp@b4748`, `llamacpp@2026`, `together`, `fireworks`, …): one per row of
 * the wire-facts table (src/dialects/wire-facts.ts), which says — with a
 * citation for each fact — how that version's wire looks. The encoders read the
 * row where a fact changes the bytes (role chunk, where usage goes, the in-stream
 * error shape, the reasoning field, which id flags are honoured, refusals), so
 * the simulator follows the table, and the recorded fixtures check both
 * (test/sim/recorded-compare.test.ts).
 *
 * A plain dialect name is that server's row: `vllm` is `vllm@0.11` and `sglang`
 * is `sglang@0.5` (the current servers: `delta.reasoning`, vLLM's 400 for a
 * non-zero priority, SGLang's end-of-stream chat ids), `llamacpp` is
 * `llamacpp@2026` (the 2026 master recordings, b10587); hosted rows' labels are
 * plain names already. A test that needs an older wire names it (`vllm@0.10.1`,
 * `llamacpp@b4748`).
 */
import { WIRE_FACTS, type WireFacts, wireFactsByLabel } from '../dialects/wire-facts.js';
import { DIALECTS, type SimDialect } from './request.js';

/** The dialect a request is answered in: the encoder family, and the table row it emulates. */
export interface SimWire {
  /** The encoder family (and error shapes, headers, utility routes). */
  base: SimDialect;
  /** The emulated version's label, or the plain dialect name. */
  label: string;
  /** The wire-facts row being emulated (a plain name is its row's alias: see PLAIN_NAMES). */
  facts?: WireFacts;
}

/** Table rows whose dialect the simulator has an encoder family for. */
function emulated(row: WireFacts): boolean {
  return (DIALECTS as readonly string[]).includes(row.dialect);
}

/** Every version label the simulator emulates, in the table's order. */
export const SIM_VERSIONS: readonly string[] = WIRE_FACTS.filter(emulated).map((row) => row.label);

/** Plain names and version labels, as `--dialect` and `x-sim-dialect` accept them. */
export const SIM_WIRES: readonly string[] = [
  ...DIALECTS,
  ...SIM_VERSIONS.filter((label) => !(DIALECTS as readonly string[]).includes(label)),
];

/** The wire for a `--dialect` / `x-sim-dialect` value, or undefined when unknown. */
export function resolveWire(name: string): SimWire | undefined {
  const row = WIRE_FACTS.find((candidate) => candidate.label === name && emulated(candidate));
  if (row !== undefined) return { base: row.dialect as SimDialect, label: row.label, facts: row };
  if (!(DIALECTS as readonly string[]).includes(name)) return undefined;
  const alias = PLAIN_NAMES[name as SimDialect];
  const facts = alias === undefined ? undefined : wireFactsByLabel(alias);
  return { base: name as SimDialect, label: name, facts };
}

/** The row a plain name emulates (rows whose label is the plain name are found by label). */
const PLAIN_NAMES: Partial<Record<SimDialect, string>> = {
  vllm: 'vllm@0.11',
  sglang: 'sglang@0.5',
  llamacpp: 'llamacpp@2026',
};
