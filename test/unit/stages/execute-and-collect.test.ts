import { describe, expect, it } from 'vitest';
import { buildJobEvent, parseEvent } from '../../../events/envelope.ts';
import { EXAMPLE_EVENTS } from '../../../events/examples.ts';
import type { EventData } from '../../../events/schemas.ts';
import { EventType } from '../../../events/types.ts';
import { stage as collectStage } from '../../../functions/collect-results/handler.ts';
import { projectStatus } from '../../../functions/collect-results/projection.ts';
import { stage as executeStage } from '../../../functions/execute/handler.ts';
import { WorkInProgressError } from '../../../shared/idempotency/claims.ts';
import { runStage } from '../../../shared/runtime/stage.ts';
import { FROZEN_NOW, memoryPorts, received, reserved } from '../../support/memory-ports.ts';

const approvedExample = parseEvent(EXAMPLE_EVENTS[EventType.JobApproved]).data as EventData<
  typeof EventType.JobApproved
>;
const job = approvedExample.job;

function approved(spec: Partial<EventData<typeof EventType.JobApproved>['spec']> = {}) {
  return buildJobEvent(
    EventType.JobApproved,
    { ...approvedExample, spec: { ...approvedExample.spec, execution: { shots: 400, seedSimulator: 3 }, ...spec } },
    job,
    { source: '/qpipe/enforce-budget' },
  );
}

describe('execute stage', () => {
  it('runs the circuit on the simulator and stores the raw result', async () => {
    const ports = memoryPorts();
    const run = await runStage(executeStage, await reserved(ports, approved()), ports);
    const executed = received(run.emitted[0] as never);
    if (executed.type !== EventType.JobExecuted) throw new Error(executed.type);
    const raw = JSON.parse(Buffer.from(ports.store.objects.get(executed.data.resultRef) as Uint8Array).toString());
    expect(Object.keys(raw.counts).sort()).toEqual(['00', '11']);
    expect(raw.shots).toBe(400);
    expect(executed.data.actualCostMicros).toBe(0);
  });

  it('re-emits the same executed event for a duplicate approval without running again', async () => {
    const ports = memoryPorts();
    const first = await runStage(executeStage, await reserved(ports, approved()), ports);
    const stored = ports.store.objects.get(`runs/${job.namespace}/${job.name}/${job.uid}-1/raw.json`);
    ports.executors.local_simulator = {
      type: 'local_simulator',
      execute: async () => Promise.reject(new Error('ran twice')),
    };
    const second = await runStage(executeStage, await reserved(ports, approved()), ports);
    expect(second.emitted[0]?.id).toBe(first.emitted[0]?.id);
    expect(ports.store.objects.get(`runs/${job.namespace}/${job.name}/${job.uid}-1/raw.json`)).toBe(stored);
  });

  it('runs once when duplicates arrive while the first copy still runs; they are told to come back', async () => {
    const ports = memoryPorts();
    const simulator = ports.executors.local_simulator;
    let runs = 0;
    let finish: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (finish = resolve));
    ports.executors.local_simulator = {
      type: 'local_simulator',
      execute: async (request) => {
        runs++;
        await gate;
        return (simulator as NonNullable<typeof simulator>).execute(request);
      },
    };
    const first = runStage(executeStage, await reserved(ports, approved()), ports);
    await new Promise((r) => setTimeout(r, 20));
    const duplicates = await Promise.all([1, 2, 3].map(() => runStage(executeStage, approved(), ports)));
    for (const duplicate of duplicates) {
      expect(duplicate.emitted).toEqual([]);
      expect(duplicate.retry).toBeInstanceOf(WorkInProgressError);
    }
    finish();
    expect((await first).emitted.map((e) => e.type)).toEqual([EventType.JobExecuted]);
    // Redelivered after the first finished: the stored result, not a second run.
    const later = await runStage(executeStage, await reserved(ports, approved()), ports);
    expect(later.emitted.map((e) => e.type)).toEqual([EventType.JobExecuted]);
    expect(runs).toBe(1);
  });

  it('fails the job (releasing its budget) when the simulator cannot hold the state', async () => {
    const ports = memoryPorts();
    const tiny = {
      ...ports,
      config: { ...ports.config, simulator: { ...ports.config.simulator, maxMemoryBytes: 32, maxQubits: 1 } },
    };
    const { createLocalSimulatorExecutor } = await import('../../../shared/backends/local-simulator.ts');
    tiny.executors.local_simulator = createLocalSimulatorExecutor({ maxMemoryBytes: 32 });
    const run = await runStage(executeStage, await reserved(tiny, approved()), tiny);
    const failed = received(run.emitted[0] as never);
    if (failed.type !== EventType.JobFailed) throw new Error(failed.type);
    expect(failed.data.reason).toMatch(
      /simulating 2 qubits needs 1\.1 KiB of memory, more than the simulator.s limit of 32 B/,
    );
    expect(failed.data.budget).toEqual(approvedExample.budget);
  });
});

describe('collect-results stage', () => {
  it('writes the result document (and CSV when asked) under outputs/<namespace>/ and completes the job', async () => {
    const ports = memoryPorts();
    const executed = (
      await runStage(
        executeStage,
        await reserved(ports, approved({ output: { type: 'local', format: 'csv', path: 'team/bell' } })),
        ports,
      )
    ).emitted[0];
    const run = await runStage(collectStage, executed as never, ports);
    const completed = received(run.emitted[0] as never);
    if (completed.type !== EventType.JobCompleted) throw new Error(completed.type);
    const prefix = 'outputs/quantum-research/team/bell';
    expect(completed.data.result.location).toBe(`memory://${prefix}/result.csv`);
    expect(completed.extensions.resultref).toBe(`${prefix}/result.json`);
    const document = JSON.parse(Buffer.from(ports.store.objects.get(`${prefix}/result.json`) as Uint8Array).toString());
    expect(document).toMatchObject({ job, backend: 'local-simulator', shots: 400, actualCost: '$0.00' });
    expect(Buffer.from(ports.store.objects.get(`${prefix}/result.csv`) as Uint8Array).toString()).toMatch(
      /^outcome,count\n(00|11),\d+\n(00|11),\d+\n$/,
    );
    const status = await ports.cluster.readJobStatus(job.namespace, job.name);
    expect(status).toMatchObject({
      phase: 'Succeeded',
      actualCost: '$0.00',
      results: { shots: 400 },
      completionTime: FROZEN_NOW.toISOString(),
    });
    expect(status?.conditions?.find((c) => c.type === 'Completed')).toMatchObject({ status: 'True' });
  });

  it('refuses an output path that leaves the store', async () => {
    const ports = memoryPorts();
    const executed = (
      await runStage(
        executeStage,
        await reserved(ports, approved({ output: { type: 'local', path: '../../etc' } })),
        ports,
      )
    ).emitted[0];
    const run = await runStage(collectStage, executed as never, ports);
    expect(received(run.emitted[0] as never).type).toBe(EventType.JobFailed);
  });
});

describe('status projection', () => {
  const now = new Date('2026-11-26T10:00:00Z');
  const at = (type: keyof typeof EXAMPLE_EVENTS) => parseEvent(EXAMPLE_EVENTS[type]);

  it('moves phases forward and records conditions kubectl wait can use', () => {
    let status = projectStatus(undefined, at(EventType.JobValidated), now);
    status = projectStatus(status, at(EventType.JobScheduled), now);
    status = projectStatus(status, at(EventType.JobApproved), now);
    status = projectStatus(status, at(EventType.JobCompleted), now);
    expect(status?.phase).toBe('Succeeded');
    expect(status?.conditions?.map((c) => c.type)).toEqual([
      'Validated',
      'BackendSelected',
      'BudgetApproved',
      'ResultsStored',
      'Completed',
    ]);
    expect(status?.observedGeneration).toBe(1);
  });

  it('never moves a job back: a stale event after a later one changes nothing', () => {
    const scheduled = projectStatus(
      projectStatus(undefined, at(EventType.JobValidated), now),
      at(EventType.JobScheduled),
      now,
    );
    expect(projectStatus(scheduled, at(EventType.JobValidated), now)).toBeUndefined();
    const done = projectStatus(scheduled, at(EventType.JobCompleted), now);
    expect(projectStatus(done, at(EventType.JobFailed), now)).toBeUndefined();
  });

  it('ignores events of an older generation and starts afresh for a newer one', () => {
    const done = projectStatus(undefined, at(EventType.JobCompleted), now);
    const older = { ...at(EventType.JobValidated), extensions: { jobgeneration: 0 } } as never;
    expect(projectStatus(done, older, now)).toBeUndefined();
    const newer = { ...at(EventType.JobValidated), extensions: { jobgeneration: 2 } } as never;
    expect(projectStatus(done, newer, now)).toMatchObject({ phase: 'Validated', observedGeneration: 2 });
  });
});
