/** collect-results' re-checks of provider tasks: backing off to the cap, giving up after the deadline. */
import { describe, expect, it } from 'vitest';
import { buildJobEvent, parseEvent } from '../../../events/envelope.ts';
import { EXAMPLE_EVENTS } from '../../../events/examples.ts';
import { EventType } from '../../../events/types.ts';
import { stage } from '../../../functions/collect-results/handler.ts';
import { pollDelaySeconds } from '../../../functions/collect-results/provider-tasks.ts';
import type { TaskState } from '../../../shared/backends/backend.ts';
import { saveTaskRecord } from '../../../shared/backends/task-record.ts';
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

  async function recheck(since: Date, state: TaskState) {
    const ports = memoryPorts();
    ports.executors.aws_braket = {
      type: 'aws_braket',
      execute: async () => {
        throw new Error('not called');
      },
      collect: async () => state,
    };
    await saveTaskRecord(ports.store, {
      submitted: { job: data.job, spec: data.spec, circuit: data.circuit, backend: data.backend, taskId: data.taskId },
      layout: { registers: [{ name: 'c', offset: 0, size: 2 }], clbitQubits: [0, 1] },
      shots: 1024,
      submittedAt: since.toISOString(),
    });
    const event = buildJobEvent(EventType.JobPoll, { ...data, attempt: 3, since: since.toISOString() }, data.job, {
      source: '/qpipe/collect-results',
    });
    return runStage(stage, event, ports);
  }

  it('schedules the next re-check, later, while the task is queued', async () => {
    const run = await recheck(new Date(FROZEN_NOW.getTime() - 60_000), { kind: 'pending', status: 'QUEUED' });
    const next = parseEvent(run.emitted[0]!);
    expect(next.type).toBe(EventType.JobPoll);
    expect((next.data as { attempt: number }).attempt).toBe(4);
    expect(next.extensions.notbefore).toBe(new Date(FROZEN_NOW.getTime() + 40_000).toISOString());
  });

  it('gives up after the deadline and fails the job, saying how long it waited', async () => {
    const run = await recheck(new Date(FROZEN_NOW.getTime() - 8 * 86_400_000), { kind: 'pending', status: 'QUEUED' });
    const failed = parseEvent(run.emitted[0]!);
    expect(failed.type).toBe(EventType.JobFailed);
    expect((failed.data as { reason: string }).reason).toMatch(/is still QUEUED after 192 h; qpipe stopped waiting/);
  });
});
