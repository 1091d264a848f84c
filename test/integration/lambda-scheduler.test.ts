/**
 * Delays on AWS, at the SDK boundary: the enforce-budget Lambda (middy chain, real
 * @aws-sdk/client-scheduler) hands a held job's re-check to EventBridge Scheduler instead of
 * waiting, against moto's Scheduler (which keeps schedules but does not fire them); when the
 * schedule fires, its input is the event the function put off; a schedule that never fires is
 * released by the timer function from its backstop record. And the execute Lambda
 * stops a simulation that would outlast the function's timeout.
 */
import type { Context } from 'aws-lambda';
import type { CloudEvent } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import { buildJobEvent, parseEvent } from '../../events/envelope.ts';
import { fromEventBridge } from '../../events/eventbridge.ts';
import { EXAMPLE_EVENTS } from '../../events/examples.ts';
import type { EventData } from '../../events/schemas.ts';
import { EventType } from '../../events/types.ts';
import { stage as enforceBudget } from '../../functions/enforce-budget/handler.ts';
import { stage as execute } from '../../functions/execute/handler.ts';
import { EventBridgeScheduler, scheduleName } from '../../shared/scheduler/eventbridge-scheduler.ts';
import { type LambdaResult, lambdaHandler } from '../../shared/runtime/lambda.ts';
import { lambdaTimerHandler } from '../../shared/runtime/timer-lambda.ts';
import { BACKSTOP_GRACE_MS, BackstoppedScheduler } from '../../shared/scheduler/backstop.ts';
import { CreateScheduleGroupCommand } from '@aws-sdk/client-scheduler';
import type { Ports } from '../../shared/runtime/ports.ts';
import { motoMissing, schedulerClient, schedulesIn, useMoto } from '../support/moto.ts';
import { envelope } from '../support/eventbridge-envelope.ts';
import { budget } from '../support/manifests.ts';
import { memoryPorts, reserved } from '../support/memory-ports.ts';

const BUS_ARN = 'arn:aws:events:eu-west-1:111122223333:event-bus/qpipe-dev';
const ROLE_ARN = 'arn:aws:iam::111122223333:role/qpipe-dev-SchedulerRole';

function handler(definition: Parameters<typeof lambdaHandler>[0], ports: Ports) {
  const published: CloudEvent<unknown>[] = [];
  const invoke = lambdaHandler(definition, async () => ({ ports, publish: async (e) => void published.push(...e) }));
  return {
    published,
    invoke: (event: unknown, context: Partial<Context> = {}) =>
      invoke(event, context as Context) as unknown as Promise<LambdaResult>,
  };
}

const scheduledExample = parseEvent(EXAMPLE_EVENTS[EventType.JobScheduled]).data as EventData<
  typeof EventType.JobScheduled
>;

function scheduled(name: string, micros: number) {
  const job = { namespace: 'default', name, uid: `uid-${name}`, generation: 1 };
  return buildJobEvent(
    EventType.JobScheduled,
    { ...scheduledExample, job, estimate: { totalMicros: micros, breakdown: [] } },
    job,
    { source: '/qpipe/select-backend' },
  );
}

const missing = motoMissing();

describe.skipIf(missing !== undefined)(
  `delayed events on AWS (moto's EventBridge Scheduler, real SDK)${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    const moto = useMoto();

    it('schedules a held job re-check once, at its notbefore, instead of holding the function', async () => {
      // The real clock: a schedule's at() is never in the past.
      const base = memoryPorts(
        { budgets: [budget('team', { limit: '$10.00', enforcement: { blockOnExceed: true, gracePeriod: '1h' } })] },
        { now: () => new Date() },
      );
      const ports: Ports = {
        ...base,
        scheduler: new EventBridgeScheduler({
          client: schedulerClient(moto()),
          busArn: BUS_ARN,
          roleArn: ROLE_ARN,
          store: base.store,
        }),
      };
      const { invoke, published } = handler(enforceBudget, ports);
      const ofType = async (type: string) =>
        (await schedulesIn(moto())).filter((s) => s.Target?.EventBridgeParameters?.DetailType === type);
      await invoke(envelope(scheduled('big', 8_000_000)));
      // The approved job's reservation gets its expiry check, a schedule of its own.
      const [expiry, ...more] = await ofType(EventType.BudgetExpiry);
      expect(more).toEqual([]);
      expect(JSON.parse(expiry?.Target?.Input ?? '{}')).toMatchObject({ data: { job: { name: 'big' } } });
      const started = performance.now();
      await invoke(envelope(scheduled('late', 5_000_000)));
      expect(performance.now() - started).toBeLessThan(1_000);
      // The held event goes out now too (collect-results shows AwaitingBudget); the re-check is a schedule.
      expect(published.map((e) => e.type)).toContain(EventType.JobHeld);
      expect(await ofType(EventType.JobHeld)).toHaveLength(1);
      // enforce-budget gets that early copy of its own re-check and does nothing with it.
      const early = await invoke(envelope(published.find((e) => e.type === EventType.JobHeld) as CloudEvent<unknown>));
      expect(early.emitted).toEqual([]);
      const [schedule] = await ofType(EventType.JobHeld);
      expect(await ofType(EventType.JobHeld)).toHaveLength(1);
      const heldDetail = JSON.parse(schedule?.Target?.Input ?? '{}') as {
        extensions: { notbefore: string; qpipescheduled?: string };
      };
      // Whole seconds, rounded up: the schedule never fires before the event's time on its own account.
      const at = new Date(Math.ceil(Date.parse(heldDetail.extensions.notbefore) / 1000) * 1000);
      expect(heldDetail.extensions.qpipescheduled).toBe('true');
      expect(schedule).toMatchObject({
        ScheduleExpression: `at(${at.toISOString().slice(0, 19)})`,
        ScheduleExpressionTimezone: 'UTC',
        ActionAfterCompletion: 'DELETE',
        FlexibleTimeWindow: { Mode: 'OFF' },
        Target: {
          Arn: BUS_ARN,
          RoleArn: ROLE_ARN,
          EventBridgeParameters: { DetailType: EventType.JobHeld, Source: '/qpipe/enforce-budget' },
        },
      });
      // The same re-check scheduled again (a retried invocation): the existing schedule stands.
      const held = fromEventBridge({
        ...envelope(parseEvent(EXAMPLE_EVENTS[EventType.JobHeld]) as never),
        'detail-type': EventType.JobHeld,
        source: '/qpipe/enforce-budget',
        detail: JSON.parse(schedule?.Target?.Input ?? '{}') as Record<string, unknown>,
      });
      await ports.scheduler?.schedule([held]);
      expect(await ofType(EventType.JobHeld)).toHaveLength(1);

      // When it fires, EventBridge delivers its input as the held event the function put off.
      expect(held.type).toBe(EventType.JobHeld);
      expect(parseEvent(held).data).toMatchObject({ job: { name: 'late' } });
      expect(scheduleName(held)).toBe(schedule?.Name);
      // Fired within the Scheduler's precision, before its notbefore: the re-check still runs.
      const fired = await invoke(envelope(held));
      expect(fired.emitted).toContain(EventType.JobHeld);
    });

    it('puts schedules in the stack group with a dead-letter queue, and the timer releases one whose delivery was lost', async () => {
      const DEAD_LETTERS = 'arn:aws:sqs:eu-west-1:111122223333:qpipe-dev-SchedulerDeadLetters';
      await schedulerClient(moto()).send(new CreateScheduleGroupCommand({ Name: 'qpipe-dev' }));
      const base = memoryPorts(
        { budgets: [budget('team', { limit: '$10.00', enforcement: { blockOnExceed: true, gracePeriod: '1h' } })] },
        { now: () => new Date() },
      );
      const primary = new EventBridgeScheduler({
        client: schedulerClient(moto()),
        busArn: BUS_ARN,
        roleArn: ROLE_ARN,
        store: base.store,
        groupName: 'qpipe-dev',
        deadLetterArn: DEAD_LETTERS,
      });
      const ports: Ports = { ...base, scheduler: new BackstoppedScheduler(primary, base.store) };
      const { invoke } = handler(enforceBudget, ports);
      await invoke(envelope(scheduled('first', 8_000_000)));
      await invoke(envelope(scheduled('second', 5_000_000)));
      const inGroup = (await schedulesIn(moto())).filter((s) => s.GroupName === 'qpipe-dev');
      expect(inGroup.length).toBeGreaterThanOrEqual(2);
      for (const schedule of inGroup) expect(schedule.Target?.DeadLetterConfig?.Arn).toBe(DEAD_LETTERS);
      const records = () => [...base.store.objects.keys()].filter((k) => k.startsWith('scheduled/'));
      expect(records()).toHaveLength(inGroup.length);

      // The held re-check fires and enforce-budget acts on it: its record is forgotten.
      const heldSchedule = inGroup.find((s) => s.Target?.EventBridgeParameters?.DetailType === EventType.JobHeld);
      const fired = fromEventBridge({
        ...envelope(parseEvent(EXAMPLE_EVENTS[EventType.JobHeld]) as never),
        'detail-type': EventType.JobHeld,
        source: '/qpipe/enforce-budget',
        detail: JSON.parse(heldSchedule?.Target?.Input ?? '{}') as Record<string, unknown>,
      });
      const recordOf = (id: string) =>
        records().filter((k) => k.endsWith(`-${id.replace(/[^A-Za-z0-9-]/g, '_')}.json`));
      expect(recordOf(fired.id)).toHaveLength(1);
      await invoke(envelope(fired));
      expect(recordOf(fired.id)).toEqual([]);

      // The expiry check never arrives (dropped): the timer does nothing before the grace, then releases it.
      const released: CloudEvent<unknown>[] = [];
      const timerAt = (ms: number) =>
        lambdaTimerHandler(async () => ({
          ports: { ...ports, now: () => new Date(Date.now() + ms) },
          publish: async (events) => void released.push(...events),
        }))({}, {} as Context);
      await timerAt(60_000);
      expect(released).toEqual([]);
      await timerAt(BACKSTOP_GRACE_MS + 7_300_000);
      expect(released.map((e) => e.type)).toContain(EventType.BudgetExpiry);
      for (const event of released)
        expect((event as unknown as Record<string, unknown>)['qpipescheduled']).toBe('true');
      expect(records()).toEqual([]);
    });
  },
);

describe('the execute Lambda near its timeout (real simulator threads)', () => {
  it('stops a simulation that would outlast the function, fails the job and releases its budget', async () => {
    const lines = ['OPENQASM 2.0;', 'include "qelib1.inc";', 'qreg q[20];', 'creg c[20];'];
    for (let layer = 0; layer < 80; layer++) {
      for (let i = 0; i < 20; i++) lines.push(`ry(${0.1 + layer * 0.01 + i * 0.003}) q[${i}];`);
      for (let i = layer % 2; i + 1 < 20; i += 2) lines.push(`cx q[${i}], q[${i + 1}];`);
    }
    const code = `${lines.join('\n')}\nmeasure q -> c;\n`;
    const example = parseEvent(EXAMPLE_EVENTS[EventType.JobApproved]).data as EventData<typeof EventType.JobApproved>;
    const approved = buildJobEvent(
      EventType.JobApproved,
      { ...example, circuit: { format: 'qasm2', hash: 'sha256:0', bytes: code.length, code } },
      example.job,
      { source: '/qpipe/enforce-budget' },
    );
    const ports = memoryPorts();
    await reserved(ports, approved);
    const { invoke, published } = handler(execute, ports);
    const started = performance.now();
    // 800 ms left: the work is stopped after half of it, leaving time to report.
    await invoke(envelope(approved), { getRemainingTimeInMillis: () => 800 });
    expect(performance.now() - started).toBeLessThan(1_500);
    const failed = parseEvent(published[0] as CloudEvent<unknown>);
    if (failed.type !== EventType.JobFailed) throw new Error(failed.type);
    expect(failed.data.reason).toMatch(/would not finish within the function's timeout/);
    expect(failed.data.budget).toEqual(example.budget);
  });
});
