/**
 * The probe's judgement (pure): each observation beside what the wire-facts row
 * of the detected version says, as one check per fact. A `disagree` is a server
 * doing something else than the table says — what a user should report; an
 * `unchecked` says why no comparison was possible (nothing was sent, the table
 * has no such fact, the server produced nothing to look at).
 */
import type { ServerIdentity } from '../detection.js';
import type { EndpointFacts, WireFacts } from '../dialects/wire-facts-types.js';
import type { GenerationOutcome, ProbeKind, TokenizeOutcome } from './observe.js';
import type { ProbeCheck, ProbeStatus } from './types.js';

/** One endpoint's generations. */
export interface EndpointObservations {
  /** Asked the dialect's way, with `stream_options.include_usage: true`. */
  main: GenerationOutcome;
  /** The same with `include_usage: false`; undefined when `main` failed. */
  noUsage?: GenerationOutcome;
  /** With `logprobs: true`. */
  logprobs?: GenerationOutcome;
  /** With priority 1 (tokenwire's convention, translated by the dialect). */
  priority?: GenerationOutcome;
  /** A continuation (completions: prompt + generated ids; chat: the partial assistant message), or why none was sent. */
  continuation?: GenerationOutcome | { notTried: string; noIds?: boolean };
}

/** Everything the probe saw. */
export interface Observations {
  identity: ServerIdentity;
  /** The dialect was named in the options: nothing was detected. */
  configured: boolean;
  tokenize: TokenizeOutcome;
  completions: EndpointObservations;
  chat: EndpointObservations;
}

function check(
  fact: string,
  expected: string | undefined,
  observed: string,
  status: ProbeStatus,
  extra: { unverified?: boolean; detail?: string } = {},
): ProbeCheck {
  const result: ProbeCheck = { fact, expected, observed, status };
  if (extra.unverified === true) result.unverified = true;
  if (extra.detail !== undefined) result.detail = extra.detail;
  return result;
}

const agreeIf = (same: boolean): ProbeStatus => (same ? 'agree' : 'disagree');

/** The error in a line: its code and message (the Client's message names the URL and status). */
function failure(outcome: GenerationOutcome): string {
  const error = outcome.error!;
  return `${error.status === undefined ? error.code : `HTTP ${error.status}`}: ${error.message}`;
}

/** Every check of `row` against `seen`, in the order they are printed. */
export function compareWithRow(row: WireFacts, seen: Observations): ProbeCheck[] {
  const checks: ProbeCheck[] = [detectionCheck(row, seen), tokenizeCheck(row, seen.tokenize)];
  for (const kind of ['completions', 'chat'] as const) {
    checks.push(...endpointChecks(kind, row[kind], row, seen[kind]));
  }
  return checks;
}

function detectionCheck(row: WireFacts, seen: Observations): ProbeCheck {
  const expected = row.detection.path === undefined ? undefined : `version at GET ${row.detection.path}`;
  const path = seen.identity.versionPath;
  const observed = path === undefined ? 'no version endpoint answered' : `version at GET ${path}`;
  const unverified = row.detection.verified === false;
  if (seen.configured) {
    return check('detection.versionPath', expected, 'not detected', 'unchecked', {
      unverified,
      detail: 'the dialect was named (--dialect): nothing was detected',
    });
  }
  if (expected === undefined) {
    return check('detection.versionPath', expected, observed, 'unchecked', {
      unverified,
      detail: 'the table names no version endpoint for this server',
    });
  }
  return check('detection.versionPath', expected, observed, agreeIf(path === row.detection.path), {
    unverified,
  });
}

function tokenizeCheck(row: WireFacts, seen: TokenizeOutcome): ProbeCheck {
  const facts = row.tokenize;
  const expected = facts === undefined ? 'none' : `POST ${facts.tokenize}, POST ${facts.detokenize}`;
  const unverified = facts?.verified === false;
  if (seen.result === 'none') {
    return check('tokenize.endpoints', expected, 'not tried', 'unchecked', {
      detail: `tokenwire knows no tokenize endpoint for ${row.dialect}`,
    });
  }
  if (seen.result === 'works') {
    const observed = `works (${seen.ids?.length} ids${seen.roundTrip ? ', detokenized back' : ', text did not come back'})`;
    return check('tokenize.endpoints', expected, observed, agreeIf(facts !== undefined), { unverified });
  }
  return check('tokenize.endpoints', expected, 'refused', agreeIf(facts === undefined), {
    unverified,
    detail: seen.error?.message,
  });
}

function endpointChecks(
  kind: ProbeKind,
  facts: EndpointFacts,
  row: WireFacts,
  seen: EndpointObservations,
): ProbeCheck[] {
  const { main } = seen;
  const out: ProbeCheck[] = [];
  const name = (fact: string) => `${kind}.${fact}`;
  const streamExpected = `a complete stream ending with ${facts.end}`;
  if (main.error !== undefined) {
    out.push(check(name('stream'), streamExpected, 'failed', 'disagree', { detail: failure(main) }));
    return out;
  }
  out.push(
    check(
      name('stream'),
      streamExpected,
      `complete (finish_reason ${main.finishReason}, ${main.tokens} tokens)`,
      'agree',
    ),
  );
  out.push(idsCheck(name('ids'), facts, main));
  out.push(promptIdsCheck(name('promptIds'), facts, main));
  out.push(...usageChecks(kind, facts, seen));
  out.push(logprobsCheck(name('logprobs'), kind, seen.logprobs));
  out.push(priorityCheck(name('priority'), row, seen.priority));
  out.push(resumeCheck(name('resume'), facts, seen.continuation));
  if (kind === 'chat') {
    out.push(roleChunkCheck(name('roleChunk'), facts, main));
    out.push(reasoningCheck(name('reasoningField'), facts, seen));
  }
  return out;
}

function idsCheck(fact: string, facts: EndpointFacts, main: GenerationOutcome): ProbeCheck {
  const delivery = main.liveIds > 0 ? 'live' : main.endIds > 0 ? 'end' : 'none';
  const observed =
    delivery === 'live'
      ? `live (${main.liveIds} ids with ${main.tokens} tokens${main.idsIncomplete ? ', some missing' : ''})`
      : delivery === 'end'
        ? `at the end (${main.endIds} ids)`
        : 'none';
  const expected = facts.ids.delivery === 'none' ? 'none' : `${facts.ids.delivery} in ${facts.ids.field}`;
  return check(fact, expected, observed, agreeIf(delivery === facts.ids.delivery), {
    unverified: facts.ids.verified === false,
  });
}

function promptIdsCheck(fact: string, facts: EndpointFacts, main: GenerationOutcome): ProbeCheck {
  const field = facts.ids.promptField;
  const expected = field === undefined ? 'not echoed' : `echoed in ${field}`;
  const unverified = facts.ids.verified === false;
  if (main.wire === undefined) {
    return check(fact, expected, 'not seen', 'unchecked', {
      unverified,
      detail: 'the answer could not be read',
    });
  }
  const echoed = main.wire.promptIdsEchoed;
  return check(fact, expected, echoed ? 'echoed' : 'not echoed', agreeIf(echoed === (field !== undefined)), {
    unverified,
  });
}

function usageChecks(kind: ProbeKind, facts: EndpointFacts, seen: EndpointObservations): ProbeCheck[] {
  const unverified = facts.usage.verified === false;
  const sent = (outcome: GenerationOutcome) => outcome.usage !== undefined && !outcome.usage.computed;
  const words = (yes: boolean) => (yes ? 'sent by the server' : 'not sent (computed by tokenwire)');
  const out: ProbeCheck[] = [];
  const withUsage = sent(seen.main);
  const expectWith = facts.usage.when !== 'never';
  out.push(
    check(
      `${kind}.usage.includeUsage`,
      words(expectWith),
      words(withUsage),
      agreeIf(withUsage === expectWith),
      {
        unverified,
      },
    ),
  );
  const expectWithout = facts.usage.when === 'always';
  const fact = `${kind}.usage.withoutIncludeUsage`;
  const other = seen.noUsage;
  if (other === undefined || other.error !== undefined) {
    out.push(
      check(fact, words(expectWithout), 'failed', other === undefined ? 'unchecked' : 'disagree', {
        unverified,
        detail: other === undefined ? 'not sent' : failure(other),
      }),
    );
  } else {
    const without = sent(other);
    out.push(
      check(fact, words(expectWithout), words(without), agreeIf(without === expectWithout), { unverified }),
    );
  }
  return out;
}

function logprobsCheck(fact: string, kind: ProbeKind, seen: GenerationOutcome | undefined): ProbeCheck {
  const detail = 'informational: the table has no fact for it';
  if (seen === undefined) return check(fact, undefined, 'not sent', 'unchecked', { detail });
  if (seen.error !== undefined)
    return check(fact, undefined, 'refused', 'unchecked', { detail: failure(seen) });
  const sentByServer = seen.wire?.logprobs === true;
  const observed =
    kind === 'completions'
      ? `${seen.logprobs} of ${seen.tokens} tokens carried a logprob`
      : sentByServer
        ? 'sent by the server'
        : 'not sent';
  return check(fact, undefined, observed, 'unchecked', { detail });
}

function priorityCheck(fact: string, row: WireFacts, seen: GenerationOutcome | undefined): ProbeCheck {
  const facts = row.priority;
  const unverified = facts.verified === false;
  const expected =
    facts.field === undefined
      ? 'ignored (no priority field)'
      : `${facts.field}: ${facts.order}${facts.requires ? `; without ${facts.requires}: ${facts.without}` : ''}`;
  if (seen === undefined || seen.sent?.priority === undefined) {
    return check(fact, expected, 'not sent', 'unchecked', {
      unverified,
      detail: 'tokenwire sends no priority to this server',
    });
  }
  if (seen.error === undefined) {
    return check(fact, expected, 'accepted', 'agree', {
      unverified,
      detail: facts.without === 'http-400' ? `the server runs with ${facts.requires}` : undefined,
    });
  }
  const status = seen.error.status;
  const refusal = row.refusals.find((r) => r.body.priority !== undefined);
  const observed = status === undefined ? `failed (${seen.error.code})` : `refused with HTTP ${status}`;
  const agrees =
    (facts.without === 'http-400' && status === (refusal?.status ?? 400)) ||
    (facts.without === 'abort-if-configured' && seen.error.code === 'server_error');
  return check(fact, expected, observed, agreeIf(agrees), { unverified, detail: seen.error.message });
}

function resumeCheck(
  fact: string,
  facts: EndpointFacts,
  seen: EndpointObservations['continuation'],
): ProbeCheck {
  const expected = facts.resume ? 'continuation accepted (exact resume)' : 'no exact resume';
  if (seen === undefined) return check(fact, expected, 'not tried', 'unchecked');
  if ('notTried' in seen) {
    if (seen.noIds === true) {
      return check(fact, expected, `not possible: ${seen.notTried}`, agreeIf(!facts.resume));
    }
    return check(fact, expected, 'not tried', 'unchecked', { detail: seen.notTried });
  }
  if (seen.error === undefined) {
    if (facts.resume) return check(fact, expected, 'continuation accepted', 'agree');
    return check(fact, expected, 'continuation accepted', 'unchecked', {
      detail: 'the server took the continuation, but the table does not count on it being exact',
    });
  }
  return check(fact, expected, 'continuation refused', agreeIf(!facts.resume), { detail: failure(seen) });
}

function roleChunkCheck(fact: string, facts: EndpointFacts, main: GenerationOutcome): ProbeCheck {
  const observed = main.wire?.roleChunk ?? 'not seen';
  if (facts.roleChunk === undefined || main.wire?.roleChunk === undefined) {
    return check(fact, facts.roleChunk, observed, 'unchecked', { detail: 'nothing to compare' });
  }
  return check(fact, facts.roleChunk, observed, agreeIf(observed === facts.roleChunk));
}

function reasoningCheck(fact: string, facts: EndpointFacts, seen: EndpointObservations): ProbeCheck {
  const outcomes = [seen.main, seen.noUsage, seen.logprobs, seen.priority];
  const field = outcomes.find((o) => o?.wire?.reasoningField !== undefined)?.wire?.reasoningField;
  const expected = facts.reasoningField ?? 'none';
  if (field === undefined) {
    return check(fact, expected, 'no reasoning sent', 'unchecked', {
      detail: 'the model sent no reasoning in these few tokens',
    });
  }
  return check(fact, expected, field, agreeIf(field === facts.reasoningField));
}
