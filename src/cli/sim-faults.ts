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
  ['stall-first-token:MS[:every=N]', 'wait MS before the first token (of every Nth request only)'],
  ['stall-after:K:MS[:once]', 'pause MS after token K'],
  ['reset-after:K[:once]', 'TCP reset (RST) after token K'],
  ['truncate-after:K[:once]', 'close the stream cleanly after token K, without [DONE]'],
  ['error-after:K[:once]', "an in-stream error event after token K (the dialect's shape)"],
  ['status:CODE[:retry-after=S|:retry-after-date|:retry-after-ms=N]', 'answer with HTTP CODE'],
  ['fail-first:K[:CODE]', 'the first K requests get CODE (default 503), then normal'],
  ['huge-line:MIB[:K]', 'a MIB-mebibyte SSE line after token K'],
  ['bad-json-after:K', 'an event that is not JSON after token K'],
  ['html-200', 'a 200 HTML page instead of a stream'],
  ['json-200', 'a 200 JSON body instead of a stream'],
  ['data-after-done[:MS]', 'junk after [DONE], the socket held open MS'],
  ['no-blank-line-at-end[:bare]', 'no final blank line (bare: no final newline at all)'],
];

export const SIM_FAULTS_HELP = `Faults (comma-separated in one --fault, or --fault repeated, for every generation
request; a request can add its own with the x-sim-fault header, and tokenize and
detokenize take only those). ':once' fires only for the first request carrying
that exact spec, so a retried or resumed request goes through. K counts tokens;
on a JSON answer (not streamed, tokenize, detokenize) reset-after and
truncate-after cut the body in its middle whatever K, and status, fail-first,
stall-headers, html-200, byte-writes and trickle apply as to a stream:
${SIM_FAULTS.map(([spec, what]) => `  ${spec}\n      ${what}`).join('\n')}`;

/** [header, what it does]: every per-request knob of the simulator (checked against src/sim by a test). */
export const SIM_HEADERS: readonly [string, string][] = [
  ['x-sim-dialect: NAME', 'answer this request as another dialect'],
  ['x-sim-fault: SPEC[,SPEC]', "add faults to this request (the server's apply too)"],
  ['x-sim-seed: N', 'generator seed for this request'],
  ['x-sim-eos-after: N', "end with EOS after N tokens (finish 'stop')"],
  ['x-sim-reasoning: N', 'chat: the first N tokens are reasoning'],
];

export const SIM_HEADERS_HELP = `Per-request headers (body fields sim_eos_after and sim_reasoning work too):
${SIM_HEADERS.map(([header, what]) => `  ${header}\n      ${what}`).join('\n')}`;
