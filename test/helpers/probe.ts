/** How tests point the probe at a simulator emulating a wire-facts row. */
import type { WireFacts } from '../../src/dialects/wire-facts.js';
import type { ProbeOptions } from '../../src/index.js';

/**
 * How the probe is pointed at a simulator emulating `row`: rows the simulator cannot be
 * recognised as on loopback (no version endpoint: hosted providers, known by host name)
 * are named; reasoning is asked of the simulator where the row names a reasoning field.
 */
export function probeOptionsFor(row: WireFacts, url: string): ProbeOptions {
  const options: ProbeOptions = { baseUrl: url, logger: () => {} };
  if (row.detection.path === undefined) options.dialect = row.dialect;
  if (row.chat.reasoningField !== undefined) options.headers = { 'x-sim-reasoning': '1' };
  return options;
}
