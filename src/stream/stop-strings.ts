/**
 * Stop strings across a resume point. After a resume the server checks stop strings
 * only in its new output, so one that began in the text delivered before the break
 * and ends in the new text would go unnoticed: the stream checks the joined text
 * itself, for as long as such a straddling match is still possible.
 */

/** The request's stop strings as a list (empty strings dropped). */
export function stopList(stop: string | string[] | undefined): string[] {
  if (stop === undefined) return [];
  return (typeof stop === 'string' ? [stop] : stop).filter((s) => s !== '');
}

export class ResumeStopCheck {
  private readonly stops: readonly string[];
  private readonly longest: number;
  /** The end of the text delivered before the resume (at most longest − 1 characters). */
  private before = '';
  /** New text since the resume, while a straddling match is still possible. */
  private after = '';
  private armed = false;

  constructor(stop: string | string[] | undefined) {
    this.stops = stopList(stop);
    this.longest = Math.max(0, ...this.stops.map((s) => s.length));
  }

  /** At a resume: `tail` is (at least the end of) the text delivered so far. */
  arm(tail: string): void {
    if (this.longest < 2 || tail === '') return;
    this.before = tail.slice(-(this.longest - 1));
    this.after = '';
    this.armed = true;
  }

  /** How many characters of delivered text `arm` needs. */
  get tailLength(): number {
    return Math.max(0, this.longest - 1);
  }

  /** Feeds new text; true when a stop string that began before the resume point ends in it. */
  check(text: string): boolean {
    if (!this.armed) return false;
    this.after += text;
    const window = this.before + this.after;
    const boundary = this.before.length;
    for (const stop of this.stops) {
      for (let at = window.indexOf(stop); at !== -1 && at < boundary; at = window.indexOf(stop, at + 1)) {
        if (at + stop.length > boundary) {
          this.armed = false;
          return true;
        }
      }
    }
    // Once the new text is as long as any stop string, nothing can straddle any more.
    if (this.after.length >= this.longest - 1) this.armed = false;
    return false;
  }
}
