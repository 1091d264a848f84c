/**
 * collect-results' re-checks of provider tasks: backing off to the cap, cancelling at the deadline
 * and failing with what the provider bills, a slow fallback poll where Braket announces the end,
 * and a state-change event that beats the task record. Executors are stand-ins with the provider's states.
 */
import { describe, expect, it } from 'vitest';
import { buildEvent, buildJobEvent, parseEvent } from '../../../events/envelope.ts';
import { EXAMPLE_EVENTS } from '../../../events/examples.ts';
import { EventType } from '../../../events/types.ts';
import { stage } from '../../../functions/collect-results/handler.ts';
import { pollDelaySeconds } from '../../../functions/collect-results/provider-tasks.ts';
import type { TaskState } from '../../../shared/backends/backend.ts';
import { saveTaskRecord, taskRecordOfRun } from '../../../shared/backends/task-record.ts';
import { loadConfig } from '../../../shared/config.ts';
import { runStage } from '../../../shared/runtime/stage.ts';
import { FROZEN_NOW, memoryPorts } from '../../support/memory-ports.ts';

describe('provider task re-checks', () => {
  it('double from the first delay and stop at the cap', () => {
    const poll = { firstSeconds: 5, maxSeconds: 300, deadlineSeconds: 604_800 };
    expect([1, 2, 3, 4, 5, 6, 7, 8, 50].map((attempt) => pollDelaySeconds(attempt, poll))).toEqual([
      5, 10, 20, 40, 80, 160, 300, 300, 300,
    ]);
  });
});

describe('collect-results on a re-check', () => {
  const example = parseEvent(EXAMPLE_EVENTS[EventType.JobPoll]);
  if (example.type !== EventType.JobPoll) throw new Error('bad example');
  const data = example.data;

  /** A Braket stand-in in `state`, counting cancellations (asked while QUEUED). */
  function braketPorts(state: () => TaskState) {
    const ports = memoryPorts();
    const cancels: string[] = [];
    ports.executors.aws_braket = {
      type: 'aws_braket',
      execute: async () => {
        throw new Error('not called');
      },
      collect: async () => state(),
      cancel: async (task) => {
        cancels.push(task.taskId);
        return { asked: true, stateWhenAsked: 'QUEUED' };
      },
    };
    return { ports, cancels };
  }

  async function recheck(since: Date, state: TaskState | (() => TaskState), given?: ReturnType<typeof braketPorts>) {
    const { ports, cancels } = given ?? braketPorts(typeof state === 'function' ? state : () => state);
    if (!(await taskRecordOfRun(ports.store, data.job))) {
      await saveTaskRecord(ports.store, {
        submitted: {
          job: data.job,
          spec: data.spec,
          circuit: data.circuit,
          backend: data.backend,
          taskId: data.taskId,
        },
        layout: { registers: [{ name: 'c', offset: 0, size: 2 }], clbitQubits: [0, 1] },
        shots: 1024,
        submittedAt: since.toISOString(),
      });
    }
    const event = buildJobEvent(EventType.JobPoll, { ...data, attempt: 3, since: since.toISOString() }, data.job, {
      source: '/qpipe/collect-results',
    });
    return { run: await runStage(stage, event, ports), ports, cancels };
  }

  it('schedules the next re-check, later, while the task is queued', async () => {
    const { run } = await recheck(new Date(FROZEN_NOW.getTime() - 60_000), { kind: 'pending', status: 'QUEUED' });
    const next = parseEvent(run.emitted[0]!);
    expect(next.type).toBe(EventType.JobPoll);
    expect((next.data as { attempt: number }).attempt).toBe(4);
    expect(next.extensions.notbefore).toBe(new Date(FROZEN_NOW.getTime() + 40_000).toISOString());
  });

  it('cancels the task at the deadline, keeps checking, and fails the job with what the provider bills once it is cancelled', async () => {
    let cancelled = false;
    const ports = braketPorts(() =>
      cancelled
        ? { kind: 'cancelled', reason: 'Braket task CANCELLED (asked while QUEUED)', billedShots: 0, billedSeconds: 0 }
        : { kind: 'pending', status: 'QUEUED' },
    );
    const since = new Date(FROZEN_NOW.getTime() - 8 * 86_400_000);
    const first = await recheck(since, () => ({ kind: 'pending', status: 'QUEUED' }), ports);
    expect(ports.cancels).toEqual([data.taskId]);
    expect(parseEvent(first.run.emitted[0]!).type).toBe(EventType.JobPoll);
    expect((await taskRecordOfRun(first.ports.store, data.job))?.cancellation).toMatchObject({
      stateWhenAsked: 'QUEUED',
      why: expect.stringMatching(/still QUEUED after 192 h/),
    });
    // A second check before Braket ends it asks nothing more.
    await recheck(since, () => ({ kind: 'pending', status: 'CANCELLING' }), ports);
    expect(ports.cancels).toHaveLength(1);
    cancelled = true;
    const last = await recheck(since, () => ({ kind: 'pending', status: 'unused' }), ports);
    const failed = parseEvent(last.run.emitted[0]!);
    expect(failed.type).toBe(EventType.JobFailed);
    expect((failed.data as { reason: string }).reason).toMatch(
      /CANCELLED .*because it was still QUEUED after 192 h.*charged \$0\.00/,
    );
  });

  it('gives up an hour after asking, charging the whole task, when the provider never ends it', async () => {
    const since = new Date(FROZEN_NOW.getTime() - 8 * 86_400_000);
    const ports = braketPorts(() => ({ kind: 'pending', status: 'CANCELLING' }));
    await recheck(since, () => ({ kind: 'pending', status: 'QUEUED' }), ports);
    const record = (await taskRecordOfRun(ports.ports.store, data.job))!;
    const anHourAgo = new Date(FROZEN_NOW.getTime() - 3_601_000).toISOString();
    await saveTaskRecord(ports.ports.store, {
      ...record,
      cancellation: { ...record.cancellation!, requestedAt: anHourAgo },
    });
    const { run } = await recheck(since, () => ({ kind: 'pending', status: 'CANCELLING' }), ports);
    const failed = parseEvent(run.emitted[0]!);
    expect(failed.type).toBe(EventType.JobFailed);
    expect((failed.data as { reason: string }).reason).toMatch(
      /is still CANCELLING after 192 h; qpipe stopped waiting/,
    );
    expect((failed.data as { actualCostMicros?: number }).actualCostMicros ?? 0).toBeGreaterThan(0);
  });
});

describe('collect-results where Braket announces the end of its tasks', () => {
  const pushed = {
    ...loadConfig({
      QPIPE_BRAKET_OUTPUT_BUCKET: 'amazon-braket-123456789012-{region}-qpipe-dev',
      QPIPE_BRAKET_STATE_EVENTS: 'true',
      QPIPE_SIMULATOR_MAX_MEMORY: '1GiB',
    }),
  };

  it('still schedules a slow re-check after submission, in case the event never comes', async () => {
    const ports = memoryPorts({}, { config: pushed });
    const submitted = parseEvent(EXAMPLE_EVENTS[EventType.JobSubmitted]);
    const run = await runStage(stage, submitted as never, ports);
    const poll = run.emitted.map(parseEvent).find((e) => e.type === EventType.JobPoll);
    expect(poll?.extensions.notbefore).toBe(new Date(FROZEN_NOW.getTime() + 300_000).toISOString());
  });

  it('retries an end announced before the task record exists when the results went to its bucket, and ignores other tasks', async () => {
    const ports = memoryPorts({}, { config: pushed });
    const base = parseEvent(EXAMPLE_EVENTS[EventType.BraketTaskStateChange]);
    const ours = buildEvent(
      EventType.BraketTaskStateChange,
      { ...(base.data as object), outputS3Bucket: 'amazon-braket-123456789012-us-east-1-qpipe-dev' } as never,
      { source: 'aws.braket' },
    );
    const early = await runStage(stage, ours, ports);
    expect(early.retry?.message).toMatch(/no task record yet/);
    const theirs = buildEvent(
      EventType.BraketTaskStateChange,
      { ...(base.data as object), outputS3Bucket: 'amazon-braket-someone-else' } as never,
      { source: 'aws.braket' },
    );
    const other = await runStage(stage, theirs, ports);
    expect(other.retry).toBeUndefined();
    expect(other.emitted).toEqual([]);
  });
});
