/**
 * The simulator's faults as the CLI documents them. The sim module does not export
 * its list, so this table is checked against it by test/cli/sim.test.ts.
 */

/** [example spec, what it does]. */
export const SIM_FAULTS: readonly [string, string][] = [
  ['byte-writes', 'write the stream one byte at a time'],
  ['trickle:MS', 'write the stream in small pieces MS apart'],
  ['line-endings:cr|crlf', 'end SSE lines with CR or CRLF'],
  ['keepalive:MS', 'send ": keepalive" comments every MS while streaming'],
  ['keepalive-forever:MS', 'send only keepalive comments, never a token'],
  ['stall-headers:MS', 'wait MS before the response head'],
  ['stall-first-token:MS', 'wait MS before the first token'],
  ['stall-after:K:MS[:once]', 'pause MS after token K'],
  ['reset-after:K[:once]', 'TCP reset (RST) after token K'],
  ['truncate-after:K[:once]', 'close the stream cleanly after token K, without [DONE]'],
  ['error-after:K[:once]', "an in-stream error event after token K (the dialect's shape)"],
  ['status:CODE[:retry-after=S|:retry-after-date|:retry-after-ms=N]', 'answer with HTTP CODE'],
  ['fail-first:N[:CODE]', 'the first N requests get CODE (default 503), then normal'],
  ['huge-line:MIB[:K]', 'a MIB-mebibyte SSE line after token K'],
  ['bad-json-after:K', 'an event that is not JSON after token K'],
  ['html-200', 'a 200 HTML page instead of a stream'],
  ['json-200', 'a 200 JSON body instead of a stream'],
  ['data-after-done[:MS]', 'junk after [DONE], the socket held open MS'],
  ['no-blank-line-at-end[:bare]', 'no final blank line (bare: no final newline at all)'],
];

export const SIM_FAULTS_HELP = `Faults (comma-separated in one --fault, or --fault repeated; a request can add
its own with the x-sim-fault header). ':once' fires only for the first request
carrying that exact spec, so a retried or resumed request goes through:
${SIM_FAULTS.map(([spec, what]) => `  ${spec}\n      ${what}`).join('\n')}`;
