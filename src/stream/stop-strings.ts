/**
 * Stop strings across a resume point. After a resume the server checks stop strings
 * only in its new output, so one that began in the text delivered before the break
 * and ends in the new text would go unnoticed: the stream checks the joined text
 * itself. As the servers do with their own output, new text that may still continue
 * such a stop string is held back until it is decided: it is released when no stop
 * string can match any more, and cut where the stop string begins when one completes.
 * Text the server itself held back at the break (held-text.ts) is undelivered text
 * here: a stop string may begin in it.
 */

/** The request's stop strings as a list (empty strings dropped). */
export function stopList(stop: string | string[] | undefined): string[] {
  if (stop === undefined) return [];
  return (typeof stop === 'string' ? [stop] : stop).filter((s) => s !== '');
}

/**
 * What to do with a piece of new text: deliver it (no straddling stop string is
 * possible), hold it (one may still complete), release it with everything held (none
 * can complete any more), or drop it with everything held (one completed: the stream
 * ends there with `stop`).
 */
export type StopVerdict = 'pass' | 'hold' | 'release' | 'match';

/** A stop string that completed across the resume point. */
export interface StopMatch {
  /** How many characters of the undelivered text come before it. */
  kept: number;
  /** How many characters of the new text complete it. */
  completedAt: number;
  /** Its place in the request's list. */
  order: number;
  /** Where it begins in the checked text. */
  start: number;
}

/** Which stop string a server stops at when several complete in one step (wire facts `stopHoldback.firstMatch`). */
export type StopRule = 'list-order' | 'earliest-start';

/**
 * The stop string the server would have stopped at: among `matches` completed within `reach`
 * characters of the new text (the step that completed the first one), the first in the
 * request's list (vLLM, SGLang) or the one that begins first (llama.cpp).
 */
export function chooseStop(matches: readonly StopMatch[], rule: StopRule, reach = Infinity): StopMatch {
  let best: StopMatch | undefined;
  for (const match of matches) {
    if (match.completedAt > reach) continue;
    if (
      best === undefined ||
      (rule === 'list-order'
        ? match.order < best.order
        : match.start < best.start || (match.start === best.start && match.order < best.order))
    ) {
      best = match;
    }
  }
  // Nothing within reach: the one that completes first (reach is at least its end).
  return best ?? matches.reduce((a, b) => (b.completedAt < a.completedAt ? b : a));
}

export class ResumeStopCheck {
  private readonly stops: readonly string[];
  private readonly longest: number;
  /** The end of the text delivered before the resume (at most longest − 1 characters). */
  private before = '';
  /** Text not delivered: what was undecided at the resume, then the new text since. */
  private after = '';
  /** Where a stop string must begin to be this check's (the server of the continuation cannot see it). */
  private boundary = 0;
  private armed = false;
  /** After a 'match': every stop string the text fed completed (each at its first such place). */
  matches: StopMatch[] = [];

  constructor(stop: string | string[] | undefined) {
    this.stops = stopList(stop);
    this.longest = Math.max(0, ...this.stops.map((s) => s.length));
  }

  /**
   * At a resume: `delivered` is (at least the end of) the text delivered so far, `undelivered`
   * the generated text not delivered yet (held here, or recovered from what the server held
   * back). Returns whether a stop string begun in them may still complete: the undelivered
   * text and the new text are then held until that is decided.
   */
  arm(delivered: string, undelivered = ''): boolean {
    this.after = undelivered;
    this.armed = false;
    if (this.longest < 2 || delivered + undelivered === '') return false;
    this.before = delivered.slice(-(this.longest - 1));
    this.boundary = this.before.length + undelivered.length;
    this.armed = this.liveCandidate(this.before + undelivered, this.boundary);
    return this.armed;
  }

  /** How much text is undelivered (held since the resume, the new text included). */
  get undeliveredLength(): number {
    return this.after.length;
  }

  /** How many characters of the text so far `arm` needs. */
  get tailLength(): number {
    return Math.max(0, this.longest - 1);
  }

  /** Feeds the next piece of new text (see {@link StopVerdict}). */
  feed(text: string): StopVerdict {
    if (!this.armed) return 'pass';
    this.after += text;
    const window = this.before + this.after;
    const boundary = this.boundary;
    const matches: StopMatch[] = [];
    this.stops.forEach((stop, order) => {
      for (let at = window.indexOf(stop); at !== -1 && at < boundary; at = window.indexOf(stop, at + 1)) {
        if (at + stop.length > boundary) {
          const kept = Math.max(0, at - this.before.length);
          matches.push({ kept, completedAt: at + stop.length - boundary, order, start: at });
          return;
        }
      }
    });
    if (matches.length > 0) {
      this.armed = false;
      this.matches = matches;
      return 'match';
    }
    if (this.liveCandidate(window, boundary)) return 'hold';
    // No stop string that begins before the resume point can complete any more: a
    // candidate that stopped matching never matches again, however the text goes on.
    this.armed = false;
    return 'release';
  }

  /** Whether some stop string begins before `boundary` and goes on with all the rest of `window`. */
  private liveCandidate(window: string, boundary: number): boolean {
    for (const stop of this.stops) {
      for (let at = Math.max(0, window.length - stop.length + 1); at < boundary; at++) {
        if (continuesAt(window, at, stop)) return true;
      }
    }
    return false;
  }
}

/** Whether `window` from `at` to its end is the beginning of `stop` (shorter than it). */
function continuesAt(window: string, at: number, stop: string): boolean {
  for (let i = at; i < window.length; i++) {
    if (window.charCodeAt(i) !== stop.charCodeAt(i - at)) return false;
  }
  return true;
}
