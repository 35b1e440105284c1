/**
 * The stream's waits between attempts (retry backoff, waiting for a free endpoint):
 * one timer at a time, which the stream's end (abort, close, cleanup) cuts short.
 * Made only by a stream that waits: most never do.
 */
export class BackoffSleep {
  private pending: { timer: NodeJS.Timeout; resolve: () => void } | undefined;

  /** Waits `ms` (or until `wake` resolves, if given); wakeNow() ends it at once. */
  sleep(ms: number, wake?: Promise<void>): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        if (this.pending?.resolve === done) {
          clearTimeout(this.pending.timer);
          this.pending = undefined;
        }
        resolve();
      };
      this.pending = { timer: setTimeout(done, ms), resolve: done };
      wake?.then(done);
    });
  }

  /** Ends the current wait now (its promise resolves), if there is one. */
  wakeNow(): void {
    if (this.pending) {
      clearTimeout(this.pending.timer);
      this.pending.resolve();
      this.pending = undefined;
    }
  }
}
