/**
 * A call's response as the server names it: the completion's id and the model, read
 * once per attempt (from its first JSON chunk, never per token), and how the attempts of
 * one call combine into what `done.responseId` / `done.model` report.
 *
 * An attempt that starts from nothing (the first, or a retry before any token) begins a
 * new response: its id and model replace any earlier attempt's, which delivered nothing.
 * A resume continues the response its output began with: the id and model stay those of
 * the attempt the output began with, and a continuation whose server names another
 * model is a mismatch the stream reports (the output then comes from two models).
 */
import type { Attempt } from './attempt.js';

/** What a stream reports as its response's id and model. */
export interface ResponseInfo {
  /** The server's id of the completion (`id` of its chunks), if any. */
  readonly id: string | undefined;
  /** The model the server named (`model` of its chunks), if any. */
  readonly model: string | undefined;
}

/** A resumed attempt's server named another model than the one the output began with. */
export interface ModelChange {
  /** The model the output began with. */
  before: string;
  /** The model the resumed attempt's server named. */
  after: string;
}

/** The response of one call over its attempts (see the file comment). */
export class CallResponse implements ResponseInfo {
  id: string | undefined = undefined;
  model: string | undefined = undefined;

  /**
   * Takes what `attempt` read so far into the call's response. `continuing`: the attempt
   * continues tokens received before it (a resume). Returns the model change to report, if
   * the attempt's model contradicts the one the output began with.
   */
  merge(attempt: Attempt, continuing: boolean): ModelChange | undefined {
    if (!continuing) {
      this.id = attempt.responseId;
      this.model = attempt.model;
      return undefined;
    }
    this.id ??= attempt.responseId;
    const before = this.model;
    const after = attempt.model;
    if (before === undefined) {
      this.model = after;
      return undefined;
    }
    return after !== undefined && after !== before ? { before, after } : undefined;
  }
}
