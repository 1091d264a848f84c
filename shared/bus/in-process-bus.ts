/**
 * The embedded default's bus: one process, Trigger-style filters, at-least-once delivery
 * with retries and exponential backoff, and a dead-letter list for what keeps failing.
 * Each subscriber handles a bounded number of events at once; the rest wait in order, so a
 * burst of jobs queues instead of opening a file and a simulation per job at the same time.
 */
import type { CloudEvent } from 'cloudevents';
import { notBeforeOf } from '../scheduler/scheduler.ts';
import { type EventBus, matchesFilter, type TriggerFilter } from './bus.ts';

/** A subscriber: its filters (any may match) and how to deliver to it. */
export interface Subscription {
  readonly name: string;
  readonly filters: readonly TriggerFilter[];
  readonly deliver: (event: CloudEvent<unknown>) => Promise<void>;
}

/** An event that could not be delivered after every retry. */
export interface DeadLetter {
  readonly event: CloudEvent<unknown>;
  readonly subscriber: string;
  readonly error: unknown;
}

/** Retry policy and concurrency of the in-process bus. */
export interface RetryPolicy {
  readonly attempts: number;
  readonly backoffMs: number;
  /** Events one subscriber handles at once (default 8). */
  readonly concurrency?: number;
}

/** A subscriber's slots: how many deliveries run, and who waits for one. */
interface Slots {
  running: number;
  readonly waiting: (() => void)[];
}

/** In-process bus; `idle()` resolves when nothing is in flight. */
export class InProcessBus implements EventBus {
  private readonly subscriptions: Subscription[] = [];
  private inFlight = 0;
  private waiters: (() => void)[] = [];
  readonly deadLetters: DeadLetter[] = [];
  private readonly slots = new Map<string, Slots>();
  /** Timers of deliveries that wait (a `notbefore`, a backoff), cancelled by close(). */
  private readonly timers = new Map<NodeJS.Timeout, () => void>();
  private closed = false;

  constructor(private readonly retry: RetryPolicy = { attempts: 4, backoffMs: 20 }) {}

  /** Events published and not yet handled (waiting, queued or running). */
  get pending(): number {
    return this.inFlight;
  }

  /**
   * Stops delivering: waiting and queued deliveries are dropped (a durable ingress republishes
   * them), running ones get `graceMs` to finish. Resolves when they have, or the grace is over.
   */
  async close(graceMs: number): Promise<void> {
    this.closed = true;
    for (const [timer, resolve] of this.timers) {
      clearTimeout(timer);
      resolve();
    }
    this.timers.clear();
    for (const slots of this.slots.values()) for (const wake of slots.waiting.splice(0)) wake();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.idle(), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
  }

  subscribe(subscription: Subscription): void {
    this.subscriptions.push(subscription);
  }

  publish(events: readonly CloudEvent<unknown>[]): Promise<void> {
    if (this.closed) return Promise.resolve();
    for (const event of events) {
      for (const subscription of this.subscriptions) {
        if (subscription.filters.some((filter) => matchesFilter(filter, event))) this.dispatch(subscription, event);
      }
    }
    return Promise.resolve();
  }

  /** Resolves once every published event has been handled (or dead-lettered). */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /**
   * Resolves once nothing is running or queued: whatever is left only waits for its time (a
   * held job's re-check, a provider poll, a retry's backoff). A stopping run drains to here.
   */
  async settled(): Promise<void> {
    while (this.inFlight > this.timers.size) await new Promise((resolve) => setTimeout(resolve, 10));
  }

  private dispatch(subscription: Subscription, event: CloudEvent<unknown>): void {
    this.inFlight++;
    void this.deliverWithRetry(subscription, event).finally(() => {
      if (--this.inFlight === 0) for (const resolve of this.waiters.splice(0)) resolve();
    });
  }

  private async deliverWithRetry(subscription: Subscription, event: CloudEvent<unknown>): Promise<void> {
    // Deliver on a later turn, as a real bus would, so publishers never run subscribers inline;
    // an event that says `notbefore` (a stage's scheduled re-check) waits until then.
    const due = notBeforeOf(event) ?? 0;
    if (due <= Date.now()) await new Promise((resolve) => setImmediate(resolve));
    // A timer may fire a little early by the wall clock: sleep again until the due time has come.
    while (!this.closed && Date.now() < due) await this.sleep(due - Date.now());
    for (let attempt = 1; ; attempt++) {
      if (this.closed || !(await this.acquire(subscription.name))) return;
      let wait: number;
      try {
        await subscription.deliver(event);
        return;
      } catch (error) {
        // Work another holder has claimed (a crashed process's lease) is waited for, not counted.
        const retryAt = (error as { retryAt?: unknown } | undefined)?.retryAt;
        if (typeof retryAt === 'number') {
          attempt--;
          wait = Math.max(retryAt - Date.now(), this.retry.backoffMs);
        } else if (attempt >= this.retry.attempts) {
          this.deadLetters.push({ event, subscriber: subscription.name, error });
          return;
        } else {
          wait = this.retry.backoffMs * 2 ** (attempt - 1);
        }
      } finally {
        this.release(subscription.name);
      }
      // Waiting holds no slot.
      await this.sleep(wait);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.set(timer, resolve);
    });
  }

  /** Waits for a free slot of the subscriber; false when the bus closed meanwhile. */
  private async acquire(name: string): Promise<boolean> {
    let slots = this.slots.get(name);
    if (!slots) this.slots.set(name, (slots = { running: 0, waiting: [] }));
    while (slots.running >= (this.retry.concurrency ?? 8)) {
      await new Promise<void>((resolve) => slots.waiting.push(resolve));
      if (this.closed) return false;
    }
    slots.running++;
    return true;
  }

  private release(name: string): void {
    const slots = this.slots.get(name) as Slots;
    slots.running--;
    slots.waiting.shift()?.();
  }
}
