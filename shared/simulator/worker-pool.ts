/**
 * Simulator threads kept between simulations (a warm Lambda, `qpipe serve`, a stage server),
 * so a simulation starts no thread: it borrows as many idle workers as it splits into, and
 * gives them back. Idle workers do not keep the process alive. A simulation that is aborted
 * terminates the workers it borrowed (they are mid-pass); the pool starts others later.
 */
import { Worker } from 'node:worker_threads';
import type { WorkerEntry } from '../worker-entry.ts';

/** Workers waiting for work, per entry, at most `keep` of them. */
export class WorkerPool {
  private readonly idle: Worker[] = [];

  constructor(
    private readonly entry: WorkerEntry,
    private readonly keep: number,
  ) {}

  /** Borrows `count` workers, starting what the idle ones do not cover. */
  borrow(count: number): Worker[] {
    const workers = this.idle.splice(0, count);
    while (workers.length < count) {
      workers.push(new Worker(this.entry.script, { eval: this.entry.eval, execArgv: [] }));
    }
    for (const worker of workers) worker.ref();
    return workers;
  }

  /** Gives workers back after a run that finished; those beyond `keep` stop. */
  async giveBack(workers: readonly Worker[]): Promise<void> {
    const stopping: Promise<number>[] = [];
    for (const worker of workers) {
      worker.removeAllListeners('message');
      worker.removeAllListeners('error');
      worker.removeAllListeners('exit');
      if (this.idle.length < this.keep) {
        worker.unref();
        this.idle.push(worker);
      } else stopping.push(worker.terminate());
    }
    await Promise.all(stopping);
  }

  /** Idle workers now (for tests and metrics). */
  get idleCount(): number {
    return this.idle.length;
  }
}
