/**
 * The wire-facts table: per server and version, how to ask for ids, where they
 * are, usage, errors, refusals, finish reasons, priority and detection — each
 * fact with where it was verified. Dialects choose request flags from it; the
 * simulator emulates its rows; docs/servers.md and the README's dialect table
 * are generated from it (a test keeps them equal).
 *
 * Where this table and PROTOCOLS.md disagree, the table follows the servers'
 * source (see docs/servers.md).
 */
import type { DialectName } from '../types.js';
import { FIREWORKS, OPENAI, OPENROUTER, TOGETHER } from './wire-facts-hosted.js';
import { LLAMACPP_2026, LLAMACPP_B4748 } from './wire-facts-llamacpp.js';
import { SGLANG_CURRENT } from './wire-facts-sglang.js';
import type { WireFacts } from './wire-facts-types.js';
import { VLLM_CURRENT, VLLM_LEGACY } from './wire-facts-vllm.js';

export type * from './wire-facts-types.js';

/** Every row, newest version of each server first. */
export const WIRE_FACTS: readonly WireFacts[] = [
  VLLM_CURRENT,
  VLLM_LEGACY,
  SGLANG_CURRENT,
  LLAMACPP_2026,
  LLAMACPP_B4748,
  TOGETHER,
  FIREWORKS,
  OPENAI,
  OPENROUTER,
];

/** The row with this label (`vllm@0.11`, `llamacpp@b4748`, `together`), or undefined. */
export function wireFactsByLabel(label: string): WireFacts | undefined {
  return WIRE_FACTS.find((row) => row.label === label);
}

/**
 * Compares dotted version numbers (`0.10.2` < `0.11.0`); non-numeric parts
 * (`0.11.0rc1`, `b4748`) are read by their leading digits.
 */
export function compareVersions(a: string, b: string): number {
  const left = a.split('.');
  const right = b.split('.');
  const length = Math.max(left.length, right.length);
  for (let i = 0; i < length; i++) {
    const x = Number.parseInt((left[i] ?? '0').replace(/^\D+/, ''), 10) || 0;
    const y = Number.parseInt((right[i] ?? '0').replace(/^\D+/, ''), 10) || 0;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/**
 * The row for a dialect at a version: the one whose `versions` range holds it, or
 * the dialect's newest row when the version is unknown (undefined) or matches none.
 */
export function wireFactsFor(dialect: DialectName, version?: string): WireFacts {
  const rows = WIRE_FACTS.filter((row) => row.dialect === dialect);
  if (version !== undefined) {
    for (const row of rows) {
      const { from, below } = row.versions;
      if (from !== undefined && compareVersions(version, from) < 0) continue;
      if (below !== undefined && compareVersions(version, below) >= 0) continue;
      return row;
    }
  }
  return rows[0] as WireFacts;
}
