/** Checks one SDK run against its row's expectation. */
import { expect } from 'vitest';
import type { Expected } from './sdk-faults.js';
import type { SdkOutcome } from './sdk-harness.js';

export function expectOutcome(outcome: SdkOutcome, expected: Expected, fullText: string): void {
  const seen = `${outcome.kind} after ${Math.round(outcome.ms)} ms, text ${JSON.stringify(outcome.text.slice(0, 40))}, error ${JSON.stringify(outcome.error)}`;
  expect(outcome.kind, seen).toBe(expected.kind);
  switch (expected.text) {
    case 'full':
      expect(outcome.text, seen).toBe(fullText);
      break;
    case 'none':
      expect(outcome.text, seen).toBe('');
      break;
    case 'partial':
      expect(outcome.text.length, seen).toBeGreaterThan(0);
      expect(outcome.text.length, seen).toBeLessThan(fullText.length);
      expect(fullText.startsWith(outcome.text), seen).toBe(true);
      break;
    case 'extra':
      expect(outcome.text.startsWith(fullText) && outcome.text.length > fullText.length, seen).toBe(true);
      break;
  }
  if (expected.code !== undefined) expect(outcome.error?.code, seen).toBe(expected.code);
  if (expected.message !== undefined) expect(outcome.error?.message, seen).toContain(expected.message);
}
