/**
 * The scheduler on AWS: one EventBridge Scheduler one-time schedule per delayed event
 * (`at()` expression in UTC, deleted after it fires: a million schedules is the account's quota),
 * whose target puts the event on the qpipe bus through a role Scheduler assumes, with a
 * dead-letter queue for an event it could not put. The schedule's name is the event's id, which
 * qpipe derives from the job's uid, generation, type and due time, so a duplicate collapses
 * into the schedule that exists (ConflictException). No function waits for a delay.
 * https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html#one-time
 */
import {
  ActionAfterCompletion,
  ConflictException,
  CreateScheduleCommand,
  FlexibleTimeWindowMode,
  type SchedulerClient,
} from '@aws-sdk/client-scheduler';
import type { CloudEvent } from 'cloudevents';
import { entryWithinLimit } from '../runtime/eventbridge-publisher.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { notBeforeOf, type Scheduler } from './scheduler.ts';

/** Where schedules put events, and as whom. */
export interface EventBridgeSchedulerOptions {
  readonly client: SchedulerClient;
  readonly busArn: string;
  /** The role EventBridge Scheduler assumes to put events on the bus. */
  readonly roleArn: string;
  /** For events too large to be a schedule's input (claim check). */
  readonly store: ObjectStore;
  /** The stack's schedule group (its metrics feed the Scheduler alarms). */
  readonly groupName?: string;
  /** Where a schedule's event goes when it cannot be put on the bus (an SQS queue ARN). */
  readonly deadLetterArn?: string;
}

/** `at(yyyy-mm-ddThh:mm:ss)`, to the second, never in the past. */
export function atExpression(due: number, now = Date.now()): string {
  // Whole seconds, rounded up: never before the event's time.
  const at = Math.ceil(Math.max(due, now + 1000) / 1000) * 1000;
  return `at(${new Date(at).toISOString().slice(0, 19)})`;
}

/** Schedule names: up to 64 of [0-9a-zA-Z-_.]. */
export function scheduleName(event: CloudEvent<unknown>): string {
  return `qpipe-${event.id.replace(/[^0-9A-Za-z-_.]/g, '_')}`.slice(0, 64);
}

/** Delayed events as EventBridge Scheduler one-time schedules. */
export class EventBridgeScheduler implements Scheduler {
  constructor(private readonly options: EventBridgeSchedulerOptions) {}

  async schedule(events: readonly CloudEvent<unknown>[]): Promise<void> {
    await Promise.all(events.map((event) => this.scheduleOne(event)));
  }

  private async scheduleOne(event: CloudEvent<unknown>): Promise<void> {
    const entry = await entryWithinLimit(event, this.options.busArn, this.options.store);
    try {
      await this.options.client.send(
        new CreateScheduleCommand({
          Name: scheduleName(event),
          GroupName: this.options.groupName ?? 'default',
          ScheduleExpression: atExpression(notBeforeOf(event) ?? Date.now()),
          ScheduleExpressionTimezone: 'UTC',
          FlexibleTimeWindow: { Mode: FlexibleTimeWindowMode.OFF },
          ActionAfterCompletion: ActionAfterCompletion.DELETE,
          Target: {
            Arn: this.options.busArn,
            RoleArn: this.options.roleArn,
            Input: entry.Detail,
            EventBridgeParameters: { DetailType: entry.DetailType, Source: entry.Source },
            RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 10 },
            ...(this.options.deadLetterArn ? { DeadLetterConfig: { Arn: this.options.deadLetterArn } } : {}),
          },
        }),
      );
    } catch (error) {
      // The same event scheduled before (a redelivery): the existing schedule stands.
      if (error instanceof ConflictException) return;
      throw error;
    }
  }
}
