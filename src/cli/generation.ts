/**
 * Flags shared by `complete` and `chat`: generation length, sampling, stop
 * strings, priority, and the output mode (text, --json, --ids, --quiet).
 */
import type { CommonRequestOptions, SamplingOptions } from '../index.js';
import { bool, type FlagSpec, type FlagValues, int, list, num } from './args.js';
import { LiveOutput } from './live.js';
import { newProgress } from './report.js';
import type { StreamOutput } from './run-stream.js';

export const GENERATION_FLAGS: FlagSpec = {
  otel: { type: 'boolean' },
  'max-tokens': { type: 'string' },
  temperature: { type: 'string' },
  'top-p': { type: 'string' },
  'top-k': { type: 'string' },
  'min-p': { type: 'string' },
  seed: { type: 'string' },
  priority: { type: 'string' },
  stop: { type: 'string', multiple: true },
  logprobs: { type: 'boolean' },
  json: { type: 'boolean' },
  ids: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
};

export const GENERATION_FLAGS_HELP = `Generation options:
  --max-tokens N       most tokens to generate
  --temperature T      0 = greedy
  --top-p P, --top-k K, --min-p P, --seed N
  --priority N         scheduling priority, lower is served earlier (vLLM's convention)
  --stop TEXT          stop string (repeatable)
  --logprobs           ask for log-probabilities (shown with --json)

Output options:
  --json               NDJSON on stdout, one line per event (see below)
  --ids                after the text, one last stdout line with the generated ids (1,2,3)
  --quiet, -q          no status line, summary or warnings; errors only
  --otel               export the request's OpenTelemetry span and metrics over OTLP/HTTP
                       to OTEL_EXPORTER_OTLP_ENDPOINT (default http://localhost:4318); also
                       on when that variable is set. Needs the OpenTelemetry SDK packages`;

/** The generation fields of a request. */
export function generationRequest(values: FlagValues): CommonRequestOptions {
  const sampling: SamplingOptions = {};
  const set = (key: keyof SamplingOptions, value: number | undefined): void => {
    if (value !== undefined) sampling[key] = value;
  };
  set('temperature', num(values, 'temperature', 0));
  set('topP', num(values, 'top-p', 0));
  // -1 is vLLM's "no top-k".
  set('topK', int(values, 'top-k', -1));
  set('minP', num(values, 'min-p', 0));
  set('seed', int(values, 'seed', Number.NEGATIVE_INFINITY));
  const stop = list(values, 'stop');
  return {
    maxTokens: int(values, 'max-tokens', 1),
    sampling: Object.keys(sampling).length > 0 ? sampling : undefined,
    stop: stop.length > 0 ? stop : undefined,
    priority: int(values, 'priority', Number.NEGATIVE_INFINITY),
    logprobs: bool(values, 'logprobs') ? true : undefined,
  };
}

/** The output state for the flags: live display unless --json, quiet with --quiet. */
export function streamOutput(values: FlagValues): StreamOutput {
  const json = bool(values, 'json');
  const quiet = bool(values, 'quiet');
  const live = new LiveOutput({ status: !json && !quiet, notes: !quiet });
  return { live, progress: newProgress(), json, quiet };
}

/** Formats ids for the --ids line (`?` where the server sent none). */
export function idsLine(ids: readonly (number | undefined)[]): string {
  return ids.map((id) => (id === undefined ? '?' : String(id))).join(',');
}
