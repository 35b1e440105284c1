/**
 * docs/servers.md and the README's dialect table are renderings of the
 * wire-facts table: this test fails when they disagree with it.
 * `UPDATE_DOCS=1` rewrites both from the table.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  compareVersions,
  WIRE_FACTS,
  wireFactsByLabel,
  wireFactsFor,
} from '../../src/dialects/wire-facts.js';
import { README_END, README_START, renderReadmeTable, renderServersDoc } from '../helpers/servers-doc.js';

const SERVERS_DOC = new URL('../../docs/servers.md', import.meta.url);
const README = new URL('../../README.md', import.meta.url);
const update = process.env.UPDATE_DOCS === '1';

describe('wire-facts table', () => {
  it('docs/servers.md is the rendering of the table', () => {
    const rendered = renderServersDoc();
    if (update) writeFileSync(SERVERS_DOC, rendered);
    expect(existsSync(SERVERS_DOC)).toBe(true);
    expect(readFileSync(SERVERS_DOC, 'utf8')).toBe(rendered);
  });

  it("the README's dialect table is the rendering of the table", () => {
    const readme = readFileSync(README, 'utf8');
    const start = readme.indexOf(README_START);
    const end = readme.indexOf(README_END);
    expect(start, 'README has the dialect-table markers').toBeGreaterThanOrEqual(0);
    expect(end).toBeGreaterThan(start);
    const current = readme.slice(start, end + README_END.length);
    if (update) writeFileSync(README, readme.replace(current, renderReadmeTable()));
    expect(current).toBe(renderReadmeTable());
  });

  it('every fact cites at least one place, and labels are unique', () => {
    const labels = new Set<string>();
    for (const row of WIRE_FACTS) {
      expect(labels.has(row.label), row.label).toBe(false);
      labels.add(row.label);
      const facts = [
        row.completions.ids,
        row.completions.usage,
        row.chat.ids,
        row.chat.usage,
        row.inStreamError,
        row.priority,
        row.detection,
        ...row.httpErrors,
        ...row.refusals,
      ];
      for (const fact of facts)
        expect(fact.cite.length, `${row.label}: ${JSON.stringify(fact)}`).toBeGreaterThan(0);
      expect(row.completions.cite.length).toBeGreaterThan(0);
      expect(row.chat.cite.length).toBeGreaterThan(0);
    }
  });

  it('every fixture a fact cites exists in the repository', () => {
    for (const row of WIRE_FACTS) {
      const all = JSON.stringify(row);
      for (const match of all.matchAll(/"ref":"(test\/fixtures\/[^"]+)"/g)) {
        expect(existsSync(new URL(`../../${match[1]}`, import.meta.url)), match[1]).toBe(true);
      }
    }
  });

  it('chooses the row by version: boundaries of vLLM 0.10.2 and llama.cpp b10587', () => {
    expect(wireFactsFor('vllm', '0.10.1').label).toBe('vllm@0.10.1');
    expect(wireFactsFor('vllm', '0.10.1.1').label).toBe('vllm@0.10.1');
    expect(wireFactsFor('vllm', '0.10.2').label).toBe('vllm@0.11');
    expect(wireFactsFor('vllm', '0.11.0rc1').label).toBe('vllm@0.11');
    expect(wireFactsFor('vllm', undefined).label).toBe('vllm@0.11');
    expect(wireFactsFor('llamacpp', '4748').label).toBe('llamacpp@b4748');
    expect(wireFactsFor('llamacpp', '10586').label).toBe('llamacpp@b4748');
    expect(wireFactsFor('llamacpp', '10587').label).toBe('llamacpp@2026');
    expect(wireFactsFor('together').label).toBe('together');
    expect(wireFactsByLabel('sglang@0.5')?.chat.ids.delivery).toBe('end');
    expect(compareVersions('0.9.9', '0.10.0')).toBe(-1);
    expect(compareVersions('1.0', '1.0.0')).toBe(0);
  });
});
