/**
 * Deleting a QiskitJob stops what it costs: its simulation stops at once, a run not started
 * never starts, and a provider task keeps its reservation until the provider confirms the
 * cancellation. Memory ports; the API server is played by the held objects.
 */
import type { CloudEvent } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import { buildEvent, buildJobEvent, parseEvent } from '../../../events/envelope.ts';
import { EXAMPLE_EVENTS } from '../../../events/examples.ts';
import type { EventData } from '../../../events/schemas.ts';
import { EventType } from '../../../events/types.ts';
import { stage as enforceBudget } from '../../../functions/enforce-budget/handler.ts';
import { stage as execute } from '../../../functions/execute/handler.ts';
import { saveTaskRecord } from '../../../shared/backends/task-record.ts';
import { runStage } from '../../../shared/runtime/stage.ts';
import { budget } from '../../support/manifests.ts';
import { memoryPorts, received, reserved, withHeldObjects } from '../../support/memory-ports.ts';

const example = parseEvent(EXAMPLE_EVENTS[EventType.JobApproved]).data as EventData<typeof EventType.JobApproved>;
const job = { namespace: 'default', name: 'doomed', uid: 'uid-doomed', generation: 1 };

/** A simulation that runs on worker threads for many seconds. */
const LONG = [
  'OPENQASM 3.0;',
  'include "stdgates.inc";',
  'qubit[22] q;',
  'bit[22] c;',
  'for int i in [0:99] {',
  ...Array.from({ length: 22 }, (_, k) => `  rx(0.1) q[${k}];`),
  ...Array.from({ length: 21 }, (_, k) => `  cx q[${k}], q[${k + 1}];`),
  '}',
  'c = measure q;',
].join('\n');

function approved(code: string): CloudEvent<unknown> {
  return buildJobEvent(
    EventType.JobApproved,
    {
      ...example,
      job,
      budget: { namespace: 'default', name: 'team', period: '2026-11' },
      circuit: { format: 'qasm3', hash: 'sha256:0', bytes: code.length, code },
      spec: { ...example.spec, execution: { shots: 10 } },
    },
    job,
    { source: '/qpipe/enforce-budget' },
  );
}

const deletion = buildEvent(
  EventType.ResourceDeleted,
  { apiVersion: 'quantum.io/v1', kind: 'QiskitJob', metadata: { ...job }, spec: {} },
  { source: 'https://kubernetes' },
);

describe('deleting a QiskitJob', () => {
  it('stops its simulation in this process at once, and the job fails with why', async () => {
    const ports = withHeldObjects(memoryPorts({ budgets: [budget('team')] }), []);
    const running = runStage(execute, await reserved(ports, approved(LONG)), ports);
    // Let the simulation start on its worker threads.
    await new Promise((resolve) => setTimeout(resolve, 500));
    await runStage(execute, deletion, ports);
    const run = await running;
    const failed = received(run.emitted[0] as never);
    if (failed.type !== EventType.JobFailed) throw new Error(failed.type);
    expect(failed.data.reason).toMatch(/stopped: its QiskitJob was deleted at /);
    expect(failed.data.budget).toEqual({ namespace: 'default', name: 'team', period: '2026-11' });
  }, 30_000);

  it('stops nothing for a forged deletion: the API server still holds the job, or nothing can confirm it', async () => {
    const held = { kind: 'QiskitJob', namespace: 'default', name: 'doomed', uid: 'uid-doomed', generation: 1 } as const;
    for (const ports of [
      withHeldObjects(memoryPorts({ budgets: [budget('team')] }), [held]),
      memoryPorts({ budgets: [budget('team')] }),
    ]) {
      await runStage(execute, deletion, ports);
      const run = await runStage(execute, await reserved(ports, approved('OPENQASM 3.0;\nqubit q;\nh q;')), ports);
      expect(run.emitted.map((e) => e.type)).toEqual([EventType.JobExecuted]);
    }
  });

  it('never starts a run whose job was deleted before execute got to it', async () => {
    const ports = withHeldObjects(memoryPorts({ budgets: [budget('team')] }), []);
    await runStage(execute, deletion, ports);
    const run = await runStage(execute, await reserved(ports, approved('OPENQASM 3.0;\nqubit q;\nh q;')), ports);
    const failed = received(run.emitted[0] as never);
    if (failed.type !== EventType.JobFailed) throw new Error(failed.type);
    expect(failed.data.reason).toBe('not run: its QiskitJob was deleted or cancelled');
  });

  it('keeps the reservation of a job whose task is at a provider until the provider confirms, then charges what it bills', async () => {
    const ports = withHeldObjects(memoryPorts({ budgets: [budget('team', { limit: '$10.00' })] }), []);
    const scheduled = buildJobEvent(
      EventType.JobScheduled,
      {
        ...(parseEvent(EXAMPLE_EVENTS[EventType.JobScheduled]).data as EventData<typeof EventType.JobScheduled>),
        job,
        estimate: { totalMicros: 4_000_000, breakdown: [] },
      },
      job,
      { source: '/qpipe/select-backend' },
    );
    await runStage(enforceBudget, scheduled, ports);
    await saveTaskRecord(ports.store, {
      submitted: { ...example, job, taskId: 'task-1' },
      layout: { registers: [], clbits: [] } as never,
      shots: 10,
      submittedAt: '2026-11-15T12:00:00.000Z',
    });
    await runStage(enforceBudget, deletion, ports);
    expect(await ports.cluster.readBudgetStatus('default', 'team')).toMatchObject({ reserved: '$4.00' });

    const cancelled = buildJobEvent(
      EventType.JobFailed,
      {
        job,
        stage: 'collect-results',
        reason: 'Braket task CANCELLED (asked while RUNNING); charged $1.30',
        actualCostMicros: 1_300_000,
        budget: { namespace: 'default', name: 'team', period: '2026-11' },
      },
      job,
      { source: '/qpipe/collect-results' },
    );
    await runStage(enforceBudget, cancelled, ports);
    expect(await ports.cluster.readBudgetStatus('default', 'team')).toMatchObject({
      spent: '$1.30',
      reserved: '$0.00',
    });
  });
});
