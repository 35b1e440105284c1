/**
 * A stream's resume-time work on text and stop strings, shared by the completions and
 * chat streams: text the server held back at a break (recovered before the continuation,
 * or the stream is not resumed), and where a stop string completed across the resume
 * point ends the stream, as the server would have ended it (which stop string, which
 * token, what text stays). Nothing here runs per token before a resume.
 */
import type { Dialect } from '../dialects/dialect.js';
import type { TokenwireError } from '../errors.js';
import type { FleetEndpoint } from '../fleet/fleet.js';
import type { Attempt } from './attempt.js';
import type { StreamContext } from './context.js';
import { CONTEXT_IDS, type HoldbackModel, holdbackModel } from './held-text.js';
import type { ReceivedTokens } from './received.js';
import { completingToken, notResumed, recoverHeldText, untoldStop } from './resume-text.js';
import { chooseStop, type StopMatch, type StopRule } from './stop-strings.js';

/** What the stream shows of itself. */
export interface ResumeStopHost {
  readonly ctx: StreamContext;
  readonly received: ReceivedTokens;
  /** The prompt's ids, when known. */
  knownPromptIds(): readonly number[] | undefined;
}

/** Where a stream ends when a stop string completed across the resume point. */
export interface StopEnd {
  /** Characters of the undelivered text that stay. */
  kept: number;
  /** Tokens that stay (those after the one that completed the stop string are dropped). */
  tokens: number;
}

export class ResumeStop {
  private holdback: HoldbackModel | undefined;
  /** Text the server held back at the break, recovered, not yet given to a token. */
  pending = '';
  /** How much of the current attempt's first text was `pending` (not the server's output). */
  private prefixInAttempt = 0;
  /** Index in `received` of the current attempt's first token. */
  private attemptStart = 0;
  /** Tokens received when the held text was last recovered (nothing new since: nothing to ask). */
  private recoveredAt = -1;
  /** Stop strings completed across the resume on a server that holds text back: settled before success. */
  private matches: readonly StopMatch[] | undefined;

  constructor(
    private readonly host: ResumeStopHost,
    private readonly stop: string | string[] | undefined,
    private readonly extraBody: Record<string, unknown> | undefined,
  ) {}

  /** How the server of `dialect` holds text back for this request (known at the first resume). */
  model(dialect: Dialect): HoldbackModel {
    return (this.holdback ??= holdbackModel(dialect, this.stop, this.extraBody));
  }

  /** An attempt begins, `tokens` received before it. */
  startAttempt(tokens: number): void {
    this.attemptStart = tokens;
    this.prefixInAttempt = 0;
  }

  /** `text` with the recovered held text before it, the first time after a resume. */
  withPending(text: string): string {
    const pending = this.pending;
    if (pending === '') return text;
    this.pending = '';
    this.prefixInAttempt = pending.length;
    return pending + text;
  }

  /**
   * Before a continuation: the text the server held back at the break, recovered into
   * `pending`; or the break's error saying why the stream is not resumed.
   */
  async recover(
    endpoint: FleetEndpoint,
    dialect: Dialect,
    failure: TokenwireError,
    model: string | undefined,
  ): Promise<TokenwireError | undefined> {
    const { received, ctx } = this.host;
    if (received.length === 0 || received.length === this.recoveredAt) return undefined;
    const holdback = this.model(dialect);
    if (holdback.kind === 'none') return undefined;
    const outcome = await recoverHeldText(ctx, endpoint, dialect, holdback, {
      ids: received.completeIds(),
      context: (this.host.knownPromptIds() ?? []).slice(-CONTEXT_IDS),
      streamed: received.text(),
      attemptChars: received.textFrom(this.attemptStart).length - this.prefixInAttempt,
      model,
    });
    if (typeof outcome !== 'string') return notResumed(ctx, failure, outcome.reason, endpoint.rootUrl);
    this.pending = outcome;
    this.recoveredAt = received.length;
    return undefined;
  }

  /**
   * Stop strings completed across the resume by `text` (`undelivered`: the characters held
   * since the resume, `text` included): where the text ends now, or undefined when a server
   * that holds text back may have shown the end late (settled by {@link settle}).
   */
  atMatch(
    matches: readonly StopMatch[],
    dialect: Dialect,
    text: string,
    undelivered: number,
  ): number | undefined {
    if (this.holdback?.kind === 'held') {
      this.matches = matches;
      return undefined;
    }
    const kept = chooseStop(matches, stopRule(dialect)).kept;
    // SGLang sends everything before the token that completed it (its beginning included,
    // trimmed only from its final output): that stays.
    if (dialect.facts.stopHoldback?.mode !== 'none') return kept;
    return Math.max(kept, undelivered - text.length);
  }

  /** Before success: where a stop string found on a holding server ends the stream, asking it which token completed it. */
  async settle(
    endpoint: FleetEndpoint,
    dialect: Dialect,
    attempt: Attempt,
    model: string | undefined,
  ): Promise<StopEnd | TokenwireError | undefined> {
    const matches = this.matches;
    if (matches === undefined) return undefined;
    this.matches = undefined;
    const { received, ctx } = this.host;
    // The one that completes first tells the token; the server's rule picks among those it completed.
    const completedAt = Math.min(...matches.map((m) => m.completedAt));
    const first = this.attemptStart;
    const ids = received.idArray();
    const outcome = await completingToken(ctx, endpoint, dialect, {
      // An exact continuation had every id before it.
      context: [...(this.host.knownPromptIds() ?? []), ...(ids.slice(0, first) as number[])].slice(
        -CONTEXT_IDS,
      ),
      ids: ids.slice(first),
      streamed: received.textFrom(first).slice(this.prefixInAttempt),
      completedAt,
      model,
    });
    if (!('token' in outcome)) return untoldStop(ctx, outcome.reason, attempt.url.href, received.events());
    return {
      kept: chooseStop(matches, stopRule(dialect), outcome.reach).kept,
      tokens: first + outcome.token + 1,
    };
  }
}

/** Which stop string the server stops at when several complete at once (wire facts). */
function stopRule(dialect: Dialect): StopRule {
  return dialect.facts.stopHoldback?.firstMatch ?? 'list-order';
}
