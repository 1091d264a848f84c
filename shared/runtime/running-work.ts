/**
 * The job runs a process is working on, so that deleting a job stops its simulation here and
 * now rather than letting it run to the end (another process's run stops at its next check).
 */

/** One run's work: its signal, and how to say it ended. */
export interface RunHandle {
  readonly signal: AbortSignal;
  done(): void;
}

/** Runs in progress in this process, by run key (`<uid>/<generation>`). */
export class RunningWork {
  private readonly runs = new Map<string, AbortController>();

  /** Registers a run; its signal aborts when the runtime's does (a time limit) or stop() is called. */
  start(key: string, outer?: AbortSignal): RunHandle {
    const controller = new AbortController();
    const forward = () => controller.abort(outer?.reason);
    if (outer?.aborted) forward();
    else outer?.addEventListener('abort', forward, { once: true });
    this.runs.set(key, controller);
    return {
      signal: controller.signal,
      done: () => {
        outer?.removeEventListener('abort', forward);
        if (this.runs.get(key) === controller) this.runs.delete(key);
      },
    };
  }

  /** Stops a run of this process; false when it runs elsewhere or not at all. */
  stop(key: string, reason: Error): boolean {
    const controller = this.runs.get(key);
    controller?.abort(reason);
    return controller !== undefined;
  }
}
