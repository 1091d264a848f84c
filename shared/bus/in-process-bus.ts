/**
 * The embedded default's bus: one process, Trigger-style filters, at-least-once delivery
 * with retries and exponential backoff, and a dead-letter list for what keeps failing.
 */
import type { CloudEvent } from 'cloudevents';
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

/** Retry policy of the in-process bus. */
export interface RetryPolicy {
  readonly attempts: number;
  readonly backoffMs: number;
}

/** In-process bus; `idle()` resolves when nothing is in flight. */
export class InProcessBus implements EventBus {
  private readonly subscriptions: Subscription[] = [];
  private inFlight = 0;
  private waiters: (() => void)[] = [];
  readonly deadLetters: DeadLetter[] = [];

  constructor(private readonly retry: RetryPolicy = { attempts: 4, backoffMs: 20 }) {}

  subscribe(subscription: Subscription): void {
    this.subscriptions.push(subscription);
  }

  async publish(events: readonly CloudEvent<unknown>[]): Promise<void> {
    for (const event of events) {
      for (const subscription of this.subscriptions) {
        if (subscription.filters.some((filter) => matchesFilter(filter, event))) this.dispatch(subscription, event);
      }
    }
  }

  /** Resolves once every published event has been handled (or dead-lettered). */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
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
    const notBefore = Date.parse(String((event as unknown as Record<string, unknown>)['notbefore'] ?? ''));
    const delay = Number.isNaN(notBefore) ? 0 : notBefore - Date.now();
    await new Promise((resolve) => (delay > 0 ? setTimeout(resolve, delay) : setImmediate(resolve)));
    for (let attempt = 1; ; attempt++) {
      try {
        await subscription.deliver(event);
        return;
      } catch (error) {
        if (attempt >= this.retry.attempts) {
          this.deadLetters.push({ event, subscriber: subscription.name, error });
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, this.retry.backoffMs * 2 ** (attempt - 1)));
      }
    }
  }
}
